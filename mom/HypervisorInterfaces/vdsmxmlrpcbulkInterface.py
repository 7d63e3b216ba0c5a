"""oVirt MOM import path ``mom.HypervisorInterfaces.vdsmxmlrpcbulkInterface``: an interface no current vdsm can serve.

The name is known so configurations naming it load; ``instance(config)`` raises
PluginNotFoundError saying why.  See :mod:`mom.plugins.hypervisors.unavailable`.
"""

from mom.plugins.hypervisors.unavailable import vdsmxmlrpcbulk as instance

__all__ = ["instance"]
