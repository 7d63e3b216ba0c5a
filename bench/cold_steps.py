"""Two steps of a steady tick timed alone, with the processor's caches warm and cold.

``python -m bench.cold_steps [GUESTS] [EVICT_MB]`` builds the tick rig
(:class:`tests.helpers.LibvirtTickRig`), ticks it to steady state, keeps the inputs of
one round's ``SampleTable.append_columns`` and ``GuestIoTune.known_samples`` and calls
each again and again on them: once back to back (its data stays in the caches), once
after a pass over ``EVICT_MB`` MiB (64 by default) between calls, which evicts what the
step reads, as the tick's libvirt calls do (the step's own figure in a tick,
``/work/wt/prof/steps.py``-style, is close to the cold one).  Medians in ms.

What it showed at 1,000 guests (two shared cores, 3.11): append_columns 0.17 warm,
0.35-0.41 cold; known_samples 0.12 warm, 0.40-0.49 cold (its samples_maybe_changed 0.08
and 0.35-0.50).  Both steps spend most of a tick waiting for memory, not running
instructions.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from typing import Any, Callable

import numpy as np

from bench.bench_tick_floor import steady
from mom.plugins.collectors.guest_io_tune import GuestIoTune
from mom.runtime.table import SampleTable
from tests.helpers import LibvirtTickRig


def _median_ms(step: Callable[[], Any], evict: np.ndarray | None, rounds: int = 200) -> float:
    times = []
    for _ in range(rounds):
        if evict is not None:
            np.add(evict, 1.0, out=evict)  # reads and writes every line of it
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return 1e3 * statistics.median(times)


def main(guests: int = 1000, evict_mb: int = 64) -> None:
    kept: dict[str, Any] = {}
    append_columns = SampleTable.append_columns
    known_samples = GuestIoTune.__dict__["known_samples"].__func__

    def keep_append(table: SampleTable, rows: Any, columns: Any) -> None:
        kept["append"] = (table, rows, columns)
        append_columns(table, rows, columns)

    def keep_known(cls: type, collectors: Any, alive: Any) -> Any:
        kept["known"] = (cls, collectors, alive)
        return known_samples(cls, collectors, alive)

    SampleTable.append_columns = keep_append  # type: ignore[method-assign]
    GuestIoTune.known_samples = classmethod(keep_known)  # type: ignore[method-assign, assignment]
    try:
        with tempfile.TemporaryDirectory() as directory:
            rig = LibvirtTickRig(directory, guests)
            try:
                steady(rig)
                rig.tick()
            finally:
                SampleTable.append_columns = append_columns  # type: ignore[method-assign]
                GuestIoTune.known_samples = classmethod(known_samples)  # type: ignore[method-assign, assignment]
            evict = np.ones(evict_mb * (1 << 20) // 8)
            steps = {
                "SampleTable.append_columns": lambda: append_columns(*kept["append"]),
                "GuestIoTune.known_samples": lambda: known_samples(*kept["known"]),
            }
            print(f"{guests} guests, {evict_mb} MiB evicted between cold calls (median ms)")
            for name, step in steps.items():
                warm, cold = _median_ms(step, None), _median_ms(step, evict)
                print(f"  {name:28s} warm {warm:6.3f}  cold {cold:6.3f}")
            rig.close()
    finally:
        SampleTable.append_columns = append_columns  # type: ignore[method-assign]
        GuestIoTune.known_samples = classmethod(known_samples)  # type: ignore[method-assign, assignment]


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:3]))
