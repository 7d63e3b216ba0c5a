"""Guests powered off, started again and migrated away, and the peers they migrate to.

A guest powered off gives the host back everything it holds: its resident pages, its
pages in the host's swap, QEMU's own memory beside it.  While it is off its
applications want nothing (the workload's random draws go on, so a seed still gives
the same run), and the host neither lists it nor touches memory for it.  Started
again, it boots afresh: QEMU's memory is found first, its balloon is back at its boot
size, its applications start from nothing (as after an OOM kill) and touch memory
tick by tick as at any time.  A migrated guest is gone for good; its peer has that
much less memory free (its boot size: what it may use there).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:
    from mom.sim.model import SimHost

__all__ = ["GuestPower", "RUNNING", "OFF", "MIGRATED"]

RUNNING, OFF, MIGRATED = 0, 1, 2


class GuestPower:
    """Each guest's power state, the peers' free memory and the counts of each change."""

    def __init__(self, n: int, peers: Sequence[tuple[str, int]]) -> None:
        self.state = np.zeros(n, np.int8)
        #: peer URI -> KiB free there now
        self.peer_free = dict(peers)
        #: per guest: times powered off, started again, migrated
        self.powered_off = np.zeros(n, np.int64)
        self.restored = np.zeros(n, np.int64)
        self.migrated = np.zeros(n, np.int64)
        #: per guest: the peer it went to ("" if none)
        self.went_to = [""] * n

    @property
    def running(self) -> np.ndarray:
        return self.state == RUNNING

    def is_running(self, index: int) -> bool:
        return bool(self.state[index] == RUNNING)

    def _stop(self, host: "SimHost", index: int, state: int) -> None:
        memory = host.host
        mask = np.zeros(host.n, np.int64)
        mask[index] = memory.touched[index]
        memory.release(mask)
        overhead = int(host.scenario.host.guest_overhead)
        memory.overhead -= overhead
        memory.free += overhead
        self.state[index] = state
        host.forget_lists()

    def power_off(self, host: "SimHost", index: int) -> None:
        """Stop guest ``index`` (running): the host gets its memory back."""
        self._stop(host, index, OFF)
        self.powered_off[index] += 1

    def migrate(self, host: "SimHost", index: int, uri: str) -> None:
        """Guest ``index`` (running) leaves for ``uri`` (a peer)."""
        self.peer_free[uri] -= int(host.balloons.maximum[index])
        self._stop(host, index, MIGRATED)
        self.migrated[index] += 1
        self.went_to[index] = uri

    def start(self, host: "SimHost", index: int) -> None:
        """Boot guest ``index`` (off) again."""
        memory, guests, balloons = host.host, host.guests, host.balloons
        overhead = int(host.scenario.host.guest_overhead)
        found = memory.allocate(overhead)
        memory.overhead += found
        # a fresh boot: the balloon at its boot size, nothing inside but the kernel
        size = int(balloons.maximum[index])
        balloons.actual[index] = balloons.target[index] = size
        guests.actual[index] = size
        guests.anon[index] = guests.swapped[index] = guests.cache[index] = 0
        guests.unused[index] = size - int(guests.kernel[index])
        guests.out_of_memory[index] = False
        killed = np.zeros(host.n, bool)
        killed[index] = True
        host.workloads.kill(killed)
        self.state[index] = RUNNING
        self.restored[index] += 1
        host.forget_lists()

    def check(self) -> list[str]:
        if any(free < 0 for free in self.peer_free.values()):
            return ["lifecycle: a peer got more guests than it had memory for"]
        return []
