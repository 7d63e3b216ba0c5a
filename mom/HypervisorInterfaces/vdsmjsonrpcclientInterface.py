"""oVirt MOM import path ``mom.HypervisorInterfaces.vdsmjsonrpcclientInterface``. Implementation: :mod:`mom.plugins.hypervisors.vdsm_jsonrpc_client`."""

from mom.plugins.hypervisors.base import ConnectionError, HypervisorInterfaceError
from mom.plugins.hypervisors.vdsm_jsonrpc_client import VdsmJsonRpcClientInterface, instance

__all__ = ["instance", "VdsmJsonRpcClientInterface", "HypervisorInterfaceError", "ConnectionError"]
