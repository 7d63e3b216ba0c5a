"""HostMemory: the host's memory and swap, from /proc/meminfo and /proc/vmstat."""

from __future__ import annotations

from typing import IO, Any, Mapping

from mom.plugins.collectors.base import Collector, open_datafile, read_file
from mom.plugins.collectors.meminfo import SwapDelta, memory_fields, parse_keyed

__all__ = ["HostMemory"]


class HostMemory(Collector):
    """Host memory statistics (KiB unless stated).

    - ``mem_available``: total memory (MemTotal)
    - ``mem_unused``: completely unused memory (MemFree)
    - ``mem_free``: memory the kernel can hand out readily (MemFree + Buffers + Cached)
    - ``anon_pages``: anonymous memory (AnonPages)
    - ``swap_total``: swap space (SwapTotal)
    - ``swap_usage``: swap in use (SwapTotal - SwapFree)
    - ``swap_in``, ``swap_out``: pages swapped in/out since the previous sample (0 at first)
    """

    fields = frozenset(
        {"mem_available", "mem_unused", "mem_free", "anon_pages", "swap_total", "swap_usage", "swap_in", "swap_out"}
    )

    def __init__(self, properties: Mapping[str, Any], meminfo: str = "/proc/meminfo", vmstat: str = "/proc/vmstat"):
        super().__init__(properties)
        # kept open and re-read from the start each tick
        self.meminfo: IO[str] = open_datafile(meminfo)
        self.vmstat: IO[str] = open_datafile(vmstat)
        self.swap = SwapDelta()

    def collect(self) -> dict[str, Any]:
        mem = parse_keyed(read_file(self.meminfo))
        sample = memory_fields(mem)
        sample["anon_pages"] = mem.get("AnonPages", 0)
        sample.update(self.swap(parse_keyed(read_file(self.vmstat))))
        return sample
