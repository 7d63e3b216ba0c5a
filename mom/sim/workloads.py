"""Workloads: the anonymous memory each guest's applications want, tick by tick (KiB).

One vector operation per term for all guests at once; the kinds (steady, bursty,
growing, idle: :data:`mom.sim.scenario.WORKLOADS`) are only presets of the same terms:

- a working set, ``level`` of the guest's memory, scaled by its group's load curve;
- a mean-reverting random walk of size ``noise`` (a 10-minute time constant);
- bursts arriving at ``burst_rate`` per hour, each ``burst_level`` of memory (50-100 %),
  filled within a minute and freed at once when it ends (mean ``burst_duration``);
- growth of ``growth`` of memory per hour, reset by a restart (``restart_rate`` per hour).

When a guest's OOM killer strikes (:meth:`Workloads.kill`), what it kills frees its
memory and restarts small: the burst ends, growth starts again from nothing and the
walk restarts from below its mean.  So a kill is an event, not a state that lasts as
long as the demand that caused it (and as many ticks as fit in that time).

The random numbers come from one generator, drawn in a fixed order every tick, so a
seed gives the same demand bit for bit.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from mom.sim.scenario import GroupSpec, per_guest

__all__ = ["Workloads"]

#: the walk's time constant, seconds
WALK_TAU = 600.0
#: seconds a burst takes to reach its full size
BURST_RAMP = 60.0
#: demand bounds, fractions of the guest's memory (an OS and its daemons; never all of it)
LOWEST = 0.02
HIGHEST = 0.92


class Workloads:
    """Demand of every guest; :meth:`demand` advances it by one tick."""

    def __init__(self, groups: Sequence[GroupSpec], group_index: np.ndarray, rng: np.random.Generator) -> None:
        self.rng = rng
        self.group_index = group_index
        self.groups = tuple(groups)
        self.n = len(group_index)

        def column(attribute: str) -> np.ndarray:
            return per_guest(groups, group_index, attribute)

        self.memory = column("memory")
        self.level = column("level")
        self.noise = column("noise")
        self.burst_rate = column("burst_rate") / 3600.0  # per second
        self.burst_level = column("burst_level")
        self.burst_duration = column("burst_duration")
        self.growth = column("growth") / 3600.0  # fraction per second
        self.restart_rate = column("restart_rate") / 3600.0
        # state: each guest starts somewhere in its range, not all in step
        self.walk = self.noise * rng.standard_normal(self.n)
        self.grown = rng.random(self.n) * np.minimum(self.growth * 3600.0, HIGHEST - self.level)
        self.burst_left = np.zeros(self.n)  # seconds left of the current burst
        self.burst_size = np.zeros(self.n)  # fraction of memory
        self.burst_fill = np.zeros(self.n)  # 0..1: how much of it is allocated yet
        self._load_points = [
            (np.array([p[0] for p in group.load]), np.array([p[1] for p in group.load])) for group in groups
        ]

    def load(self, t: float) -> np.ndarray:
        """Each group's load factor at time ``t`` (linear between the points, flat outside)."""
        return np.array([float(np.interp(t, xs, ys)) for xs, ys in self._load_points])

    def kill(self, killed: np.ndarray) -> None:
        """The OOM killer struck in the ``killed`` guests (a mask): what it killed is gone.

        It kills the biggest processes; the model frees them all at once: the burst job
        ends, the grown process restarts from nothing, and the working set's services
        restart smaller (the walk starts again one ``noise`` below its mean, or stays
        where it is if lower).  The working set's ``level`` stays.
        """
        self.burst_left[killed] = 0.0
        self.burst_fill[killed] = 0.0
        self.grown[killed] = 0.0
        self.walk[killed] = np.minimum(self.walk[killed], -self.noise[killed])

    def demand(self, t: float, dt: float) -> np.ndarray:
        """Advance to time ``t`` by ``dt`` seconds; the guests' wanted anonymous memory, KiB (int64)."""
        n, rng = self.n, self.rng
        # fixed draw order: the same seed gives the same run
        normal = rng.standard_normal(n)
        uniform = rng.random((4, n))
        load = self.load(t)[self.group_index]

        decay = math.exp(-dt / WALK_TAU)
        self.walk = self.walk * decay + self.noise * math.sqrt(1.0 - decay * decay) * normal

        # bursts: end, start (only when none is running), fill up
        running = self.burst_left > 0
        self.burst_left = np.where(running, self.burst_left - dt, 0.0)
        ended = running & (self.burst_left <= 0)
        self.burst_fill[ended] = 0.0
        starts = (~running | ended) & (uniform[0] < self.burst_rate * dt * load)
        if starts.any():
            self.burst_left[starts] = -self.burst_duration[starts] * np.log1p(-uniform[1][starts])
            self.burst_size[starts] = self.burst_level[starts] * (0.5 + 0.5 * uniform[2][starts])
            self.burst_fill[starts] = 0.0
        active = self.burst_left > 0
        self.burst_fill = np.where(active, np.minimum(1.0, self.burst_fill + dt / BURST_RAMP), 0.0)

        # growth until a restart gives the memory back
        self.grown = self.grown + self.growth * dt * load
        restarted = uniform[3] < self.restart_rate * dt
        self.grown[restarted] = 0.0

        fraction = self.level * load + self.walk + self.burst_size * self.burst_fill + self.grown
        fraction = np.clip(fraction, LOWEST, HIGHEST)
        return np.floor(fraction * self.memory).astype(np.int64)
