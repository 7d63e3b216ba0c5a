"""Balloon drivers: each guest's size follows the target the host set, with lag.

A driver reacts ``lag`` seconds after a new target (the request travels through
QEMU to the guest, which wakes its driver), then moves at ``rate`` KiB per second
(giving memory back, deflating, goes twice as fast as taking it).  It never overshoots
the target, never goes past the boot size, and cannot take more than the guest can
give (its kernel and what its swap cannot hold).  Some drivers get stuck, as real ones
do (a hung guest, a driver that stopped answering): from ``stuck_at`` on they keep
their size whatever the target.
"""

from __future__ import annotations

import numpy as np

__all__ = ["BalloonDrivers"]

#: deflating is this much faster than inflating
DEFLATE_SPEEDUP = 2.0


class BalloonDrivers:
    """Sizes (``actual``, KiB) and targets of every guest's balloon."""

    def __init__(
        self,
        maximum: np.ndarray,
        minimum: np.ndarray,
        rate: np.ndarray,
        lag: np.ndarray,
        stuck_at: np.ndarray,
    ) -> None:
        self.maximum = maximum.astype(np.int64)
        self.minimum = minimum.astype(np.int64)
        self.rate = rate.astype(np.float64)
        self.lag = lag.astype(np.float64)
        self.stuck_at = stuck_at.astype(np.float64)
        n = len(maximum)
        self.actual = self.maximum.copy()
        self.target = self.maximum.copy()
        self.changed_at = np.full(n, -np.inf)
        #: the previous step, for the invariants
        self.previous = self.actual.copy()
        self.previous_target = self.target.copy()
        #: each guest's smallest size so far
        self.lowest_seen = self.actual.copy()

    def set_target(self, index: int, target: int, now: float) -> None:
        """The host asks guest ``index`` to have ``target`` KiB (checked by the caller)."""
        if self.target[index] != target:
            self.target[index] = target
            self.changed_at[index] = now

    def stuck(self, now: float) -> np.ndarray:
        return self.stuck_at <= now

    def step(self, now: float, dt: float, lowest: np.ndarray) -> np.ndarray:
        """Move every responsive driver towards its target; the new sizes."""
        self.previous = self.actual.copy()
        self.previous_target = self.target.copy()
        moving = (now - self.changed_at >= self.lag) & (self.stuck_at > now)
        delta = (self.target - self.actual).astype(np.float64)
        limit = self.rate * dt
        step = np.clip(delta, -limit, limit * DEFLATE_SPEEDUP)
        step = np.trunc(step).astype(np.int64)  # towards zero: never past the target
        new = np.where(moving, self.actual + step, self.actual)
        # a guest gives no more than it can (but a driver already below that stays put)
        new = np.where(new < self.actual, np.maximum(new, np.minimum(self.actual, lowest)), new)
        new = np.minimum(new, self.maximum)
        self.actual = new
        np.minimum(self.lowest_seen, new, out=self.lowest_seen)
        return new

    def check(self, now: float) -> list[str]:
        """Broken invariants, as messages."""
        problems = []
        low = np.minimum(self.previous, self.previous_target)
        high = np.maximum(self.previous, self.previous_target)
        if np.any((self.actual < low) | (self.actual > high)):
            problems.append("balloon: a driver moved away from its target or past it")
        if np.any(self.actual > self.maximum):
            problems.append("balloon: a guest above its boot memory")
        below = self.actual < self.minimum
        if np.any(below & (self.previous_target >= self.minimum) & (self.actual < self.previous)):
            problems.append("balloon: a guest went below its floor without a target below it")
        if np.any((self.stuck_at <= now) & (self.actual != self.previous)):
            problems.append("balloon: a stuck driver moved")
        return problems
