"""Upstream's older vdsm JSON-RPC interface names, served through ``vdsm.client``.

Upstream's ``vdsmjsonrpc`` and ``vdsmjsonrpcbulk`` used ``vdsm.jsonrpcvdscli``, which
current vdsm no longer has, so with upstream those names failed to import.  Here they
keep working configurations working: the same verbs through the same client as
``vdsmjsonrpcclient``, differing only where upstream's did:

- ``vdsmjsonrpc`` reads IO tune per VM (``VM.getIoTunePolicy``, ``VM.getIoTune``);
- ``vdsmjsonrpcbulk`` reads it for all VMs at once (``Host.getAllVmIoTunePolicies``),
  exactly as ``vdsmjsonrpcclient`` does.
"""

from __future__ import annotations

from typing import Any

from mom.plugins.hypervisors.vdsm_jsonrpc_client import VdsmJsonRpcClientInterface

__all__ = ["VdsmJsonRpcInterface", "VdsmJsonRpcBulkInterface", "vdsmjsonrpc", "vdsmjsonrpcbulk"]


class _Legacy(VdsmJsonRpcClientInterface):
    def __init__(self, config: Any, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.logger.info(
            "hypervisor interface %s: served through vdsm.client (vdsm.jsonrpcvdscli no longer exists)",
            self.interface_name,
        )


class VdsmJsonRpcInterface(_Legacy):
    """``vdsmjsonrpc``: IO tune per VM."""

    interface_name = "vdsmjsonrpc"
    bulk_io_tune = False


class VdsmJsonRpcBulkInterface(_Legacy):
    """``vdsmjsonrpcbulk``: IO tune for all VMs in one call."""

    interface_name = "vdsmjsonrpcbulk"
    bulk_io_tune = True


def vdsmjsonrpc(config: Any) -> VdsmJsonRpcInterface:
    """``instance(config)`` of ``vdsmjsonrpc``."""
    return VdsmJsonRpcInterface(config)


def vdsmjsonrpcbulk(config: Any) -> VdsmJsonRpcBulkInterface:
    """``instance(config)`` of ``vdsmjsonrpcbulk``."""
    return VdsmJsonRpcBulkInterface(config)
