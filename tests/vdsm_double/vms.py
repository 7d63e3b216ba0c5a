"""The guests a vdsm double runs, and how vdsm reports them to MOM.

A :class:`Vm` holds plain numbers; :func:`vm_stats` and :func:`io_tune_policies` render
them in the shapes vdsm's JSON-RPC API returns.  Where each shape comes from:

- ``Host.getAllVmStats`` -> a list of ``VmStats`` (vdsm-api.yml types ``RunningVmStats``
  and, for a VM that is down, ``ExitedVmStats``).  vdsm renders most scalars as strings
  (``vmstats.translate`` runs ``convertToStr`` over them, a leftover of XML-RPC's 32-bit
  ints), so: ``pid``, ``memUsage``, ``vcpuCount``, ``vcpuQuota``, ``elapsedTime``,
  ``statusTime`` are strings; ``vcpuPeriod`` (schema ``long``) and ``vcpuUserLimit``
  (``int``) are numbers.
- ``balloonInfo`` (``BalloonInfo``, vdsm ``vmstats.balloon``): ``balloon_max`` (the
  VM's memory), ``balloon_min`` (guaranteed memory), ``balloon_cur``,
  ``balloon_target`` as strings of KiB, and ``ballooning_enabled`` (4.4.6+).  It is
  ``{}`` until vdsm has a balloon sample and a target ("MOM will ignore VMs with missing
  balloon information").
- ``memoryStats`` (``GuestMemoryStats``, vdsm ``vmstats.memory`` from libvirt's balloon
  statistics): ``mem_total`` (= the balloon's available memory), ``mem_unused``,
  ``mem_free`` (deprecated, = ``mem_unused``) as strings of KiB; ``swap_in``,
  ``swap_out`` (pages), ``majflt``, ``minflt`` and ``pageflt`` (= majflt + minflt) as
  ints, per second of the sampling interval.  The old ovirt-guest-agent also sent
  ``swap_total`` and ``swap_usage`` (KiB); they appear here when given.  The key is
  absent while there are no statistics (``translate`` drops empty dicts).
- ``memUsage``: the percentage of the VM's memory in use, a string; vdsm computes it
  from the balloon statistics as ``int(100 - mem_free / memory * 100)``, and reports
  ``'0'`` when there are none (no guest agent).
- ``ioTune`` in the stats: ``[{name, path, ioTune{...}}]`` with the numbers as strings.
- ``Host.getAllVmIoTunePolicies`` -> ``{vmId: {'policy': [...], 'current_values': [...]}}``
  (``VmIoTunePoliciesMap``): policies ``{name, path, guaranteed{}, maximum{}}`` as the
  engine set them, current values ``{name, path, ioTune{}}`` (``VmDiskDeviceTuneParams``)
  with the six limits of ``VmDiskDeviceIoTuneParams`` as ints, 0 meaning unlimited.
  ``VM.getIoTunePolicy`` and ``VM.getIoTune`` return one VM's two lists.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Vm", "Disk", "vm_stats", "io_tune_policies", "IO_TUNE_KEYS", "memory_stats"]

#: the limits of ``VmDiskDeviceIoTuneParams`` (bytes or operations per second; 0 = unlimited)
IO_TUNE_KEYS = (
    "total_bytes_sec",
    "read_bytes_sec",
    "write_bytes_sec",
    "total_iops_sec",
    "read_iops_sec",
    "write_iops_sec",
)


@dataclass
class Disk:
    """One disk: its IO limits now and, if the engine set one, its IO policy."""

    name: str
    path: str | None = None
    #: current limits (``VmDiskDeviceIoTuneParams``); empty: vdsm reports none for this disk
    io_tune: dict[str, int] = field(default_factory=dict)
    #: the engine's policy for the disk; None: no policy
    guaranteed: dict[str, int] | None = None
    maximum: dict[str, int] | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Disk:
        return cls(**data)


@dataclass
class Vm:
    """One VM as the double's vdsm knows it (memory in KiB, CPU times in microseconds)."""

    vm_id: str
    name: str
    status: str = "Up"
    pid: int | None = None
    #: the VM's memory (balloon_max), KiB
    memory_kib: int = 1048576
    #: the balloon now, KiB (None: the whole memory)
    balloon_cur: int | None = None
    #: guaranteed memory, KiB
    balloon_min: int = 0
    #: the last target set, KiB (None: balloon_cur)
    balloon_target: int | None = None
    #: False: vdsm has no balloon sample yet and reports ``balloonInfo: {}``
    balloon_ready: bool = True
    #: the guest's memory statistics in vdsm's names (see :func:`memory_stats`); None: none
    memory_stats: dict[str, int] | None = None
    #: percent of memory used; None: computed as vdsm does
    mem_usage: int | None = None
    #: vCPUs; None: vdsm has no CPU sample yet (no ``vcpuCount``)
    vcpu_count: int | None = 1
    vcpu_quota: int = -1
    vcpu_period: int = 100000
    #: the engine's CPU limit, percent; None: not reported
    vcpu_user_limit: int | None = 100
    disks: list[Disk] = field(default_factory=list)
    #: True: a balloon target takes effect at once (balloon_cur follows it)
    balloon_follows_target: bool = True

    def __post_init__(self) -> None:
        if self.balloon_cur is None:
            self.balloon_cur = self.memory_kib
        if self.balloon_target is None:
            self.balloon_target = self.balloon_cur
        self.disks = [disk if isinstance(disk, Disk) else Disk.from_json(disk) for disk in self.disks]

    def disk(self, name: str | None = None, path: str | None = None) -> Disk | None:
        """The disk with this name (or, without a name, this path)."""
        for disk in self.disks:
            if (name is not None and disk.name == name) or (name is None and path is not None and disk.path == path):
                return disk
        return None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Vm:
        return cls(**copy.deepcopy(data))


def memory_stats(
    mem_total: int,
    mem_unused: int,
    *,
    mem_free: int | None = None,
    swap_in: int = 0,
    swap_out: int = 0,
    majflt: int = 0,
    minflt: int = 0,
    swap_total: int | None = None,
    swap_usage: int | None = None,
) -> dict[str, int]:
    """A guest's memory statistics in vdsm's names (KiB; faults and swapping per second)."""
    stats = {
        "mem_total": mem_total,
        "mem_unused": mem_unused,
        "mem_free": mem_unused if mem_free is None else mem_free,
        "swap_in": swap_in,
        "swap_out": swap_out,
        "majflt": majflt,
        "minflt": minflt,
    }
    if swap_total is not None:
        stats["swap_total"] = swap_total
    if swap_usage is not None:
        stats["swap_usage"] = swap_usage
    return stats


def _memory_stats_shape(stats: dict[str, int]) -> dict[str, Any]:
    shape: dict[str, Any] = {key: str(stats[key]) for key in ("mem_total", "mem_unused", "mem_free") if key in stats}
    for key in ("swap_in", "swap_out", "majflt", "minflt"):
        if key in stats:
            shape[key] = int(stats[key])
    if "majflt" in stats or "minflt" in stats:
        shape["pageflt"] = int(stats.get("majflt", 0)) + int(stats.get("minflt", 0))
    for key in ("swap_total", "swap_usage"):  # the old guest agent's
        if key in stats:
            shape[key] = str(stats[key])
    return shape


def _mem_usage(vm: Vm) -> str:
    if vm.mem_usage is not None:
        return str(vm.mem_usage)
    if not vm.memory_stats or "mem_free" not in vm.memory_stats or not vm.memory_kib:
        return "0"
    return str(int(100 - vm.memory_stats["mem_free"] / vm.memory_kib * 100))


def vm_stats(vm: Vm, now: float | None = None) -> dict[str, Any]:
    """The VM's ``VmStats`` as ``Host.getAllVmStats`` lists it."""
    status_time = str(int((time.monotonic() if now is None else now) * 1000))
    if vm.status == "Down":
        return {
            "vmId": vm.vm_id,
            "status": "Down",
            "exitCode": 0,
            "exitMessage": "Admin shut down from the engine",
            "exitReason": 6,
            "statusTime": status_time,
            "timeOffset": "0",
        }
    stats: dict[str, Any] = {
        "vmId": vm.vm_id,
        "vmName": vm.name,
        "status": vm.status,
        "vmType": "kvm",
        "kvmEnable": "true",
        "acpiEnable": "true",
        "elapsedTime": "3600",
        "statusTime": status_time,
        "timeOffset": "0",
        "monitorResponse": "0",
        "cpuUser": "0.00",
        "cpuSys": "0.00",
        "cpuUsage": "0",
        "guestCPUCount": -1,
        "network": {},
        "disks": {disk.name: {"readRate": "0.0", "writeRate": "0.0", "truesize": "0"} for disk in vm.disks},
        "memUsage": _mem_usage(vm),
        "vcpuQuota": str(vm.vcpu_quota),
        "vcpuPeriod": vm.vcpu_period,
        "ioTune": [
            {"name": disk.name, "path": disk.path, "ioTune": {key: str(value) for key, value in disk.io_tune.items()}}
            for disk in vm.disks
            if disk.io_tune
        ],
    }
    if vm.pid is not None:
        stats["pid"] = str(vm.pid)
    if vm.vcpu_count is not None:
        stats["vcpuCount"] = str(vm.vcpu_count)
    if vm.vcpu_user_limit is not None:
        stats["vcpuUserLimit"] = vm.vcpu_user_limit
    if vm.balloon_ready:
        stats["balloonInfo"] = {
            "balloon_max": str(vm.memory_kib),
            "balloon_min": str(vm.balloon_min),
            "balloon_cur": str(vm.balloon_cur),
            "balloon_target": str(vm.balloon_target),
            "ballooning_enabled": True,
        }
    else:
        stats["balloonInfo"] = {}
    if vm.memory_stats:
        stats["memoryStats"] = _memory_stats_shape(vm.memory_stats)
    return stats


def io_tune_policies(vm: Vm) -> dict[str, list[dict[str, Any]]]:
    """``{'policy': [...], 'current_values': [...]}`` of one VM (``VmIoTunePolicies``)."""
    policy = [
        {
            "name": disk.name,
            "path": disk.path,
            "guaranteed": dict(disk.guaranteed or {}),
            "maximum": dict(disk.maximum or {}),
        }
        for disk in vm.disks
        if disk.guaranteed is not None or disk.maximum is not None
    ]
    current = [
        {"name": disk.name, "path": disk.path, "ioTune": {key: int(value) for key, value in disk.io_tune.items()}}
        for disk in vm.disks
        if disk.io_tune
    ]
    return {"policy": policy, "current_values": current}
