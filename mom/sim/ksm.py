"""Kernel samepage merging: the knobs of /sys/kernel/mm/ksm, scanning, savings, CPU cost.

While ``run`` is 1, ksmd wakes every ``sleep_millisecs`` and scans ``pages_to_scan``
pages, each costing ``page_cost_us`` of CPU, so it scans
``pages_to_scan / (sleep + pages_to_scan * cost)`` pages a second and uses that share of
one CPU.  A full scan covers every guest page.  A page is merged only once it was seen
unchanged by an earlier scan (the unstable tree), so nothing merges during the first full
scan after KSM starts, and then the savings close in on what is mergeable by the same
fraction with every full scan.  Guests writing to merged pages break them again (copy
on write, ``churn`` per hour for a fully active guest), which needs memory; so does
``run = 2``, which splits every merged page at ``unmerge_rate``.  ``run = 0`` stops
scanning and keeps what is merged.

Savings are KiB: ``pages_sharing`` is ``saved / 4``; ``pages_shared`` (the kept copies)
is ``pages_sharing / (sharers - 1)``.
"""

from __future__ import annotations

import math
from typing import Mapping

from mom.sim.scenario import KsmSpec

__all__ = ["Ksm", "KSM_KNOBS"]

PAGE = 4
#: the writable knobs, as ``ksmTune`` names them
KSM_KNOBS = ("run", "pages_to_scan", "sleep_millisecs", "merge_across_nodes")


class KsmBusy(Exception):
    """A knob the kernel refuses to change now (EBUSY: merge_across_nodes with merged pages)."""


class Ksm:
    """The KSM state of the simulated host."""

    def __init__(self, spec: KsmSpec) -> None:
        self.spec = spec
        self.run = int(spec.run)
        self.pages_to_scan = int(spec.pages_to_scan)
        self.sleep_millisecs = int(spec.sleep_millisecs)
        self.merge_across_nodes = 1
        self.saved = 0  # KiB
        self.full_scans = 0
        self.scans_since_start = 0
        self.scan_position = 0.0  # pages into the current full scan
        self.cpu_percent = 0.0  # of one CPU, this tick
        self.cpu_seconds = 0.0
        self.candidates = 0  # KiB scanned by a full scan

    # ## Knobs

    def tune(self, values: Mapping[str, int]) -> None:
        """Write knobs as /sys/kernel/mm/ksm does: KeyError, ValueError or KsmBusy if refused."""
        for key in values:
            if key not in KSM_KNOBS:
                raise KeyError(key)
        for key in ("merge_across_nodes", "pages_to_scan", "sleep_millisecs", "run"):
            if key not in values:
                continue
            value = int(values[key])
            if value < 0 or (key == "run" and value > 2) or (key == "merge_across_nodes" and value > 1):
                raise ValueError(f"{key}: {value}")
            if key == "merge_across_nodes" and value != self.merge_across_nodes and self.pages_shared() > 0:
                raise KsmBusy(key)
            if key == "run" and value == 1 and self.run != 1:
                self.scans_since_start = 0  # a fresh unstable tree
                self.scan_position = 0.0
            setattr(self, key, value)

    # ## Dynamics

    def scan_rate(self) -> float:
        """Pages scanned per second while running."""
        if self.run != 1 or self.pages_to_scan <= 0:
            return 0.0
        busy = self.pages_to_scan * self.spec.page_cost_us * 1e-6
        return self.pages_to_scan / (self.sleep_millisecs * 1e-3 + busy)

    def step(self, dt: float, candidates: int, potential: int, activity: float) -> int:
        """Advance by ``dt`` seconds; the savings wanted now (KiB).

        ``candidates``: KiB of guest memory to scan; ``potential``: the most that merging
        everything mergeable would save; ``activity``: 0..1, how busy the guests are.
        The caller frees or finds the difference and calls :meth:`settle`.
        """
        self.candidates = candidates
        rate = self.scan_rate()
        if rate > 0:
            busy = self.pages_to_scan * self.spec.page_cost_us * 1e-6
            self.cpu_percent = 100.0 * busy / (self.sleep_millisecs * 1e-3 + busy)
        else:
            self.cpu_percent = 0.0
        self.cpu_seconds += self.cpu_percent / 100.0 * dt
        saved = float(self.saved)
        if rate > 0 and candidates > 0:
            pages = candidates / PAGE
            position = self.scan_position + rate * dt
            completed = int(position // pages)
            self.scan_position = position - completed * pages
            self.full_scans += completed
            merging = self.scans_since_start >= 1 or completed >= 1
            self.scans_since_start += completed
            if merging and potential > saved:
                scanned_kib = rate * dt * PAGE
                saved += (potential - saved) * (1.0 - math.exp(-scanned_kib / candidates))
        # writes break merged pages; run = 2 splits them all
        saved -= saved * (1.0 - math.exp(-self.spec.churn / 3600.0 * activity * dt))
        if self.run == 2:
            saved -= min(saved, self.spec.unmerge_rate * dt)
        return max(0, min(int(potential), int(saved)))

    def settle(self, saved: int) -> None:
        self.saved = saved

    # ## Views (the sysfs files, pages)

    def pages_sharing(self) -> int:
        return self.saved // PAGE

    def pages_shared(self) -> int:
        return int(self.pages_sharing() / (self.spec.sharers - 1.0))

    def pages_volatile(self) -> int:
        return int(self.candidates * self.spec.volatile) // PAGE if self.run == 1 else 0

    def pages_unshared(self) -> int:
        if self.scans_since_start < 1 and self.run == 1:
            seen = self.scan_position * PAGE
        else:
            seen = float(self.candidates) if self.full_scans else 0.0
        merged = self.saved + self.pages_shared() * PAGE
        return max(0, int(seen * (1.0 - self.spec.volatile)) - merged) // PAGE

    def check(self, potential: int) -> list[str]:
        problems = []
        if not 0 <= self.saved <= potential:
            problems.append(f"ksm: savings {self.saved} KiB outside 0..{potential}")
        if self.pages_shared() > self.pages_sharing():
            problems.append("ksm: more pages shared than sharing")
        return problems
