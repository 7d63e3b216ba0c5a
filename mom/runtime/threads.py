"""A periodic worker thread: ``while not stop.wait(interval): step()``, errors isolated.

Every daemon thread shares one :class:`threading.Event`; setting it (the signal
handler, ``MOM.shutdown()``) wakes them all at once, so shutdown never waits out an
interval.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

__all__ = ["PeriodicThread", "RunsPeriodically"]


class PeriodicThread(threading.Thread):
    """Calls ``step()`` every ``interval`` seconds until ``stop`` is set.

    An exception in ``step`` is logged and the loop goes on.  With ``immediate`` the
    first step runs at once instead of one interval after start.  With ``wake``, setting
    that event runs one extra step at once (the regular ones keep their schedule); whoever
    sets it must also set it when ``stop`` is set (see :mod:`mom.runtime.pressure`).
    """

    def __init__(
        self,
        name: str,
        interval: float,
        stop: threading.Event,
        step: Callable[[], object],
        *,
        immediate: bool = False,
        logger: logging.Logger | None = None,
        wake: threading.Event | None = None,
    ) -> None:
        super().__init__(name=name, daemon=True)
        self.interval = interval
        self.stop = stop
        self.step = step
        self.immediate = immediate
        self.logger = logger or logging.getLogger("mom")
        self.wake = wake
        self.early_steps = 0  #: steps run because ``wake`` was set

    def run(self) -> None:
        if self.immediate and not self.stop.is_set():
            self._step()
        if self.wake is None:
            while not self.stop.wait(self.interval):
                self._step()
        else:
            self._run_wakeable(self.wake)
        self.logger.debug("%s ending", self.name)

    def _run_wakeable(self, wake: threading.Event) -> None:
        due = time.monotonic() + self.interval
        while not self.stop.is_set():
            woken = wake.wait(max(0.0, due - time.monotonic()))
            if self.stop.is_set():
                break
            if woken:
                wake.clear()
                self.early_steps += 1
                self._step()
            else:
                self._step()
                due = time.monotonic() + self.interval

    def _step(self) -> None:
        try:
            self.step()
        except Exception:
            self.logger.exception("%s: unexpected error; continuing", self.name)


class RunsPeriodically:
    """The thread interface (``start``, ``is_alive``, ``join``) of a daemon part whose
    work runs in its :class:`PeriodicThread`, ``self.thread``: upstream's monitors and
    policy engine were threads themselves, and callers still treat them so."""

    thread: PeriodicThread

    def start(self) -> None:
        self.thread.start()

    def is_alive(self) -> bool:
        return self.thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        if self.thread.ident is not None:  # never started: nothing to wait for
            self.thread.join(timeout)
