"""The hypervisor interface base class (upstream ``HypervisorInterface``) and its protocol.

Method names are upstream's (a contract boundary: controllers, collectors and
third-party interfaces call them).  The base class answers every query with None and
ignores every action, as upstream's does; concrete interfaces override what they can.
"""

from __future__ import annotations

from typing import Any, Protocol

from mom.errors import HypervisorConnectionError, HypervisorInterfaceError

__all__ = ["HypervisorInterface", "HypervisorInterfaceError", "ConnectionError", "HypervisorProtocol"]

#: upstream's name (it shadows the builtin inside upstream's module, and only there)
ConnectionError = HypervisorConnectionError  # noqa: A001


class HypervisorProtocol(Protocol):
    """What the daemon calls on a hypervisor interface."""

    def getVmList(self) -> list[Any] | None: ...
    def getVmInfo(self, vm_id: Any) -> dict[str, Any] | None: ...
    def startVmMemoryStats(self, uuid: str) -> None: ...
    def getVmMemoryStats(self, uuid: str) -> dict[str, Any]: ...
    def getVmBalloonInfo(self, uuid: str) -> dict[str, Any] | None: ...
    def getVmCpuTuneInfo(self, uuid: str) -> dict[str, Any] | None: ...
    def setVmBalloonTarget(self, uuid: str, target: int) -> None: ...
    def setVmCpuTune(self, uuid: str, quota: int, period: int) -> None: ...
    def ksmTune(self, tuning_params: dict[str, int]) -> None: ...


class HypervisorInterface:
    """No-op defaults for every call (upstream's base class)."""

    #: lifecycle actions this interface offers (issue 12): a subset of shutdown, destroy,
    #: managedsave, start, migrate; the lifecycle controller asks nothing else of it
    lifecycle_actions: frozenset[str] = frozenset()

    def getVmList(self) -> list[Any] | None:
        """Ids of the running guests; None if they cannot be listed now."""
        return None

    def getVmInfo(self, vm_id: Any) -> dict[str, Any] | None:
        """``{uuid, name, pid}`` of one guest, or None."""
        return None

    def startVmMemoryStats(self, uuid: str) -> None:
        """Ask the hypervisor to refresh the guest's memory stats periodically."""

    def getVmMemoryStats(self, uuid: str) -> dict[str, Any] | None:
        """GuestMemory's fields, or HypervisorInterfaceError."""
        return None

    def getVmBalloonInfo(self, uuid: str) -> dict[str, Any] | None:
        """``{balloon_cur, balloon_max, balloon_min}`` (KiB), or None."""
        return None

    def setVmBalloonTarget(self, uuid: str, target: int) -> None:
        """Set the guest's balloon to ``target`` KiB."""

    def getVmSlaMetadata(self, uuid: str) -> dict[str, Any] | None:
        """``{"mom_sla": XML text or None, "ovirt_custom": {key: text}}`` (the GuestSla
        collector's input); None: this hypervisor keeps no SLA metadata (vdsm's API)."""
        return None

    def ksmTune(self, tuning_params: dict[str, int]) -> None:
        """Set KSM knobs (keys without the ``ksm_`` prefix)."""
