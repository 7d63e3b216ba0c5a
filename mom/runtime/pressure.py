"""React between ticks: a PSI trigger on host memory stall wakes the policy engine at once.

:class:`PressureWatcher` (thread ``PressureWatcher``) holds one trigger on
``/proc/pressure/memory`` (``[main] pressure-stall-us`` within ``pressure-window-us``,
see :mod:`mom.plugins.psi`) and sets the engine's *wake* event when it fires; the
engine (:class:`~mom.runtime.threads.PeriodicThread` with ``wake``) then runs one
extra cycle and keeps its regular interval.  A burst is coalesced: at most one wake
per :data:`MIN_GAP` seconds, a trigger within the gap wakes once at its end.  A kernel
without PSI (or that refuses the trigger) is reported once, and the intervals stay.

The kernel's trigger alone can fire late: on this project's test machine it fired 1.2 s
after 50 ms of stall had accumulated within the window, and 9 s after 150 ms had.  So the
watcher also reads the stall total (``some total=``) every :data:`SAMPLE_PERIOD` seconds
and wakes the engine itself when it grew by ``stall_us`` within the last window
(:class:`StallSampler`): the same condition, seen within a tenth of a second, for one
read of a small /proc file ten times a second (one descriptor kept, one ``pread`` each).
"""

from __future__ import annotations

import logging
import os
import select
import threading
import time
from collections import deque
from typing import Callable

from mom.plugins.psi import PSI_MEMORY, open_total, open_trigger, read_some_total

__all__ = ["PressureWatcher", "StallSampler", "MIN_GAP", "SAMPLE_PERIOD"]

#: seconds: at most one extra policy cycle this often
MIN_GAP = 1.0
#: milliseconds between looks at the stop event while no trigger fires
_POLL_MS = 250
#: seconds between reads of the stall total (see the module's docstring)
SAMPLE_PERIOD = 0.1


class StallSampler:
    """The trigger's condition from successive readings of the stall total: did it grow
    by ``stall_us`` within the last ``window_us``?  After it did, the count starts again
    (as the kernel's trigger, which fires once per stall of that size)."""

    def __init__(self, stall_us: int, window_us: int) -> None:
        self.stall_us = stall_us
        self.window = window_us / 1e6
        #: (seconds, total µs), the oldest within the window first
        self.samples: deque[tuple[float, int]] = deque()

    def observe(self, now: float, total: int) -> bool:
        samples = self.samples
        samples.append((now, total))
        while now - samples[0][0] > self.window:
            samples.popleft()
        if total - samples[0][1] < self.stall_us:
            return False
        samples.clear()
        samples.append((now, total))
        return True


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
        sample_period: float | None = SAMPLE_PERIOD,
    ) -> None:
        """``sample_period`` None: the kernel's trigger only (no reads of the total)."""
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
        #: read-only descriptor of ``path`` for the stall total, opened at the first reading
        self.total_fd: int | None = None
        self.sample_period = sample_period
        self.triggers = 0  #: POLLPRI events the kernel sent
        self.readings = 0  #: readings of the stall total
        self.sampled = 0  #: stalls seen in the total before (or without) the kernel's trigger
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
        sampler = StallSampler(self.stall_us, self.window_us) if self.sample_period else None
        next_sample = self.clock()
        try:
            while not self.stop.is_set():
                timeout = _POLL_MS
                if pending:
                    timeout = min(timeout, max(0, int((last + self.min_gap - self.clock()) * 1000) + 1))
                if sampler is not None:
                    timeout = min(timeout, max(0, int((next_sample - self.clock()) * 1000) + 1))
                for _, events in poller.poll(timeout):
                    if events & (select.POLLERR | select.POLLNVAL):
                        # the monitored cgroup went away, or the descriptor broke
                        self.logger.warning("Memory pressure trigger lost; the policy engine keeps its intervals")
                        return
                    if events & select.POLLPRI:
                        self.triggers += 1
                        pending = True
                now = self.clock()
                if sampler is not None and self.sample_period and now >= next_sample:
                    next_sample = now + self.sample_period
                    seen = self._sample(sampler, now)
                    if seen is None:
                        sampler = None
                    elif seen and not pending:
                        self.sampled += 1
                        pending = True
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
            if self.total_fd is not None:
                os.close(self.total_fd)
                self.total_fd = None
            self.wake.set()  # an engine waiting on wake notices the stop (or the loss) at once

    def _sample(self, sampler: StallSampler, now: float) -> bool | None:
        """One reading of the stall total: did it reach the threshold?  None: the file
        cannot be read (the kernel's trigger only from now on)."""
        try:
            if self.total_fd is None:
                self.total_fd = open_total(self.path)
            total = read_some_total(self.total_fd)
        except OSError as error:
            self.logger.debug("Memory stall total unreadable (%s): the kernel's trigger only", error)
            return None
        except ValueError:
            return False  # not a pressure file's text this time: the next reading
        self.readings += 1
        return sampler.observe(now, total)
