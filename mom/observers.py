"""What watches the daemon's loop: the observer hooks of the policy engine and the controllers.

:class:`TickObserver` declares every hook with a no-op default; an observer (the
Prometheus metrics, an audit log, a timing probe) overrides the ones it needs and is
added to the daemon's :class:`Observers` (``DaemonParts.observers``), which the policy
engine and every controller call.  One tick, as the engine runs it
(:meth:`~mom.runtime.engine.PolicyEngine.do_controls`)::

    tick_started(tick)
    phase_finished(tick, "collect", s)      the samples read into the entities
    policy_evaluated(tick, host, guests, ok)
    phase_finished(tick, "policy", s)
    ... per controller: hypervisor_called(method, s, error), control_applied(...),
        controller_failed(...)
    phase_finished(tick, "controls", s)
    tick_finished(tick, outcome, s)         outcome: "ok", "failed" or "skipped"

and, on the guest manager's thread, once per collection round:
``collection_finished(s, guests, batched)``.

A tick that is skipped (host not ready) or whose policy failed ends after its last
phase with that outcome.  Hooks run on the engine's thread, in the tick: keep them
short.  An observer that raises is logged and the tick goes on.  This module imports
nothing of the daemon, so controllers and plugins may use it.
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = [
    "TickObserver",
    "Observers",
    "PHASES",
    "PHASE_COLLECT",
    "PHASE_POLICY",
    "PHASE_CONTROLS",
    "OUTCOMES",
    "OUTCOME_OK",
    "OUTCOME_FAILED",
    "OUTCOME_SKIPPED",
]

log = logging.getLogger("mom.Observers")

#: the phases of a tick, in order: the latest samples read into the entities the policy
#: sees; the policy evaluated; the controllers run
PHASE_COLLECT = "collect"
PHASE_POLICY = "policy"
PHASE_CONTROLS = "controls"
PHASES = (PHASE_COLLECT, PHASE_POLICY, PHASE_CONTROLS)

#: how a tick ended: the controllers ran; the policy failed (no controller ran); the
#: host was not ready (nothing evaluated)
OUTCOME_OK = "ok"
OUTCOME_FAILED = "failed"
OUTCOME_SKIPPED = "skipped"
OUTCOMES = (OUTCOME_OK, OUTCOME_FAILED, OUTCOME_SKIPPED)


class TickObserver:
    """Every hook, each a no-op: subclass and override what you watch.

    Durations are ``time.perf_counter()`` differences, in seconds.
    """

    def tick_started(self, tick: int) -> None:
        """Tick number ``tick`` (1, 2, ... per engine) begins."""

    def phase_finished(self, tick: int, phase: str, seconds: float) -> None:
        """One of :data:`PHASES` of the tick took ``seconds``."""

    def policy_evaluated(self, tick: int, host: Any, guests: Any, ok: bool) -> None:
        """The policy ran on ``host`` and ``guests`` (their controls are set when ``ok``).

        Called with the sample tables locked, before the controllers run.
        """

    def tick_finished(self, tick: int, outcome: str, seconds: float) -> None:
        """The tick ended with one of :data:`OUTCOMES` after ``seconds`` in all."""

    def collection_finished(self, seconds: float, guests: int, batched: bool) -> None:
        """The guest manager collected ``guests`` guests in ``seconds`` (its own thread,
        between ticks); ``batched``: in one batched round (mom.runtime.batch)."""

    def hypervisor_called(self, method: str, seconds: float, error: BaseException | None) -> None:
        """A controller called the hypervisor interface's ``method`` (``setVmBalloonTarget``...);
        ``error`` is what it raised, or None."""

    def control_applied(self, controller: str, guest: str | None, control: str, value: Any) -> None:
        """``controller`` applied the policy's ``control`` = ``value`` to ``guest`` (its
        name; None for the host): the hypervisor call that does it succeeded."""

    def controller_failed(self, controller: str, guest: str | None, error: BaseException) -> None:
        """``controller`` raised ``error`` for ``guest`` (None: in ``process`` itself, or for the host)."""


class Observers(TickObserver):
    """The daemon's observers: each hook calls every added observer in turn.

    False while empty, so that a hot path can skip its timing when nobody watches.
    """

    def __init__(self, *observers: TickObserver) -> None:
        self._observers: list[TickObserver] = list(observers)
        self._failed: set[tuple[int, str]] = set()

    def add(self, observer: TickObserver) -> None:
        self._observers.append(observer)

    def remove(self, observer: TickObserver) -> None:
        self._observers.remove(observer)

    def __bool__(self) -> bool:
        return bool(self._observers)

    def __len__(self) -> int:
        return len(self._observers)

    def _call(self, hook: str, *args: Any) -> None:
        for observer in self._observers:
            try:
                getattr(observer, hook)(*args)
            except Exception:
                # an observer must never break the tick: the traceback once per
                # (observer, hook), then silence
                key = (id(observer), hook)
                if key not in self._failed:
                    self._failed.add(key)
                    log.exception("observer %s failed in %s; ignored", type(observer).__name__, hook)

    def tick_started(self, tick: int) -> None:
        self._call("tick_started", tick)

    def phase_finished(self, tick: int, phase: str, seconds: float) -> None:
        self._call("phase_finished", tick, phase, seconds)

    def policy_evaluated(self, tick: int, host: Any, guests: Any, ok: bool) -> None:
        self._call("policy_evaluated", tick, host, guests, ok)

    def tick_finished(self, tick: int, outcome: str, seconds: float) -> None:
        self._call("tick_finished", tick, outcome, seconds)

    def collection_finished(self, seconds: float, guests: int, batched: bool) -> None:
        self._call("collection_finished", seconds, guests, batched)

    def find(self, kind: type) -> Any:
        """The first added observer of class ``kind``, or None."""
        return next((observer for observer in self._observers if isinstance(observer, kind)), None)

    def hypervisor_called(self, method: str, seconds: float, error: BaseException | None) -> None:
        self._call("hypervisor_called", method, seconds, error)

    def control_applied(self, controller: str, guest: str | None, control: str, value: Any) -> None:
        self._call("control_applied", controller, guest, control, value)

    def controller_failed(self, controller: str, guest: str | None, error: BaseException) -> None:
        self._call("controller_failed", controller, guest, error)
