"""Inside each guest: its kernel, the applications' memory, its page cache and its swap (KiB).

A guest has ``actual`` KiB (its balloon size, ``balloon_cur``).  Its kernel keeps
``kernel`` of them; the applications' demand is resident up to what is left, the rest
is in the guest's swap; the page cache fills what is still free at ``cache_growth`` per
second (faster in busy guests), up to a fifth of the guest, and is dropped first when anything else needs the
memory (an inflating balloon, a growing application).  Demand beyond memory plus swap
meets the guest's OOM killer: the guest is ``out_of_memory`` this tick (the model then
tells the workload, which drops the killed process's memory), and each time a guest
runs out counts one kill in ``oom_kills``, however many ticks it stays out.

The guest's own view (libvirt memory stats): ``mem_available`` is its MemTotal, which
shrinks with the balloon; ``mem_unused`` its MemFree.
"""

from __future__ import annotations

import numpy as np

__all__ = ["GuestMemory", "kernel_size"]

#: page size, KiB (counters are in pages)
PAGE = 4
#: at most this fraction of the guest's memory is page cache
CACHE_SHARE = 0.2
#: memory the firmware keeps out of the guest's MemTotal, fraction of boot memory
FIRMWARE_SHARE = 0.01


def kernel_size(memory: np.ndarray) -> np.ndarray:
    """The guest kernel's own memory: 64 MiB plus 2 % (KiB)."""
    return (64 * 1024 + memory // 50).astype(np.int64)


class GuestMemory:
    """Every guest's inside; :meth:`update` follows a new balloon size and demand."""

    def __init__(
        self, memory: np.ndarray, swap: np.ndarray, activity: np.ndarray, demand: np.ndarray, actual: np.ndarray
    ) -> None:
        self.memory = memory.astype(np.int64)
        self.swap_size = swap.astype(np.int64)
        self.kernel = kernel_size(self.memory)
        self.firmware = (self.memory * FIRMWARE_SHARE).astype(np.int64)
        # KiB/s: a busy guest reads a tenth of its memory from disk in ten minutes
        self.cache_growth = np.maximum(1.0, self.memory * activity / 6000.0)
        n = len(memory)
        self.anon = np.zeros(n, np.int64)
        self.swapped = np.zeros(n, np.int64)
        self.cache = np.zeros(n, np.int64)
        self.unused = np.zeros(n, np.int64)
        self.actual = actual.astype(np.int64)
        # cumulative counters, pages
        self.swap_in = np.zeros(n, np.int64)
        self.swap_out = np.zeros(n, np.int64)
        self.major_fault = np.zeros(n, np.int64)
        self.minor_fault = np.zeros(n, np.int64)
        self.oom_kills = np.zeros(n, np.int64)
        #: guests whose demand did not fit in memory plus swap this tick
        self.out_of_memory = np.zeros(n, bool)
        self.update(actual, demand, 0.0)

    def lowest_actual(self, demand: np.ndarray) -> np.ndarray:
        """The smallest size each guest can be ballooned to: kernel plus what swap cannot take."""
        return self.kernel + np.maximum(0, demand - self.swap_size) + 16 * 1024

    def used(self) -> np.ndarray:
        """Memory each guest has in use, cache included (what the host had to give it)."""
        return self.kernel + self.anon + self.cache

    def update(self, actual: np.ndarray, demand: np.ndarray, dt: float) -> None:
        """The guest now has ``actual`` KiB and its applications want ``demand`` KiB."""
        usable = actual - self.kernel
        out = demand > usable + self.swap_size
        # a kill is an event: a guest still out of memory from the last tick is the same one
        self.oom_kills += out & ~self.out_of_memory
        self.out_of_memory = out
        if out.any():
            demand = np.minimum(demand, usable + self.swap_size)
        anon = np.minimum(demand, usable)
        swapped = demand - anon
        self.swap_out += np.maximum(0, swapped - self.swapped) // PAGE
        came_back = np.maximum(0, self.swapped - swapped) // PAGE
        self.swap_in += came_back
        self.major_fault += came_back
        self.minor_fault += np.maximum(0, anon - self.anon) // PAGE
        # the cache gives way first, then fills what is free again
        cache = np.minimum(self.cache, usable - anon)
        room = np.minimum(usable - anon - cache, (actual * CACHE_SHARE).astype(np.int64) - cache)
        cache = cache + np.clip(room, 0, (self.cache_growth * dt).astype(np.int64))
        self.actual = actual.astype(np.int64)
        self.anon = anon
        self.swapped = swapped
        self.cache = cache
        self.unused = usable - anon - cache

    def mem_available(self) -> np.ndarray:
        """The guest's MemTotal: its balloon size less what the firmware keeps."""
        return self.actual - self.firmware

    def check(self) -> list[str]:
        """Broken invariants, as messages."""
        problems = []
        if np.any(self.kernel + self.anon + self.cache + self.unused != self.actual):
            problems.append("guest: kernel + anon + cache + unused != balloon size")
        for name in ("anon", "swapped", "cache", "unused"):
            if np.any(getattr(self, name) < 0):
                problems.append(f"guest: negative {name}")
        if np.any(self.swapped > self.swap_size):
            problems.append("guest: swap use beyond the guest's swap space")
        return problems
