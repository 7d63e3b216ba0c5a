"""The host's RAM: free memory, page cache, the guests' resident pages, swap (KiB).

Conservation, exact in integers at every step::

    total == free + cache + overhead + sum(resident) - ksm_saved

Each guest has ``touched`` pages (what it used since boot and has not given back
through its balloon; a guest that frees memory inside keeps it on the host), of which
``resident`` are in RAM and ``swapped`` in the host's swap.  A guest's mergeable pages
(``share`` of its touched memory, identical to other guests') stay resident, so KSM's
savings never count a swapped page.

Memory is found in the kernel's order (:meth:`HostMemory.allocate`): free memory above
the low watermark first, then page cache down to its floor, and only past that are
pages swapped out, coldest guests first.  Swap-in (an active guest touching its
swapped pages again) only uses memory above the high watermark, and the page cache
grows back into free memory while there is plenty.
"""

from __future__ import annotations

import numpy as np

from mom.sim.scenario import HostSpec

__all__ = ["HostMemory"]

PAGE = 4
#: the high watermark: the kernel stops reclaiming (and allows growth) above this many times min_free
HIGH_WATERMARK = 3


def _share(amount: int, weights: np.ndarray, caps: np.ndarray) -> np.ndarray:
    """Split ``amount`` (<= caps.sum()) over guests by weight, each at most its cap (ints)."""
    taken = np.zeros(len(caps), np.int64)
    left = int(amount)
    for _ in range(4):
        if left <= 0:
            break
        room = caps - taken
        w = np.where(room > 0, weights, 0.0)
        total = w.sum()
        if total <= 0:
            break
        part = np.minimum(room, np.floor(left * w / total).astype(np.int64))
        taken += part
        left -= int(part.sum())
    # whatever rounding left over: from the guests with the most room, in a fixed order
    while left > 0:
        room = caps - taken
        index = int(np.argmax(room))
        if room[index] <= 0:
            break
        part = min(left, int(room[index]))
        taken[index] += part
        left -= part
    return taken


class HostMemory:
    """The host's memory accounting (see the module docstring)."""

    def __init__(self, spec: HostSpec, touched: np.ndarray, share: np.ndarray, coldness: np.ndarray) -> None:
        self.total = int(spec.memory)
        self.overhead = int(spec.overhead + spec.guest_overhead * len(touched))
        self.cache = int(spec.page_cache)
        self.cache_min = int(spec.page_cache_min)
        self.cache_max = int(spec.page_cache_max)
        self.cache_growth = int(spec.page_cache_growth)
        self.min_free = int(spec.min_free)
        self.swap_total = int(spec.swap)
        self.swap_in_rate = float(spec.swap_in_rate)
        self.share = share.astype(np.float64)
        self.coldness = coldness.astype(np.float64)
        self.touched = touched.astype(np.int64).copy()
        self.resident = self.touched.copy()
        self.swapped = np.zeros(len(touched), np.int64)
        self.swap_used = 0
        self.ksm_saved = 0
        self.free = self.total - self.cache - self.overhead - int(self.resident.sum())
        if self.free < self.min_free:
            # the cache gives way at boot, never the guests
            self.cache = max(self.cache_min, self.cache - (self.min_free - self.free))
            self.free = self.total - self.cache - self.overhead - int(self.resident.sum())
        # cumulative counters, pages (as /proc/vmstat's pswpin/pswpout)
        self.pswpin = 0
        self.pswpout = 0
        #: this tick: swapped out (KiB); memory asked for and not found (KiB)
        self.swapped_out_now = 0
        self.shortfall_now = 0
        #: this tick: swap happened while free memory or cache could still have been reclaimed
        self.reclaim_order_broken = False

    # ## Derived

    def mergeable(self) -> np.ndarray:
        """Pages of each guest identical to other guests' (KiB; all resident)."""
        return np.floor(self.share * self.touched).astype(np.int64)

    def swappable(self) -> np.ndarray:
        return np.maximum(0, self.resident - self.mergeable())

    def high_watermark(self) -> int:
        return self.min_free * HIGH_WATERMARK

    # ## Flows

    def begin_tick(self) -> None:
        """Reset the per-tick figures."""
        self.swapped_out_now = 0
        self.shortfall_now = 0
        self.reclaim_order_broken = False

    def release(self, amount: np.ndarray) -> None:
        """Balloons took ``amount`` KiB of touched memory back from each guest."""
        amount = np.minimum(amount, self.touched)
        if not amount.any():
            return
        touched = np.maximum(self.touched, 1)
        # swapped pages go in proportion (rounded up), and enough of them that the
        # mergeable pages of what is left stay resident
        left = self.touched - amount
        most_swapped = left - np.floor(self.share * left).astype(np.int64)
        from_swap = np.maximum(-((-self.swapped * amount) // touched), self.swapped - most_swapped)
        from_swap = np.clip(from_swap, 0, np.minimum(self.swapped, amount))
        from_ram = amount - from_swap
        self.swapped -= from_swap
        self.resident -= from_ram
        self.touched -= amount
        self.swap_used -= int(from_swap.sum())
        self.free += int(from_ram.sum())

    def take(self, need: int) -> int:
        """Memory that must be found now (KSM splitting pages it can no longer keep merged):
        free memory, below the watermark if need be, then cache.  Returns what was found."""
        from_free = min(need, max(0, self.free))
        self.free -= from_free
        from_cache = min(need - from_free, self.cache)
        self.cache -= from_cache
        return from_free + from_cache

    def allocate(self, need: int) -> int:
        """Find ``need`` KiB: free memory, then page cache, then swap.  Returns what was found
        (less when swap is full too: the asker stalls)."""
        if need <= 0:
            return 0
        from_free = min(need, max(0, self.free - self.min_free))
        self.free -= from_free
        got = from_free
        from_cache = min(need - got, max(0, self.cache - self.cache_min))
        self.cache -= from_cache
        got += from_cache
        if got < need:
            swappable = self.swappable()
            amount = min(need - got, self.swap_total - self.swap_used, int(swappable.sum()))
            if amount > 0:
                if self.free > self.min_free or self.cache > self.cache_min:
                    self.reclaim_order_broken = True
                # cold guests first: idle pages are what the kernel's LRU evicts
                out = _share(amount, swappable * (self.coldness + 0.05), swappable)
                amount = int(out.sum())
                self.resident -= out
                self.swapped += out
                self.swap_used += amount
                self.pswpout += amount // PAGE
                self.swapped_out_now += amount
                got += amount
        self.shortfall_now += need - got
        return got

    def grow(self, wanted: np.ndarray) -> np.ndarray:
        """Guests touch ``wanted`` KiB of new memory each; what each got."""
        need = int(wanted.sum())
        if need <= 0:
            return np.zeros_like(wanted)
        got = self.allocate(need)
        granted = wanted if got == need else np.floor(wanted * (got / need)).astype(np.int64)
        self.free += got - int(granted.sum())  # rounding crumbs stay free
        self.resident += granted
        self.touched += granted
        return granted

    def swap_in(self, activity: np.ndarray, dt: float) -> None:
        """Active guests touch their swapped pages again, while memory is plentiful."""
        if self.swap_used <= 0:
            return
        wanted = np.minimum(self.swapped, np.floor(self.swap_in_rate * activity * dt).astype(np.int64))
        need = int(wanted.sum())
        room = self.free - self.high_watermark()
        if need <= 0 or room <= 0:
            return
        if need > room:
            wanted = np.floor(wanted * (room / need)).astype(np.int64)
            need = int(wanted.sum())
        self.swapped -= wanted
        self.resident += wanted
        self.swap_used -= need
        self.free -= need
        self.pswpin += need // PAGE

    def grow_cache(self, dt: float) -> None:
        """The page cache grows back (host IO) into memory above the high watermark."""
        room = min(self.free - self.high_watermark(), self.cache_max - self.cache, int(self.cache_growth * dt))
        if room > 0:
            self.cache += room
            self.free -= room

    def ksm_changed(self, saved: int) -> None:
        """KSM now saves ``saved`` KiB (the caller found or freed the difference)."""
        self.ksm_saved = saved

    # ## Views

    def mem_free(self) -> int:
        """What HostMemory reports as ``mem_free``: free memory plus page cache."""
        return self.free + self.cache

    def check(self) -> list[str]:
        """Broken invariants, as messages."""
        problems = []
        accounted = self.free + self.cache + self.overhead + int(self.resident.sum()) - self.ksm_saved
        if accounted != self.total:
            problems.append(f"host: memory not conserved: accounted {accounted} KiB of {self.total}")
        if self.free < 0:
            problems.append(f"host: negative free memory ({self.free})")
        if not 0 <= self.cache <= self.cache_max:
            problems.append(f"host: page cache {self.cache} outside 0..{self.cache_max}")
        if np.any(self.resident < 0) or np.any(self.swapped < 0):
            problems.append("host: negative resident or swapped memory")
        if np.any(self.resident + self.swapped != self.touched):
            problems.append("host: resident + swapped != touched")
        if self.swap_used != int(self.swapped.sum()) or not 0 <= self.swap_used <= self.swap_total:
            problems.append(f"host: swap use {self.swap_used} does not add up or exceeds {self.swap_total}")
        if np.any(self.mergeable() > self.resident):
            problems.append("host: a mergeable page was swapped")
        if self.reclaim_order_broken:
            problems.append("host: swapped while free memory or page cache was left to reclaim")
        return problems
