"""Soak runs through the simulator: momd's own code for simulated hours, its memory sampled.

The simulator (mom/sim) runs momd's HostMonitor, GuestManager and PolicyEngine in
this process on a simulated clock, so the daemon's memory is this process's, less
what the simulator keeps.  :func:`soak` samples, through the run, the memory
tracemalloc traces to the daemon's code (by the allocating frame: see ``_NOT_DAEMON``) and the process's RSS (which includes the model and its recording),
and fits a line to each over the run after its first tenth (the sample histories
fill during warm-up): the slope is the growth per simulated hour.

``python -m tests.soak.soak SCENARIO [--duration S]`` (``make soak``) prints the figures.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path

from mom.sim.runner import RunResult, Simulation
from mom.sim.scenario import load_scenario

__all__ = ["SoakResult", "soak", "slope", "SOAK_SCENARIO"]

SOAK_SCENARIO = str(Path(__file__).resolve().parents[2] / "scenarios" / "soak-1000.toml")
#: the daemon's code: the mom package but its simulator, and but the controllers: the
#: values they create are handed to the (simulated) hypervisor, whose action log keeps
#: every one (68,000 balloon targets an hour here), and tracemalloc counts an object
#: where it was made, not where it is kept
_MOM = os.path.dirname(os.path.abspath(sys.modules["mom"].__file__ or "")) + os.sep
_NOT_DAEMON = (os.path.join(_MOM, "sim") + os.sep, os.path.join(_MOM, "plugins", "controllers") + os.sep)
_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class SoakResult:
    run: RunResult
    #: the share of the run left out of the slopes: the monitors' histories, the
    #: tables' columns and the first pressure's controls fill in it
    warm_up: float = 0.1
    hours: list[float] = field(default_factory=list)  #: simulated hours of each sample
    daemon_bytes: list[int] = field(default_factory=list)  #: traced to the daemon's code
    rss_bytes: list[int] = field(default_factory=list)

    @property
    def daemon_slope(self) -> float:
        """Bytes per simulated hour the daemon's memory grew by, after warm-up."""
        return slope(self.hours, self.daemon_bytes, self.warm_up)

    @property
    def rss_slope(self) -> float:
        return slope(self.hours, self.rss_bytes, self.warm_up)

    def report(self) -> str:
        run = self.run
        mib = 1 << 20
        return "\n".join(
            [
                f"simulated {self.hours[-1]:.1f} h, {len(self.hours)} memory samples, {run.elapsed:.0f} s wall clock",
                f"policy cycles {run.policy_cycles}, failed {run.policy_failures}; errors logged {sum(run.errors.values())}",
                f"daemon memory (tracemalloc): {self.daemon_bytes[0] / mib:.1f} MiB at start, "
                f"{max(self.daemon_bytes) / mib:.1f} MiB peak, {self.daemon_bytes[-1] / mib:.1f} MiB at end; "
                f"slope {self.daemon_slope / 1024:+.1f} KiB per simulated hour",
                f"process RSS (model and recording included): {self.rss_bytes[0] / mib:.0f} MiB at start, "
                f"{self.rss_bytes[-1] / mib:.0f} MiB at end; slope {self.rss_slope / mib:+.2f} MiB per simulated hour",
            ]
        )


def slope(xs: list[float], ys: list[int], warm_up: float = 0.1) -> float:
    """Least-squares slope of ``ys`` over ``xs``, leaving out the first ``warm_up`` of them."""
    start = int(len(xs) * warm_up)
    xs, ys = xs[start:], ys[start:]
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    spread = sum((x - mean_x) ** 2 for x in xs)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / spread if spread else 0.0


def _daemon_bytes() -> int:
    total = 0
    for stat in tracemalloc.take_snapshot().statistics("filename"):
        name = stat.traceback[0].filename
        if name.startswith(_MOM) and not name.startswith(_NOT_DAEMON):
            total += stat.size
    return total


def _rss() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * _PAGE


def soak(
    scenario_path: str = SOAK_SCENARIO, duration: float | None = None, samples: int = 40, warm_up: float = 0.1
) -> SoakResult:
    """Run the scenario (for ``duration`` simulated seconds) with invariants checked every tick."""
    scenario = load_scenario(scenario_path)
    if duration is not None:
        scenario = scenario.replace(duration=duration)
    simulation = Simulation(scenario, check=True)
    result = SoakResult(run=None, warm_up=warm_up)  # type: ignore[arg-type]
    every = max(1, 200 // samples)
    calls = 0

    def sample(tick: int, ticks: int) -> None:
        nonlocal calls
        calls += 1
        if calls % every == 0 or tick == ticks:
            result.hours.append(tick * scenario.tick / 3600)
            result.daemon_bytes.append(_daemon_bytes())
            result.rss_bytes.append(_rss())

    tracemalloc.start(1)
    try:
        result.run = simulation.run(sample)
    finally:
        tracemalloc.stop()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.soak.soak", description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default=SOAK_SCENARIO)
    parser.add_argument("--duration", type=float, default=None, help="simulated seconds (default: the scenario's)")
    parser.add_argument("--samples", type=int, default=48)
    args = parser.parse_args(argv)
    started = time.monotonic()
    result = soak(args.scenario, args.duration, args.samples)
    print(result.report())
    print(f"({time.monotonic() - started:.0f} s in all)")
    failed = result.run.policy_failures or sum(result.run.errors.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
