"""The controller's own worker: one action at a time, off the policy thread, with a timeout.

A slow shutdown or migration never blocks the policy loop: :meth:`Worker.submit` returns
at once.  The action runs on a daemon thread; a supervisor waits for it at most
``timeout`` seconds, then reports ``timed-out`` (the action is asked to give up through
its ``on_timeout``, e.g. an aborted migration job) and the worker stays busy until the
action's thread really ends, so actions never pile up behind a hung hypervisor call.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

__all__ = ["Worker", "InlineWorker", "Outcome"]

#: what an action's function returns: (result, detail), result "done" or "failed"
Outcome = tuple[str, str]


class Worker:
    """Runs one action at a time (``name`` names its threads)."""

    def __init__(self, name: str, logger: logging.Logger | None = None) -> None:
        self.name = name
        self.logger = logger or logging.getLogger("mom.Lifecycle")
        self.lock = threading.Lock()
        self._busy = False
        self._what = ""
        self._idle = threading.Event()
        self._idle.set()

    @property
    def busy(self) -> bool:
        with self.lock:
            return self._busy

    @property
    def what(self) -> str:
        """What it runs now ('' when idle)."""
        with self.lock:
            return self._what if self._busy else ""

    def submit(
        self,
        what: str,
        action: Callable[[], Outcome],
        timeout: float,
        report: Callable[[str, str], None],
        on_timeout: Callable[[], None] | None = None,
    ) -> bool:
        """Start ``action`` unless busy (False); ``report(result, detail)`` once it ends or times out."""
        with self.lock:
            if self._busy:
                return False
            self._busy = True
            self._what = what
            self._idle.clear()
        outcome: list[Outcome] = []

        def run() -> None:
            try:
                outcome.append(action())
            except Exception as error:  # a failed action is audited, the daemon goes on
                self.logger.debug("%s failed", what, exc_info=True)
                outcome.append(("failed", f"{type(error).__name__}: {error}"))

        def supervise() -> None:
            thread = threading.Thread(target=run, name=f"{self.name}-action", daemon=True)
            thread.start()
            thread.join(timeout)
            try:
                if thread.is_alive():
                    if on_timeout is not None:
                        try:
                            on_timeout()
                        except Exception as error:
                            self.logger.error("%s: giving up after %s s failed: %s", what, timeout, error)
                    report("timed-out", f"no answer after {timeout:g} s")
                    thread.join()  # busy until the hypervisor's call returns
                else:
                    result, detail = outcome[0]
                    report(result, detail)
            except Exception:
                self.logger.exception("%s: reporting its outcome failed", what)
            finally:
                with self.lock:
                    self._busy = False
                    self._what = ""
                self._idle.set()

        threading.Thread(target=supervise, name=self.name, daemon=True).start()
        return True

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no action runs (tests, shutdown)."""
        return self._idle.wait(timeout)


class InlineWorker(Worker):
    """A worker that runs each action at once on the caller's thread and reports before
    :meth:`submit` returns (no timeout: for hypervisors whose calls return at once, the
    simulator's, where a run must not depend on thread timing).  It stays :attr:`busy`
    for ``hold`` seconds of ``clock`` after an action, as long as the action would
    really take (a migration), so that "one at a time" still means something."""

    def __init__(
        self,
        name: str,
        logger: logging.Logger | None = None,
        clock: Callable[[], float] | None = None,
        hold: float = 0.0,
    ) -> None:
        super().__init__(name, logger)
        self.clock = clock
        self.hold = hold
        self._until = -float("inf")

    @property
    def busy(self) -> bool:
        with self.lock:
            if self._busy:
                return True
        return self.clock is not None and self.clock() < self._until

    def submit(
        self,
        what: str,
        action: Callable[[], Outcome],
        timeout: float,
        report: Callable[[str, str], None],
        on_timeout: Callable[[], None] | None = None,
    ) -> bool:
        if self.busy:
            return False
        with self.lock:
            if self._busy:
                return False
            self._busy = True
            self._what = what
        try:
            try:
                result, detail = action()
            except Exception as error:  # audited as failed, as the threaded worker does
                self.logger.debug("%s failed", what, exc_info=True)
                result, detail = "failed", f"{type(error).__name__}: {error}"
            report(result, detail)
        finally:
            with self.lock:
                self._busy = False
                self._what = ""
            if self.clock is not None:
                self._until = self.clock() + self.hold
        return True
