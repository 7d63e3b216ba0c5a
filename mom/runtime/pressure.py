"""React between ticks: a PSI trigger on host memory stall wakes the policy engine at once.

:class:`PressureWatcher` (thread ``PressureWatcher``) holds one trigger on
``/proc/pressure/memory`` (``[main] pressure-stall-us`` within ``pressure-window-us``,
see :mod:`mom.plugins.psi`) and sets the engine's *wake* event when it fires; the
engine (:class:`~mom.runtime.threads.PeriodicThread` with ``wake``) then runs one
extra cycle and keeps its regular interval.  A burst is coalesced: at most one wake
per :data:`MIN_GAP` seconds, a trigger within the gap wakes once at its end.  A kernel
without PSI (or that refuses the trigger) is reported once, and the intervals stay.
"""

from __future__ import annotations

import logging
import os
import select
import threading
import time
from typing import Callable

from mom.plugins.psi import PSI_MEMORY, open_trigger

__all__ = ["PressureWatcher", "MIN_GAP"]

#: seconds: at most one extra policy cycle this often
MIN_GAP = 1.0
#: milliseconds between looks at the stop event while no trigger fires
_POLL_MS = 250


class PressureWatcher(threading.Thread):
    """Sets ``wake`` when the kernel reports memory stall; ends (setting ``wake``) when ``stop`` is set."""

    def __init__(
        self,
        wake: threading.Event,
        stop: threading.Event,
        stall_us: int,
        window_us: int,
        *,
        path: str = PSI_MEMORY,
        min_gap: float = MIN_GAP,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(name="PressureWatcher", daemon=True)
        self.wake = wake
        self.stop = stop
        self.stall_us = stall_us
        self.window_us = window_us
        self.path = path
        self.min_gap = min_gap
        self.clock = clock
        self.logger = logging.getLogger("mom.PressureWatcher")
        self.fd: int | None = None
        self.triggers = 0  #: POLLPRI events the kernel sent
        self.wakeups = 0  #: times the engine was woken (bursts coalesced)
        #: monotonic time of each wake-up, the latest last (a few, for tests and the benchmark)
        self.woken_at: list[float] = []

    def arm(self) -> bool:
        """Set the trigger; False (said once, at INFO) when this kernel cannot."""
        try:
            self.fd = open_trigger(self.stall_us, self.window_us, self.path)
        except OSError as error:
            self.logger.info(
                "No memory pressure trigger on %s (%s): the policy engine keeps its intervals",
                self.path,
                error.strerror or error,
            )
            return False
        self.logger.info(
            "Memory pressure trigger: a stall of %d us within %d us wakes the policy engine",
            self.stall_us,
            self.window_us,
        )
        return True

    def close(self) -> None:
        """Drop the trigger of a watcher that was armed but never started."""
        if self.fd is not None and self.ident is None:
            os.close(self.fd)
            self.fd = None

    def run(self) -> None:
        fd = self.fd
        if fd is None:
            return
        poller = select.poll()
        poller.register(fd, select.POLLPRI)
        last = -float("inf")
        pending = False
        try:
            while not self.stop.is_set():
                timeout = _POLL_MS
                if pending:
                    timeout = min(timeout, max(0, int((last + self.min_gap - self.clock()) * 1000) + 1))
                for _, events in poller.poll(timeout):
                    if events & (select.POLLERR | select.POLLNVAL):
                        # the monitored cgroup went away, or the descriptor broke
                        self.logger.warning("Memory pressure trigger lost; the policy engine keeps its intervals")
                        return
                    if events & select.POLLPRI:
                        self.triggers += 1
                        pending = True
                now = self.clock()
                if pending and now - last >= self.min_gap:
                    pending = False
                    last = now
                    self.wakeups += 1
                    self.woken_at = self.woken_at[-9:] + [now]
                    self.logger.debug("Memory stall: waking the policy engine")
                    self.wake.set()
        finally:
            os.close(fd)
            self.fd = None
            self.wake.set()  # an engine waiting on wake notices the stop (or the loss) at once
