"""The host's memory as the lifecycle controller sees it, and the guarantees at risk.

Free memory is HostMemory's ``mem_free`` (what the kernel hands out readily), the
host's memory its ``mem_available`` (MemTotal).  Pressure is free memory below
``pressure-threshold`` of it; memory is plentiful above threshold plus
``pressure-band``.  The guarantees at risk are those the SLA allocator
(:mod:`mom.sla.allocator`, through ``mom._impl``) gives up with the memory the guests
have now plus (or less) the host's free memory above (below) the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import numpy as np

from mom.sla.allocator import PressureState
from mom.sla.classes import SlaClass, reclaim_ranks

__all__ = ["HostMemory", "host_memory", "guarantees_at_risk", "latest"]


def latest(entity: Any, name: str) -> Any:
    """An entity's newest value of a field, None if absent (no KeyError for undeclared fields)."""
    statistics = entity.statistics
    if not statistics:
        return None
    return statistics[-1].get(name)


@dataclass(frozen=True)
class HostMemory:
    """KiB."""

    total: int
    free: int
    threshold: int
    band: int

    @property
    def plentiful(self) -> bool:
        return self.free > self.threshold + self.band

    def describe(self) -> str:
        """For the audit's reason."""
        return f"host free {self.free} KiB of {self.total} KiB (threshold {self.threshold} KiB, band {self.band} KiB)"


def host_memory(host: Any, threshold: float, band: float) -> HostMemory | None:
    """The host's memory now; None without HostMemory's fields."""
    total, free = latest(host, "mem_available"), latest(host, "mem_free")
    if total is None or free is None:
        return None
    total, free = int(total), int(free)
    return HostMemory(total, free, int(total * threshold), int(total * band))


def guarantees_at_risk(guests: Iterable[Any], memory: HostMemory, classes: Mapping[str, SlaClass]) -> list[str] | None:
    """Names of the guests whose guarantee cannot be kept, most exposed first; None when
    the guests lack the fields (GuestBalloon, GuestMemory, GuestSla) to tell."""
    from mom import _impl  # the engine's choice of twin

    ranks = reclaim_ranks(classes)
    rows = []
    for guest in guests:
        values = [latest(guest, name) for name in ("balloon_max", "balloon_min", "balloon_cur", "sla_class")]
        if any(value is None for value in values):
            return None
        balloon_max, balloon_min, current, class_name = values
        sla_class = classes.get(str(class_name))
        if sla_class is None:
            return None
        guarantee = latest(guest, "sla_guarantee")
        available, unused = latest(guest, "mem_available"), latest(guest, "mem_unused")
        balloon_max = int(balloon_max)
        balloon_min = min(int(balloon_min), balloon_max)
        used = int(available) - int(unused) if available is not None and unused is not None else int(current)
        rank = ranks[sla_class.name]
        rows.append(
            (
                str(guest.properties.get("name", "?")),
                balloon_max,
                balloon_min,
                max(balloon_min, min(balloon_max, int(guarantee if guarantee is not None else balloon_min))),
                max(0, used),
                int(sla_class.margin * balloon_max),
                rank,
                int(latest(guest, "sla_priority") or 50),
                max(0, int(current) - max(0, used)),
                max(0, min(int(current), balloon_max)),
            )
        )
    if not rows:
        return []
    columns = list(zip(*rows))
    current = np.array(columns[9], dtype=np.int64)
    # what the guests hold now, less what the host lacks below its threshold (or plus what it has above)
    available = max(0, int(current.sum()) + memory.free - memory.threshold)
    result = _impl.allocator.allocate(
        balloon_max=np.array(columns[1], dtype=np.int64),
        balloon_min=np.array(columns[2], dtype=np.int64),
        guarantee=np.array(columns[3], dtype=np.int64),
        used=np.array(columns[4], dtype=np.int64),
        margin=np.array(columns[5], dtype=np.int64),
        reclaim_rank=np.array(columns[6], dtype=np.int64),
        priority=np.array(columns[7], dtype=np.int64),
        idle=np.array(columns[8], dtype=np.int64),
        current=current,
        excluded=np.zeros(len(rows), dtype=bool),
        available=available,
        host_free=memory.free,
        threshold=memory.threshold,
        band=memory.band,
        state=PressureState.NORMAL,
    )
    at_risk = [columns[0][int(i)] for i in result.given_up]
    if result.unmet > 0:  # not even platinum's and the minimums fit: every guest is
        at_risk.extend(columns[0][i] for i in range(len(rows)) if columns[0][i] not in at_risk)
    return at_risk
