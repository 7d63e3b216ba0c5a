"""HostCpu: the number of host CPUs, from /proc/cpuinfo."""

from __future__ import annotations

from typing import Any, Mapping

from mom.plugins.collectors.base import Collector, count_occurrences, open_datafile, read_file

__all__ = ["HostCpu"]


class HostCpu(Collector):
    """Host CPUs.

    - ``cpu_count``: online processors (``processor`` lines of /proc/cpuinfo)
    """

    fields = frozenset({"cpu_count"})

    def __init__(self, properties: Mapping[str, Any], cpuinfo: str = "/proc/cpuinfo") -> None:
        super().__init__(properties)
        self.cpuinfo = open_datafile(cpuinfo)

    def collect(self) -> dict[str, Any]:
        return {"cpu_count": count_occurrences(r"^processor.*:.*", read_file(self.cpuinfo))}
