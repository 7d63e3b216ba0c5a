"""Where a tick's time goes: an observer that keeps the figures ``getStatistics()`` and
``momctl stats`` show (``getStatistics()['mom']['timings']``).

Per tick (the policy engine's ``do_controls``) and per phase of it (collect: the samples
read into the entities; policy; controls), and per collection round of the guest
manager: how many, the last, the mean and the longest, in seconds.  Per hypervisor
method the controllers call: calls and seconds in all.  Prometheus has the same
figures as histograms (:mod:`mom.metrics`); these need no prometheus-client.
"""

from __future__ import annotations

import threading
from typing import Any

from mom.observers import PHASES, TickObserver

__all__ = ["TickTimings"]


class _Durations:
    """Count, last, total and longest of a series of durations."""

    __slots__ = ("count", "last", "total", "longest")

    def __init__(self) -> None:
        self.count = 0
        self.last = self.total = self.longest = 0.0

    def add(self, seconds: float) -> None:
        self.count += 1
        self.last = seconds
        self.total += seconds
        if seconds > self.longest:
            self.longest = seconds

    def summary(self) -> dict[str, Any]:
        mean = self.total / self.count if self.count else 0.0
        return {"count": self.count, "last": self.last, "mean": mean, "max": self.longest}


class TickTimings(TickObserver):
    """The daemon's own timing figures (one per MOM instance, among its observers)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # the engine and the guest manager report on their threads
        self.tick = _Durations()
        self.phases = {phase: _Durations() for phase in PHASES}
        self.rounds = _Durations()
        self.round_guests = 0
        self.round_batched = False
        #: method -> [calls, seconds]
        self.calls: dict[str, list[Any]] = {}

    def phase_finished(self, tick: int, phase: str, seconds: float) -> None:
        with self._lock:
            durations = self.phases.get(phase)
            if durations is None:
                durations = self.phases[phase] = _Durations()
            durations.add(seconds)

    def tick_finished(self, tick: int, outcome: str, seconds: float) -> None:
        with self._lock:
            self.tick.add(seconds)

    def collection_finished(self, seconds: float, guests: int, batched: bool) -> None:
        with self._lock:
            self.rounds.add(seconds)
            self.round_guests = guests
            self.round_batched = batched

    def hypervisor_called(self, method: str, seconds: float, error: BaseException | None) -> None:
        with self._lock:
            figures = self.calls.get(method)
            if figures is None:
                figures = self.calls[method] = [0, 0.0]
            figures[0] += 1
            figures[1] += seconds

    def summary(self) -> dict[str, Any]:
        """The figures, as plain dicts (seconds)."""
        with self._lock:
            return {
                "tick": self.tick.summary(),
                "phases": {phase: durations.summary() for phase, durations in self.phases.items()},
                "collection_round": {
                    **self.rounds.summary(),
                    "guests": self.round_guests,
                    "batched": self.round_batched,
                },
                "hypervisor_calls": {
                    method: {"calls": calls, "seconds": seconds} for method, (calls, seconds) in sorted(self.calls.items())
                },
            }
