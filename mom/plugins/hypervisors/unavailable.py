"""Hypervisor interfaces upstream has that this package does not provide yet.

Their names load (so a ``hypervisor-interface: vdsmjsonrpcclient`` configuration is
recognised), and ``instance(config)`` raises a clear error instead of an ImportError.
"""

from __future__ import annotations

from typing import Any, Callable

from mom.errors import PluginNotFoundError

__all__ = [
    "vdsm",
    "vdsmxmlrpc",
    "vdsmxmlrpcbulk",
    "vdsmjsonrpc",
    "vdsmjsonrpcbulk",
    "vdsmjsonrpcclient",
]


def _unavailable(name: str) -> Callable[[Any], Any]:
    def instance(config: Any) -> Any:
        raise PluginNotFoundError(
            f"hypervisor interface '{name}' is not available yet in this version of mom; "
            "use 'libvirt' (or a third-party interface registered under the 'mom.hypervisors' entry point)"
        )

    instance.__name__ = instance.__qualname__ = f"{name}_instance"
    return instance


vdsm = _unavailable("vdsm")
vdsmxmlrpc = _unavailable("vdsmxmlrpc")
vdsmxmlrpcbulk = _unavailable("vdsmxmlrpcbulk")
vdsmjsonrpc = _unavailable("vdsmjsonrpc")
vdsmjsonrpcbulk = _unavailable("vdsmjsonrpcbulk")
vdsmjsonrpcclient = _unavailable("vdsmjsonrpcclient")
