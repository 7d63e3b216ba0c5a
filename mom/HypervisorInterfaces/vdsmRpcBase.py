"""oVirt MOM import path ``mom.HypervisorInterfaces.vdsmRpcBase``. Implementation: :mod:`mom.plugins.hypervisors.vdsm_rpc_base`."""

from mom.plugins.hypervisors.base import ConnectionError, HypervisorInterfaceError
from mom.plugins.hypervisors.vdsm_rpc_base import VdsmRpcBase

__all__ = ["VdsmRpcBase", "HypervisorInterfaceError", "ConnectionError"]
