"""Stuck balloons: guests whose balloon makes no progress towards the target it was given.

:class:`StuckTracker` follows, per guest, the last target the Balloon controller set
and the guest's ``balloon_cur`` each cycle.  A guest whose balloon has not moved
towards an outstanding target for ``stuck_after`` seconds is *stuck* (a hung guest, a
driver that stopped answering or was unloaded): the controller stops pushing it, and
its memory counts as not reclaimable (:meth:`StuckTracker.stuck` is the set an
allocator leaves out).  After ``retry_after`` seconds one target is sent again; each
retry that brings no progress doubles the wait (up to :data:`MAX_BACKOFF_FACTOR`
times).  Any movement towards the target clears the mark.  Pure bookkeeping: the
caller passes the time, so the simulator's clock works as well as the wall clock.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["StuckTracker", "StuckEvent", "MAX_BACKOFF_FACTOR"]

#: a retry that fails doubles the back-off, up to this many times the first one
MAX_BACKOFF_FACTOR = 8


@dataclass
class _Balloon:
    target: int  #: the outstanding target, KiB
    last_size: int  #: balloon_cur at the previous look
    progress_at: float  #: when it last moved towards the target (or got it)
    stuck: bool = False
    retry_at: float = 0.0
    backoff: float = 0.0


@dataclass(frozen=True)
class StuckEvent:
    """A change of state to report: ``kind`` is ``"stuck"`` or ``"recovered"``."""

    guest: str
    kind: str
    target: int
    size: int
    seconds: float  #: without progress (stuck) or stuck for (recovered)


class StuckTracker:
    """Which guests' balloons are stuck; see the module docstring."""

    def __init__(self, stuck_after: float, retry_after: float, tolerance: int = 1024) -> None:
        self.stuck_after = stuck_after
        self.retry_after = retry_after
        #: KiB: a balloon this close to its target has reached it (drivers work in pages)
        self.tolerance = tolerance
        self._balloons: dict[str, _Balloon] = {}
        #: guest -> when it was marked stuck
        self._since: dict[str, float] = {}
        self.marked_total = 0  #: guests marked stuck, ever
        self.retries_total = 0  #: targets sent again to stuck guests

    def observe(self, guest: str, size: int, now: float) -> StuckEvent | None:
        """The guest's balloon is ``size`` KiB now; an event when its state changes."""
        balloon = self._balloons.get(guest)
        if balloon is None:
            return None
        distance = abs(balloon.target - size)
        moved = (size - balloon.last_size) * (1 if balloon.target > balloon.last_size else -1)
        balloon.last_size = size
        if distance <= self.tolerance or moved > self.tolerance:
            balloon.progress_at = now
            if distance <= self.tolerance:
                del self._balloons[guest]
            if balloon.stuck:
                balloon.stuck = False
                since = self._since.pop(guest, now)
                return StuckEvent(guest, "recovered", balloon.target, size, now - since)
            return None
        if not balloon.stuck and now - balloon.progress_at >= self.stuck_after:
            balloon.stuck = True
            balloon.backoff = self.retry_after
            balloon.retry_at = now + balloon.backoff
            self._since[guest] = now
            self.marked_total += 1
            return StuckEvent(guest, "stuck", balloon.target, size, now - balloon.progress_at)
        return None

    def watching(self, guest: str) -> bool:
        """Whether the guest has an outstanding target (its balloon is being followed)."""
        return guest in self._balloons

    def watched(self) -> list[str]:
        """The guests whose balloon is being followed (see :meth:`watching`)."""
        return list(self._balloons)

    def may_push(self, guest: str, now: float) -> bool:
        """Whether a new target may be sent to the guest now (False while stuck, until a retry)."""
        balloon = self._balloons.get(guest)
        if balloon is None or not balloon.stuck:
            return True
        return now >= balloon.retry_at

    def pushed(self, guest: str, target: int, size: int, now: float) -> None:
        """A target was sent; the clock of an idle balloon starts now."""
        balloon = self._balloons.get(guest)
        if balloon is None:
            if abs(target - size) <= self.tolerance:
                return
            self._balloons[guest] = _Balloon(target, size, now)
            return
        if balloon.stuck and now >= balloon.retry_at:
            # a retry; unless the balloon moves before it, the next one waits twice as long
            self.retries_total += 1
            balloon.backoff = min(balloon.backoff * 2, self.retry_after * MAX_BACKOFF_FACTOR)
            balloon.retry_at = now + balloon.backoff
        balloon.target = target
        balloon.last_size = size

    def forget(self, keep: set[str]) -> None:
        """Drop the guests not in ``keep`` (gone)."""
        for guest in [g for g in self._balloons if g not in keep]:
            del self._balloons[guest]
            self._since.pop(guest, None)

    def stuck(self) -> frozenset[str]:
        """The guests marked stuck now."""
        return frozenset(guest for guest, balloon in self._balloons.items() if balloon.stuck)
