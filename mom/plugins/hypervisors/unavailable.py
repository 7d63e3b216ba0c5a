"""Upstream hypervisor interfaces that cannot work with any current vdsm.

Their names load (so a configuration naming one is recognised), and
``instance(config)`` raises PluginNotFoundError (an ImportError, so MOM logs
``Unable to import hypervisor interface: <name>``, as upstream did when these failed
to import) saying why and what to use instead.
"""

from __future__ import annotations

from typing import Any, Callable

from mom.errors import PluginNotFoundError

__all__ = ["vdsm", "vdsmxmlrpc", "vdsmxmlrpcbulk", "REASONS"]

_USE = "use 'vdsmjsonrpcclient' (vdsm's JSON-RPC API, as vdsm's own mom.conf does)"

#: name -> why it cannot work
REASONS = {
    "vdsm": "ran MOM inside vdsm's own process (vdsm's API module); vdsm now starts momd as a separate service",
    "vdsmxmlrpc": "used vdsm's XML-RPC API (vdsm.vdscli), which vdsm no longer has",
    "vdsmxmlrpcbulk": "used vdsm's XML-RPC API (vdsm.vdscli), which vdsm no longer has",
}


def _unavailable(name: str) -> Callable[[Any], Any]:
    def instance(config: Any) -> Any:
        raise PluginNotFoundError(f"hypervisor interface '{name}' {REASONS[name]}; {_USE}")

    instance.__name__ = instance.__qualname__ = f"{name}_instance"
    instance.__doc__ = f"Raises PluginNotFoundError: '{name}' {REASONS[name]}."
    return instance


vdsm = _unavailable("vdsm")
vdsmxmlrpc = _unavailable("vdsmxmlrpc")
vdsmxmlrpcbulk = _unavailable("vdsmxmlrpcbulk")
