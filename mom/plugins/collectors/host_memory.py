"""HostMemory: the host's memory and swap, from /proc/meminfo and /proc/vmstat."""

from __future__ import annotations

from typing import IO, Any, Mapping

from mom.plugins.collectors.base import Collector, open_datafile, read_file

__all__ = ["HostMemory", "parse_keyed"]


def parse_keyed(text: str) -> dict[str, int]:
    """``Key: 123 kB`` or ``key 123`` lines -> {key: 123}."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.replace(":", " ").split()
        if len(parts) >= 2:
            try:
                values[parts[0]] = int(parts[1])
            except ValueError:
                continue
    return values


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
        self.swap_in_prev: int | None = None
        self.swap_out_prev: int | None = None

    def collect(self) -> dict[str, Any]:
        mem = parse_keyed(read_file(self.meminfo))
        vm = parse_keyed(read_file(self.vmstat))
        swap_in_total = vm.get("pswpin", 0)
        swap_out_total = vm.get("pswpout", 0)
        # /proc/vmstat counts are cumulative since boot: report the change
        swap_in = 0 if self.swap_in_prev is None else swap_in_total - self.swap_in_prev
        swap_out = 0 if self.swap_out_prev is None else swap_out_total - self.swap_out_prev
        self.swap_in_prev, self.swap_out_prev = swap_in_total, swap_out_total
        return {
            "mem_available": mem["MemTotal"],
            "mem_unused": mem["MemFree"],
            "mem_free": mem["MemFree"] + mem.get("Buffers", 0) + mem.get("Cached", 0),
            "anon_pages": mem.get("AnonPages", 0),
            "swap_total": mem.get("SwapTotal", 0),
            "swap_usage": mem.get("SwapTotal", 0) - mem.get("SwapFree", 0),
            "swap_in": swap_in,
            "swap_out": swap_out,
        }
