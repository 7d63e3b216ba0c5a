"""oVirt MOM import path ``mom.HypervisorInterfaces.vdsmInterface``: an interface no current vdsm can serve.

The name is known so configurations naming it load; ``instance(config)`` raises
PluginNotFoundError saying why.  See :mod:`mom.plugins.hypervisors.unavailable`.
"""

from mom.plugins.hypervisors.unavailable import vdsm as instance

__all__ = ["instance"]
