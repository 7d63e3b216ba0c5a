"""The daemon's whole tick against libvirt's own cost (the floor), on the test driver.

At 100, 1,000 and 10,000 domains (:class:`tests.helpers.LibvirtTickRig`: vdsm's
collectors, the shipped policies, the Balloon and IoTune controllers; steady state:
nothing to change), one *tick* is a collection round plus a policy cycle (collect,
evaluate, apply), and the *floor* is the same libvirt calls made directly with no
processing: one ``getAllDomainStats`` with the daemon's groups and flags, and per domain
its ``UUID()`` (which guest a record is) and one ``memoryStats()`` (the test driver's
bulk records lack the balloon group).
The two are timed alternately, round after round, so that a busy machine slows both;
each row's ``extra_info`` has the medians and ``tick_over_floor``, their ratio.

Run with ``pytest bench/bench_tick_floor.py --benchmark-only`` (the 10,000-domain host
takes a minute to set up), or ``python -m bench.bench_tick_floor [N...]`` for a table.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from typing import Any, Callable

import libvirt
import pytest

from mom.plugins.hypervisors.libvirt import _BULK_FLAGS, BULK_GROUPS
from tests.helpers import LibvirtTickRig, calls_during

SIZES = [100, 1000, 10000]


def floor_of(rig: LibvirtTickRig) -> Callable[[], Any]:
    """The tick's libvirt calls, made directly (what the test driver needs of a round)."""
    conn: libvirt.virConnect = rig.iface.conn

    def floor() -> None:
        for domain, _record in conn.getAllDomainStats(BULK_GROUPS, _BULK_FLAGS):
            domain.UUID()  # which guest a record is (a local call, not counted as a libvirt call)
            domain.memoryStats()

    return floor


def steady(rig: LibvirtTickRig, ticks: int = 60) -> dict[str, int]:
    """Tick until a tick changes nothing (the guests grown to full size, IO limits set);
    that tick's libvirt calls."""
    for _ in range(ticks):
        calls = calls_during(rig.iface, rig.tick)
        if set(calls) <= {"getAllDomainStats", "memoryStats"}:
            return calls
    raise RuntimeError(f"still acting after {ticks} ticks: {calls}")


def timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def tick_and_floor(rig: LibvirtTickRig, rounds: int) -> tuple[list[float], list[float]]:
    """Durations of ``rounds`` ticks and floors, taken alternately."""
    floor = floor_of(rig)
    ticks, floors = [], []
    for _ in range(rounds):
        floors.append(timed(floor))
        ticks.append(timed(rig.tick))
    return ticks, floors


def rounds_for(n: int) -> int:
    return max(7, min(41, 20000 // n))


@pytest.mark.parametrize("n", SIZES)
def test_tick_over_floor(benchmark, impl, tmp_path, n):  # type: ignore[no-untyped-def]
    rig = LibvirtTickRig(str(tmp_path), n, implementation=impl)
    try:
        calls = steady(rig)
        assert calls == {"getAllDomainStats": 1, "memoryStats": n}  # the floor makes these
        ticks, floors = tick_and_floor(rig, rounds_for(n))
        tick, floor = statistics.median(ticks), statistics.median(floors)
        benchmark.group = f"tick-over-floor[{n}]"
        benchmark.extra_info.update(
            guests=n,
            tick_ms=round(1000 * tick, 3),
            floor_ms=round(1000 * floor, 3),
            tick_over_floor=round(tick / floor, 3),
            overhead_us_per_guest=round(1e6 * (tick - floor) / n, 3),
        )
        benchmark.pedantic(rig.tick, rounds=rounds_for(n) // 2 + 1, warmup_rounds=1)
    finally:
        rig.close()


def main(sizes: list[int]) -> None:
    print(f"{'guests':>7} {'tick ms':>9} {'floor ms':>9} {'ratio':>6} {'µs/guest over floor':>20}")
    for n in sizes:
        with tempfile.TemporaryDirectory() as directory:
            rig = LibvirtTickRig(directory, n)
            try:
                steady(rig)
                ticks, floors = tick_and_floor(rig, rounds_for(n))
            finally:
                rig.close()
        tick, floor = statistics.median(ticks), statistics.median(floors)
        print(f"{n:>7} {1000 * tick:>9.2f} {1000 * floor:>9.2f} {tick / floor:>6.2f} {1e6 * (tick - floor) / n:>20.2f}")


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or SIZES)
