"""HostCpuPressure: host CPU busy time and run-queue pressure (/proc/stat, /proc/pressure/cpu)."""

from __future__ import annotations

import logging
import os
from typing import Any, Mapping

from mom.plugins.collectors.base import Collector
from mom.plugins.psi import read_psi

__all__ = ["HostCpuPressure", "parse_proc_stat"]

#: collector field -> key of :func:`mom.plugins.psi.parse_psi`
_PSI_FIELDS = {
    "cpu_some_avg10": "some_avg10",
    "cpu_some_avg60": "some_avg60",
    "cpu_some_total": "some_total",
    "cpu_full_avg10": "full_avg10",
    "cpu_full_avg60": "full_avg60",
}


def parse_proc_stat(text: str) -> tuple[int, int, int | None, int]:
    """``(busy, total, procs_running, cpus)`` from /proc/stat: jiffies of the ``cpu`` line
    (busy = all but idle and iowait; guest time is already in user/nice, so not added
    again), the runnable tasks, and the ``cpuN`` lines; ValueError without a ``cpu`` line."""
    busy = total = cpus = 0
    running: int | None = None
    found = False
    for line in text.splitlines():
        if line.startswith("cpu "):
            values = [int(v) for v in line.split()[1:]]
            # user nice system idle iowait irq softirq steal guest guest_nice
            total = sum(values[:8])
            busy = total - values[3] - (values[4] if len(values) > 4 else 0)
            found = True
        elif line.startswith("cpu"):
            cpus += 1
        elif line.startswith("procs_running "):
            running = int(line.split()[1])
    if not found:
        raise ValueError("no 'cpu' line")
    return busy, total, running, cpus


class HostCpuPressure(Collector):
    """Host CPU contention; every field optional (a kernel without PSI has no ``cpu_*_avg``).

    - ``cpu_busy``: fraction (0..1) of all host CPU time that was busy (not idle, not
      waiting for IO) since the previous sample (absent on the first)
    - ``cpu_runnable``: tasks runnable now, per host CPU (``procs_running`` / CPUs; above
      1 the run queue is longer than the CPUs)
    - ``cpu_some_avg10``, ``cpu_some_avg60``: percent of time some runnable task waited
      for a CPU, over 10 and 60 s; ``cpu_some_total``: microseconds since boot
    - ``cpu_full_avg10``, ``cpu_full_avg60``: the same with every task waiting (Linux
      5.13 and later; at host level the kernel reports 0)

    ``[Collector: HostCpuPressure] proc`` reads another /proc (tests use a tree of their own).
    """

    optional_fields = frozenset({"cpu_busy", "cpu_runnable", *_PSI_FIELDS})

    def __init__(self, properties: Mapping[str, Any], proc: str | None = None) -> None:
        super().__init__(properties)
        self.logger = logging.getLogger("mom.Collectors.HostCpuPressure")
        self.proc = proc or dict(properties.get("config") or {}).get("proc") or "/proc"
        self._previous: tuple[int, int] | None = None
        self._said: set[str] = set()

    def _once(self, what: str, error: Exception) -> None:
        if what not in self._said:
            self._said.add(what)
            self.logger.info("HostCpuPressure: no %s (%s): those fields stay empty", what, error)

    def collect(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        try:
            with open(os.path.join(self.proc, "stat"), encoding="ascii") as handle:
                busy, total, running, cpus = parse_proc_stat(handle.read())
        except (OSError, ValueError) as error:
            self._once("/proc/stat", error)
        else:
            previous, self._previous = self._previous, (busy, total)
            if previous is not None and total > previous[1] and busy >= previous[0]:
                data["cpu_busy"] = (busy - previous[0]) / (total - previous[1])
            if running is not None and cpus:
                data["cpu_runnable"] = running / cpus
        try:
            values = read_psi(os.path.join(self.proc, "pressure", "cpu"))
        except (OSError, ValueError) as error:
            self._once("CPU pressure information", error)
        else:
            data.update({name: values[key] for name, key in _PSI_FIELDS.items() if key in values})
        return data
