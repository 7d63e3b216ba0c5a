"""oVirt MOM import path ``mom.HypervisorInterfaces.vdsmjsonrpcbulkInterface``. Implementation: :mod:`mom.plugins.hypervisors.vdsm_jsonrpc_legacy`."""

from mom.plugins.hypervisors.base import ConnectionError, HypervisorInterfaceError
from mom.plugins.hypervisors.vdsm_jsonrpc_legacy import VdsmJsonRpcBulkInterface
from mom.plugins.hypervisors.vdsm_jsonrpc_legacy import vdsmjsonrpcbulk as instance

__all__ = ["instance", "VdsmJsonRpcBulkInterface", "HypervisorInterfaceError", "ConnectionError"]
