"""oVirt MOM import path ``mom.HypervisorInterfaces.vdsmjsonrpcInterface``. Implementation: :mod:`mom.plugins.hypervisors.vdsm_jsonrpc_legacy`."""

from mom.plugins.hypervisors.base import ConnectionError, HypervisorInterfaceError
from mom.plugins.hypervisors.vdsm_jsonrpc_legacy import VdsmJsonRpcInterface
from mom.plugins.hypervisors.vdsm_jsonrpc_legacy import vdsmjsonrpc as instance

__all__ = ["instance", "VdsmJsonRpcInterface", "HypervisorInterfaceError", "ConnectionError"]
