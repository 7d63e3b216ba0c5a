"""The memory fields of ``/proc/meminfo`` and ``/proc/vmstat`` text, for the collectors that
read them: HostMemory (this host), GuestQemuAgent (a guest's, through its agent) and
mom-guestd (inside a guest)."""

from __future__ import annotations

from typing import Mapping

__all__ = ["parse_keyed", "memory_fields", "fault_fields", "SwapDelta"]


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


def memory_fields(meminfo: Mapping[str, int]) -> dict[str, int]:
    """Memory and swap from parsed ``/proc/meminfo`` (KiB): ``mem_available`` (MemTotal),
    ``mem_unused`` (MemFree), ``mem_free`` (MemFree + Buffers + Cached), ``swap_total``,
    ``swap_usage`` (SwapTotal - SwapFree).  KeyError without MemTotal or MemFree."""
    free = meminfo["MemFree"]
    swap_total = meminfo.get("SwapTotal", 0)
    return {
        "mem_available": meminfo["MemTotal"],
        "mem_unused": free,
        "mem_free": free + meminfo.get("Buffers", 0) + meminfo.get("Cached", 0),
        "swap_total": swap_total,
        "swap_usage": swap_total - meminfo.get("SwapFree", 0),
    }


def fault_fields(vmstat: Mapping[str, int]) -> dict[str, int]:
    """Page faults since boot from parsed ``/proc/vmstat`` (counts): ``major_fault``
    (pgmajfault) and ``minor_fault`` (pgfault - pgmajfault; pgfault counts both)."""
    major = vmstat.get("pgmajfault", 0)
    return {"major_fault": major, "minor_fault": vmstat.get("pgfault", 0) - major}


class SwapDelta:
    """Pages swapped in and out since the previous sample (``swap_in``, ``swap_out``).

    /proc/vmstat counts ``pswpin`` and ``pswpout`` since boot, so each sample reports the
    change from the one before; the first reports 0.
    """

    def __init__(self) -> None:
        self.previous: tuple[int, int] | None = None

    def __call__(self, vmstat: Mapping[str, int]) -> dict[str, int]:
        totals = (vmstat.get("pswpin", 0), vmstat.get("pswpout", 0))
        previous, self.previous = self.previous, totals
        if previous is None:
            return {"swap_in": 0, "swap_out": 0}
        return {"swap_in": totals[0] - previous[0], "swap_out": totals[1] - previous[1]}
