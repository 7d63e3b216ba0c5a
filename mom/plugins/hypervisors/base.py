"""The hypervisor interface base class (upstream ``HypervisorInterface``) and its protocol.

Method names are upstream's (a contract boundary: controllers, collectors and
third-party interfaces call them).  The base class answers every query with None and
ignores every action, as upstream's does; concrete interfaces override what they can.

Besides upstream's calls, the base declares the daemon's optional capabilities, each
with a default that means "not supported" (:data:`CAPABILITIES`): callers call them
without probing.  :func:`as_interface` gives them to an upstream-style interface that
does not derive from the base.
"""

from __future__ import annotations

from typing import Any, Protocol

from mom.errors import HypervisorConnectionError, HypervisorInterfaceError

__all__ = [
    "HypervisorInterface",
    "HypervisorInterfaceError",
    "ConnectionError",
    "HypervisorProtocol",
    "CAPABILITIES",
    "as_interface",
]

#: upstream's name (it shadows the builtin inside upstream's module, and only there)
ConnectionError = HypervisorConnectionError  # noqa: A001

#: what the daemon may use beyond upstream's calls; the base has a default for each
CAPABILITIES = ("prefetch", "stats", "close", "ksm_sysfs", "config_token")


class HypervisorProtocol(Protocol):
    """What the daemon calls on a hypervisor interface."""

    # ## Upstream's calls
    def getVmList(self) -> list[Any] | None: ...
    def getVmInfo(self, vm_id: Any) -> dict[str, Any] | None: ...
    def startVmMemoryStats(self, uuid: str) -> None: ...
    def getVmMemoryStats(self, uuid: str) -> dict[str, Any] | None: ...
    def getVmBalloonInfo(self, uuid: str) -> dict[str, Any] | None: ...
    def getVmCpuTuneInfo(self, uuid: str) -> dict[str, Any] | None: ...
    def getVmIoTunePolicy(self, uuid: str) -> list[dict[str, Any]] | None: ...
    def getVmIoTune(self, uuid: str) -> list[dict[str, Any]] | None: ...
    def setVmBalloonTarget(self, uuid: str, target: int) -> None: ...
    def setVmCpuTune(self, uuid: str, quota: int, period: int) -> None: ...
    def setVmIoTune(self, uuid: str, tunables: list[dict[str, Any]]) -> None: ...
    def ksmTune(self, tuning_params: dict[str, int]) -> None: ...

    # ## Optional capabilities (CAPABILITIES; the base's defaults say "not supported")
    ksm_sysfs: Any

    def prefetch(self) -> None: ...
    def stats(self) -> dict[str, Any] | None: ...
    def close(self) -> None: ...


class HypervisorInterface:
    """No-op defaults for every call (upstream's base class) and for every capability."""

    #: where this interface writes the KSM knobs (a :class:`~mom.plugins.ksm_sysfs.KsmSysfs`
    #: or one standing in for it), read by the KSM controller for the kernel's advisor;
    #: None: this host's ``/sys/kernel/mm/ksm`` (vdsm writes them there)
    ksm_sysfs: Any = None

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

    def getVmCpuStats(self, uuid: str) -> dict[str, Any] | None:
        """``{cpu_time, vcpu_count, vcpu_wait, vcpu_delay}`` (ns, cumulative), or None."""
        return None

    def getVmSchedulerInfo(self, uuid: str) -> dict[str, Any] | None:
        """The guest's scheduler parameters (``cpu_shares``...), or None."""
        return None

    def setVmCpuShares(self, uuid: str, shares: int) -> None:
        """Set the guest's CPU shares."""

    def getVmResourceTune(self, uuid: str) -> dict[str, Any] | None:
        """``{blkio_weight, bandwidth, numa_nodeset, vcpu_pins}``, or None (not supported)."""
        return None

    def setVmBlkioWeight(self, uuid: str, weight: int) -> None:
        """Set the guest's block IO weight."""

    def setVmInterfaceBandwidth(self, uuid: str, device: str, params: dict[str, int]) -> None:
        """Set one interface's inbound/outbound average, peak and burst."""

    def setVmNumaPlacement(self, uuid: str, node: int, cpus: list[int], host_cpus: int) -> None:
        """Place the guest's memory on ``node`` and pin its vCPUs to ``cpus``."""

    def getNumaCellsFree(self, cells: int) -> list[int] | None:
        """Free memory (KiB) of the first ``cells`` NUMA cells, or None."""
        return None

    def ksmTune(self, tuning_params: dict[str, int]) -> None:
        """Set KSM knobs (keys without the ``ksm_`` prefix)."""

    # ## Optional capabilities

    def prefetch(self) -> None:
        """Start a collection round (the guest manager calls it before collecting the
        guests): fetch at once what the guests' collectors will read.  Default: nothing
        (libvirt: one ``getAllDomainStats`` for every domain)."""

    def config_token(self, uuid: str) -> Any:
        """An object that stays the same (``is``) while the guest's configuration (its
        domain XML: disks, IO policies, tuning) is unchanged, so that what a collector
        derives from it need not be derived again; None (the default): unknown, derive
        every time."""
        return None

    def stats(self) -> dict[str, Any] | None:
        """The interface's own counters, for ``getStatistics()['mom']['hypervisor']``;
        None (the default): it keeps none."""
        return None

    def close(self) -> None:
        """Release connections and caches; the daemon calls it once, at shutdown."""


class _WithDefaults:
    """An interface that does not derive from the base, with the base's defaults for
    the capabilities it lacks; everything else is the wrapped object's."""

    _defaults = HypervisorInterface()

    def __init__(self, wrapped: Any) -> None:
        self.wrapped = wrapped

    def __getattr__(self, name: str) -> Any:
        try:
            return getattr(self.wrapped, name)
        except AttributeError:
            if name in CAPABILITIES:
                return getattr(self._defaults, name)
            raise


def as_interface(iface: Any) -> Any:
    """``iface`` with every capability: itself if it derives from the base (or is None),
    else wrapped so that a missing capability has the base's default."""
    if iface is None or isinstance(iface, HypervisorInterface):
        return iface
    return _WithDefaults(iface)
