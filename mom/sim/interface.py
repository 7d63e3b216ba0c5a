"""The ``sim`` hypervisor interface: the daemon's view of a :class:`~mom.sim.model.SimHost`.

Upstream's method names and return shapes, as the libvirt interface gives them:
guests are listed by domain id and addressed by UUID, memory statistics are libvirt's
(``mem_available`` is the guest's MemTotal, counters are cumulative), balloon sizes are
KiB.  Actions are applied to the model and logged in :attr:`SimInterface.actions`
(simulated time, method, guest index or -1, value) for the simulator's records.

Host collectors get no interface (upstream passes them none), so the simulated host is
*attached* to the process while the simulator runs (:func:`attached`); the ``sim``
interface and the ``SimHost*`` collectors find it there.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

from mom.errors import HypervisorInterfaceError
from mom.plugins.hypervisors.base import HypervisorInterface
from mom.sim.interface_cpu import SimCpu
from mom.sim.interface_lifecycle import SimLifecycle
from mom.sim.ksm import KsmBusy
from mom.sim.model import SimHost

__all__ = ["SimInterface", "SimKsmSysfs", "attached", "attached_host", "instance"]

_ATTACHED: list[SimHost] = []


@contextlib.contextmanager
def attached(host: SimHost) -> Iterator[SimHost]:
    """Make ``host`` the simulated host of this process for the ``with`` block."""
    if _ATTACHED:
        raise RuntimeError("a simulated host is already attached")
    _ATTACHED.append(host)
    try:
        yield host
    finally:
        _ATTACHED.clear()


def attached_host() -> SimHost:
    """The attached simulated host; HypervisorInterfaceError when none is."""
    if not _ATTACHED:
        raise HypervisorInterfaceError("no simulated host: the sim interface and collectors run under mom-sim")
    return _ATTACHED[0]


class SimKsmSysfs:
    """What the KSM controller asks of /sys/kernel/mm/ksm besides writing: no advisor here."""

    def advisor_mode(self) -> str:
        return "none"

    def advisor_active(self) -> bool:
        return False


class SimInterface(SimLifecycle, SimCpu, HypervisorInterface):
    """The hypervisor interface over a simulated host (lifecycle actions: :mod:`mom.sim.interface_lifecycle`; CPU: :mod:`mom.sim.interface_cpu`)."""

    def __init__(self, host: SimHost) -> None:
        self.host = host
        self.ksm_sysfs = SimKsmSysfs()
        #: (simulated seconds, method, guest index or -1, value)
        self.actions: list[tuple[float, str, int, Any]] = []

    def _index(self, uuid: str) -> int:
        info = self.host.by_uuid.get(uuid)
        if info is None:
            raise HypervisorInterfaceError(f"no guest with uuid {uuid}")
        return info.index

    def _live(self, uuid: str) -> int:
        """The index of a running guest (libvirt has no statistics of a stopped domain)."""
        index = self._index(uuid)
        if not self.host.power.is_running(index):
            raise HypervisorInterfaceError(f"guest {uuid} is not running")
        return index

    # ## Queries

    def getVmList(self) -> list[int]:
        running = self.host.power.running
        return [info.id for info in self.host.info if running[info.index]]

    def getVmInfo(self, vm_id: Any) -> dict[str, Any] | None:
        info = self.host.by_id.get(vm_id)
        if info is None or not self.host.power.is_running(info.index):
            return None
        return {"uuid": info.uuid, "name": info.name, "pid": None}

    def startVmMemoryStats(self, uuid: str) -> None:
        self._index(uuid)

    def getVmMemoryStats(self, uuid: str) -> dict[str, Any]:
        index = self._live(uuid)
        lists = self.host.guest_lists()
        return {
            key: lists[key][index]
            for key in (
                "mem_available",
                "mem_unused",
                "major_fault",
                "minor_fault",
                "swap_in",
                "swap_out",
                "swap_total",
                "swap_usage",
            )
        }

    def getVmBalloonInfo(self, uuid: str) -> dict[str, Any] | None:
        index = self._live(uuid)
        lists = self.host.guest_lists()
        return {
            "balloon_cur": lists["balloon_cur"][index],
            "balloon_max": lists["balloon_max"][index],
            "balloon_min": lists["balloon_min"][index],
        }

    def getVmCpuTuneInfo(self, uuid: str) -> dict[str, Any] | None:
        index = self._live(uuid)
        host = self.host
        return {
            "vcpu_quota": int(host.vcpu_quota[index]),
            "vcpu_period": int(host.vcpu_period[index]),
            "vcpu_user_limit": float(host.cpu_limit[index]),
            "vcpu_count": int(host.vcpus[index]),
        }

    def getVmIoTunePolicy(self, uuid: str) -> list[dict[str, Any]]:
        """The simulated guests' disks have no IO limits."""
        self._index(uuid)
        return []

    def getVmIoTune(self, uuid: str) -> list[dict[str, Any]]:
        self._index(uuid)
        return []

    # ## Actions

    def setVmBalloonTarget(self, uuid: str, target: int) -> None:
        index = self._live(uuid)
        maximum = int(self.host.balloons.maximum[index])
        if not 0 < target <= maximum:
            # libvirt refuses the same: "cannot set memory higher than max memory"
            raise HypervisorInterfaceError(f"balloon target {target} KiB outside 1..{maximum}")
        self.host.set_balloon_target(index, int(target))
        self.actions.append((self.host.time, "setVmBalloonTarget", index, int(target)))

    def setVmCpuTune(self, uuid: str, quota: int, period: int) -> None:
        index = self._live(uuid)
        self.host.vcpu_quota[index] = int(quota)
        self.host.vcpu_period[index] = int(period)
        self.actions.append((self.host.time, "setVmCpuTune", index, (int(quota), int(period))))

    def ksmTune(self, tuning_params: dict[str, int]) -> None:
        try:
            self.host.tune_ksm(tuning_params)
        except KeyError as error:
            raise HypervisorInterfaceError(f"ksmTune failed: {error.args[0]}: no such KSM knob") from None
        except ValueError as error:
            raise HypervisorInterfaceError(f"ksmTune failed: {error}: Invalid argument") from None
        except KsmBusy as error:
            raise HypervisorInterfaceError(f"ksmTune failed: {error}: Device or resource busy") from None
        self.actions.append((self.host.time, "ksmTune", -1, dict(tuning_params)))


def instance(config: Any) -> SimInterface:
    """The ``sim`` interface (``hypervisor-interface: sim``) over the attached host."""
    return SimInterface(attached_host())
