"""HostKSM: the kernel samepage merging state, from /sys/kernel/mm/ksm and /proc.

Nothing is forked: ``ksm_shareable`` and ``ksmd_cpu_usage`` come from
``/proc/<pid>/comm``, ``statm`` and ``stat`` (upstream ran ``pgrep``, ``ps`` and ``pidof`` each tick).
"""

from __future__ import annotations

import os
import time
from typing import Any, Mapping

from mom.errors import FatalError
from mom.plugins import procfs
from mom.plugins.collectors.base import Collector
from mom.plugins.ksm_sysfs import KSM_DIR

__all__ = ["HostKSM", "KSM_KEYS"]

#: the sysfs files read, each reported as ``ksm_<name>``
KSM_KEYS = (
    "full_scans",
    "pages_sharing",
    "pages_unshared",
    "run",
    "pages_shared",
    "pages_to_scan",
    "pages_volatile",
    "sleep_millisecs",
    "merge_across_nodes",
)


class HostKSM(Collector):
    """Kernel samepage merging.

    - ``ksm_run``: 0 stopped, 1 running, 2 unmerging
    - ``ksm_pages_to_scan``: pages scanned per wake-up
    - ``ksm_sleep_millisecs``: ms between wake-ups
    - ``ksm_merge_across_nodes``: 1 if pages merge across NUMA nodes (1 without NUMA)
    - ``ksm_pages_shared``, ``ksm_pages_sharing``, ``ksm_pages_unshared``,
      ``ksm_pages_volatile``: page counts (pages)
    - ``ksm_full_scans``: completed full scans
    - ``ksm_shareable``: virtual size of all qemu processes (KiB): what KSM could merge
    - ``ksmd_cpu_usage``: CPU used by ksmd since the previous sample (percent of one CPU)
    """

    fields = frozenset({"ksm_" + key for key in KSM_KEYS} | {"ksm_shareable", "ksmd_cpu_usage"})

    def __init__(self, properties: Mapping[str, Any], root: str = KSM_DIR, proc: str = "/proc") -> None:
        super().__init__(properties)
        self.root = root
        self.proc = proc
        self.interval = float(properties.get("interval", 5) or 5)
        self.files: dict[str, int] = {}
        for key in KSM_KEYS:
            path = os.path.join(root, key)
            try:
                self.files[key] = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                if key != "merge_across_nodes":
                    raise FatalError(f"HostKSM: open {path} failed: file not found") from None
                # only NUMA kernels have it; without NUMA merging is trivially "across nodes"
            except OSError as error:
                raise FatalError(f"HostKSM: open {path} failed: {error.strerror}") from error
        self.ksmd_pid: int | None = None
        self.prev_jiffies: int | None = None
        self.prev_time: float | None = None

    def __del__(self) -> None:
        for fd in getattr(self, "files", {}).values():
            try:
                os.close(fd)
            except OSError:
                pass

    def _read(self, key: str) -> int:
        fd = self.files.get(key)
        if fd is None:
            return 1
        # pread at offset 0 re-runs the sysfs show(): fresh value, no reopen
        return int(os.pread(fd, 64, 0))

    def _shareable(self) -> int:
        """KiB of virtual memory of every process whose name contains 'qemu'."""
        return sum(vsize // 1024 for _, vsize in procfs.vsizes_by_name("qemu", exact=False, proc=self.proc))

    def _ksmd_jiffies(self) -> int | None:
        if self.ksmd_pid is not None:
            try:
                stat = procfs.read_stat(self.ksmd_pid, self.proc)
                if stat.comm == "ksmd":
                    return stat.utime + stat.stime
            except (OSError, ValueError, IndexError):
                pass
            self.ksmd_pid = None
        for stat in procfs.find_pids_by_name("ksmd", exact=True, proc=self.proc):
            self.ksmd_pid = stat.pid
            return stat.utime + stat.stime
        return None

    def _ksmd_cpu_usage(self) -> int:
        jiffies = self._ksmd_jiffies()
        now = time.monotonic()
        usage = 0
        if jiffies is not None and self.prev_jiffies is not None and self.prev_time is not None:
            delta = (jiffies - self.prev_jiffies) % (1 << 32)
            # percent of one CPU over the real time since the previous sample
            elapsed = now - self.prev_time or self.interval
            usage = int(100 * delta / (procfs.CLOCK_TICKS * elapsed))
        self.prev_jiffies, self.prev_time = jiffies, now
        return usage

    def collect(self) -> dict[str, Any]:
        data = {"ksm_" + key: self._read(key) for key in KSM_KEYS}
        data["ksm_shareable"] = self._shareable()
        data["ksmd_cpu_usage"] = self._ksmd_cpu_usage()
        return data
