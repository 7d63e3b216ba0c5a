"""GuestCpuUsage: a guest's CPU use as a rate, its vCPUs' waits, and its cgroup's CPU stall."""

from __future__ import annotations

import logging
import os
import time
from typing import Any, Callable, Mapping

from mom.plugins.collectors.base import Collector
from mom.plugins.psi import read_psi

__all__ = ["GuestCpuUsage", "vm_cgroup", "cgroup2_mount"]

_NS = 1e9


def vm_cgroup(pid: int, proc: str = "/proc") -> str | None:
    """The guest's own cgroup v2 path (``/machine.slice/machine-qemu….scope``) from its QEMU
    process's ``/proc/PID/cgroup``: libvirt puts the process in ``<scope>/emulator``
    (``<scope>/libvirt/emulator`` in some versions), the vCPU threads in ``…/vcpuN``;
    the scope holds them all.  None on
    cgroup v1 or if the process is gone."""
    try:
        with open(os.path.join(proc, str(pid), "cgroup"), encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("0::"):
            path = line[3:].removesuffix("/emulator")
            return path.removesuffix("/libvirt")
    return None


def cgroup2_mount(mountinfo: str = "/proc/self/mountinfo") -> str:
    """Where the cgroup v2 hierarchy is mounted (``/sys/fs/cgroup``, or
    ``/sys/fs/cgroup/unified`` on a hybrid v1/v2 host); ``/sys/fs/cgroup`` if not found."""
    try:
        with open(mountinfo, encoding="utf-8") as handle:
            for line in handle:
                before, _, after = line.partition(" - ")
                if after.split(" ", 1)[0] == "cgroup2":
                    return before.split()[4]
    except OSError:
        pass
    return "/sys/fs/cgroup"


class GuestCpuUsage(Collector):
    """A guest's CPU; every field optional (absent on the first sample, or where the driver
    or the kernel does not report it).

    - ``cpu_usage``: host CPUs the guest used since the previous sample (1.0 = one CPU
      busy all the time), from libvirt's ``cpu.time`` (QEMU's cgroup CPU time)
    - ``cpu_usage_vcpu``: ``cpu_usage`` per vCPU (about 1.0: every vCPU busy)
    - ``vcpu_wait``: fraction of time a vCPU wanted to run and the host ran something
      else, averaged over its vCPUs (libvirt's ``vcpu.N.wait``)
    - ``vcpu_delay``: fraction of time a vCPU thread was queued, not running (libvirt's
      ``vcpu.N.delay``, the guest's steal time; libvirt 9.x and later)
    - ``cgroup_cpu_some_avg10``, ``cgroup_cpu_some_avg60``: percent of time some task of
      the guest's cgroup (vCPUs and QEMU's own threads) waited for a CPU
      (``cpu.pressure`` of its scope; cgroup v2 with PSI)

    ``[Collector: GuestCpuUsage] proc`` and ``cgroup`` (default: where cgroup v2 is mounted,
    ``/sys/fs/cgroup`` or, on a hybrid host, ``/sys/fs/cgroup/unified``) read other trees (tests use trees of their own).
    """

    optional_fields = frozenset(
        {"cpu_usage", "cpu_usage_vcpu", "vcpu_wait", "vcpu_delay", "cgroup_cpu_some_avg10", "cgroup_cpu_some_avg60"}
    )

    def __init__(self, properties: Mapping[str, Any], clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(properties)
        self.logger = logging.getLogger("mom.Collectors.GuestCpuUsage")
        self.iface = properties["hypervisor_iface"]
        self.uuid = properties["uuid"]
        self.pid = properties.get("pid")
        config = dict(properties.get("config") or {})
        self.proc = config.get("proc") or "/proc"
        self.cgroup_root = config.get("cgroup") or cgroup2_mount()
        self.clock = clock
        self._previous: tuple[float, dict[str, Any]] | None = None
        self._pressure_path: str | None = None
        self._no_pressure = self.pid is None

    def collect(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        now = self.clock()
        stats = self.iface.getVmCpuStats(self.uuid) if hasattr(self.iface, "getVmCpuStats") else None
        if stats:
            previous, self._previous = self._previous, (now, stats)
            if previous is not None and now > previous[0]:
                data.update(_rates(previous[1], stats, now - previous[0]))
        else:
            self._previous = None
        if not self._no_pressure:
            data.update(self._cgroup_pressure())
        return data

    def _cgroup_pressure(self) -> dict[str, Any]:
        if self._pressure_path is None:
            group = vm_cgroup(int(self.pid), self.proc)  # type: ignore[arg-type]
            if group is None:
                self._no_pressure = True
                return {}
            self._pressure_path = os.path.join(self.cgroup_root, group.lstrip("/"), "cpu.pressure")
        try:
            values = read_psi(self._pressure_path)
        except (OSError, ValueError) as error:
            # the host has no per-cgroup PSI (or cgroup v1): said once per guest, at DEBUG
            self.logger.debug("GuestCpuUsage %s: no cgroup cpu.pressure (%s)", self.uuid, error)
            self._no_pressure = True
            return {}
        return {
            f"cgroup_cpu_{key}": values[key] for key in ("some_avg10", "some_avg60") if key in values
        }


def _rates(before: Mapping[str, Any], after: Mapping[str, Any], seconds: float) -> dict[str, Any]:
    """Rates between two :meth:`getVmCpuStats` answers ``seconds`` apart; a counter that
    went backwards (the guest restarted, vCPUs unplugged) gives nothing."""
    data: dict[str, Any] = {}
    vcpus = after.get("vcpu_count") or 0
    cpu_before, cpu_after = before.get("cpu_time"), after.get("cpu_time")
    if cpu_before is not None and cpu_after is not None and cpu_after >= cpu_before:
        data["cpu_usage"] = (cpu_after - cpu_before) / _NS / seconds
        if vcpus:
            data["cpu_usage_vcpu"] = data["cpu_usage"] / vcpus
    if vcpus and vcpus == before.get("vcpu_count"):
        for key in ("vcpu_wait", "vcpu_delay"):
            old, new = before.get(key), after.get(key)
            if old is not None and new is not None and new >= old:
                data[key] = (new - old) / _NS / seconds / vcpus
    return data
