"""oVirt MOM import path ``mom.HypervisorInterfaces.vdsmjsonrpcclientInterface``: not available yet.

The name is known so configurations naming it load; ``instance(config)`` raises
PluginNotFoundError saying so.  See :mod:`mom.plugins.hypervisors.unavailable`.
"""

from mom.plugins.hypervisors.unavailable import vdsmjsonrpcclient as instance

__all__ = ["instance"]
