"""The simulated host: guests, balloon drivers, host memory and KSM, one tick at a time.

:class:`SimHost` is built from a :class:`~mom.sim.scenario.Scenario` and is deterministic
from its seed.  Each :meth:`SimHost.step` runs, in this order: the workloads, the balloon
drivers, the guests' insides (an OOM kill there ends what it killed in the workload),
memory the balloons gave back, new memory the guests touch (free memory, then page
cache, then swap), swap-in, KSM, page cache growth.  :meth:`SimHost.check` raises
listing every broken invariant (the tests, and ``mom-sim`` unless ``--no-check``, run
it after every tick).
"""

from __future__ import annotations

import uuid as uuid_module
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from mom.sim.balloon import BalloonDrivers
from mom.sim.cpu import CpuModel
from mom.sim.guest_memory import GuestMemory
from mom.sim.host_memory import HostMemory
from mom.sim.ksm import Ksm
from mom.sim.lifecycle import GuestPower
from mom.sim.scenario import Scenario, per_guest
from mom.sim.workloads import Workloads

__all__ = ["SimHost", "InvariantError", "GuestInfo"]


class InvariantError(AssertionError):
    """The model broke one of its invariants (a bug in the model)."""


@dataclass(frozen=True)
class GuestInfo:
    """A guest's identity: libvirt-like domain id, uuid, name, group."""

    id: int
    uuid: str
    name: str
    group: str
    index: int


class SimHost:
    """The whole simulated host (see the module docstring)."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.time = 0.0
        self.ticks = 0
        groups = scenario.groups
        self.group_names = [group.name for group in groups]
        self.group_index = np.repeat(np.arange(len(groups)), [group.count for group in groups])
        n = self.n = len(self.group_index)
        seeds = np.random.SeedSequence(scenario.seed).spawn(2)
        self.rng = np.random.default_rng(seeds[0])
        setup = np.random.default_rng(seeds[1])

        def column(attribute: str, dtype: Any = np.float64) -> np.ndarray:
            return per_guest(groups, self.group_index, attribute, dtype)

        memory = column("memory", np.int64)
        self.activity = column("activity")
        self.cpu_limit = column("cpu_limit")
        self.vcpus = column("vcpus", np.int64)
        self.workloads = Workloads(groups, self.group_index, self.rng)
        demand = self.workloads.demand(0.0, 0.0)
        # drivers: lag and rate vary per guest around the group's; some get stuck some time
        lag = column("balloon_lag") * (0.5 + setup.random(n))
        rate = column("balloon_rate") * (0.75 + 0.5 * setup.random(n))
        stuck = setup.random(n) < column("stuck")
        stuck_at = np.where(stuck, setup.random(n) * scenario.duration, np.inf)
        self.balloons = BalloonDrivers(memory, column("min_memory", np.int64), rate, lag, stuck_at)
        self.guests = GuestMemory(memory, column("swap", np.int64), self.activity, demand, self.balloons.actual)
        # a guest that ran a while has touched more than it uses now (the host keeps it)
        history = np.floor(setup.random(n) * 0.25 * memory).astype(np.int64)
        touched = np.minimum(self.balloons.actual, self.guests.used() + history)
        self.host = HostMemory(scenario.host, touched, column("share"), 1.0 - self.activity)
        if self.host.free < 0:
            raise ValueError(
                f"scenario {scenario.name}: the guests' memory at boot does not fit in the host "
                f"({-self.host.free} KiB short): fewer guests, or a larger host"
            )
        self.ksm = Ksm(scenario.ksm)
        #: the applications' demand this tick, KiB per guest
        self.demand = demand
        self.info = []
        numbers = [0] * len(groups)
        for index, g in enumerate(self.group_index.tolist()):
            self.info.append(
                GuestInfo(
                    id=index + 1,
                    uuid=str(uuid_module.uuid5(uuid_module.NAMESPACE_URL, f"mom-sim/{scenario.name}/{index}")),
                    name=f"{self.group_names[g]}-{numbers[g]:04d}",
                    group=self.group_names[g],
                    index=index,
                )
            )
            numbers[g] += 1
        self.by_uuid = {info.uuid: info for info in self.info}
        self.by_id = {info.id: info for info in self.info}
        self.shareable = int((memory + scenario.host.guest_overhead).sum())
        #: vCPU tuning the controllers set (quota, period), per guest
        self.vcpu_quota = np.full(n, -1, np.int64)
        self.vcpu_period = np.full(n, 100000, np.int64)
        #: guest_lists() of this tick, built on first use
        self._guest_lists: dict[str, list[int]] | None = None
        #: which guests run, are off or left for a peer (mom.sim.lifecycle)
        self.power = GuestPower(n, scenario.peers)
        #: CPU demand and contention (mom.sim.cpu), on a generator of its own: a
        #: scenario without CPU demand draws exactly what it drew before
        cpu_rng = np.random.default_rng(np.random.SeedSequence(scenario.seed).spawn(3)[2])
        self.cpu = CpuModel(groups, self.group_index, scenario.host.cpus, cpu_rng)

    # ## The step

    def potential(self) -> int:
        """KiB KSM would save if it merged every mergeable page."""
        sharers = self.scenario.ksm.sharers
        return int(int(self.host.mergeable().sum()) * (1.0 - 1.0 / sharers))

    def step(self) -> None:
        """Advance the host by one tick."""
        dt = self.scenario.tick
        self.ticks += 1
        self.time = self.ticks * dt
        now = self.time
        host, guests = self.host, self.guests
        host.begin_tick()
        # a guest that is off wants nothing (the draws go on: the same seed, the same run)
        running = self.power.running
        self.demand = np.where(running, self.workloads.demand(now, dt), 0)
        if self.cpu.active:
            load = self.workloads.load(now)[self.group_index]
            self.cpu.step(dt, load, running, self.vcpu_quota, self.vcpu_period)
        actual = self.balloons.step(now, dt, guests.lowest_actual(self.demand))
        guests.update(actual, self.demand, dt)
        if guests.out_of_memory.any():
            self.workloads.kill(guests.out_of_memory)
        # the balloons handed pages back: the host frees them
        host.release(np.maximum(0, host.touched - actual))
        # merged pages of memory that is gone are gone too
        potential = self.potential()
        if self.ksm.saved > potential:
            found = host.take(self.ksm.saved - potential)
            self._settle_ksm(self.ksm.saved - found)
        # guests touch new memory: free, cache, then swap
        host.grow(np.where(running, np.maximum(0, np.minimum(actual, guests.used()) - host.touched), 0))
        host.swap_in(self.activity, dt)
        potential = self.potential()
        wanted = self.ksm.step(dt, int(host.touched.sum()), potential, float(self.activity.mean()))
        if wanted > self.ksm.saved:
            host.free += wanted - self.ksm.saved
            self._settle_ksm(wanted)
        elif wanted < self.ksm.saved:
            found = host.allocate(self.ksm.saved - wanted)
            self._settle_ksm(self.ksm.saved - found)
        host.grow_cache(dt)
        self._guest_lists = None

    def forget_lists(self) -> None:
        """The guests' statistics changed outside a step (a guest stopped or started)."""
        self._guest_lists = None

    def _settle_ksm(self, saved: int) -> None:
        self.ksm.settle(saved)
        self.host.ksm_changed(saved)

    def check(self) -> None:
        """Raise :class:`InvariantError` listing every broken invariant."""
        problems = self.host.check() + self.guests.check() + self.balloons.check(self.time)
        problems += self.ksm.check(self.potential()) + self.power.check() + self.cpu.check()
        if np.any(self.host.touched > self.balloons.actual):
            problems.append("host: a guest holds more memory than its balloon size")
        if problems:
            raise InvariantError(f"t={self.time:g}s: " + "; ".join(problems))

    # ## What the hypervisor shows

    def set_balloon_target(self, index: int, target: int) -> None:
        self.balloons.set_target(index, target, self.time)

    def tune_ksm(self, values: Mapping[str, int]) -> None:
        self.ksm.tune(values)

    def guest_lists(self) -> dict[str, list[int]]:
        """Per-guest statistics as Python lists (built once per tick: the collectors' source)."""
        lists = self._guest_lists
        if lists is None:
            guests, balloons = self.guests, self.balloons
            lists = {
                "balloon_cur": balloons.actual.tolist(),
                "balloon_max": balloons.maximum.tolist(),
                "balloon_min": balloons.minimum.tolist(),
                "mem_available": guests.mem_available().tolist(),
                "mem_unused": guests.unused.tolist(),
                "major_fault": guests.major_fault.tolist(),
                "minor_fault": guests.minor_fault.tolist(),
                "swap_in": guests.swap_in.tolist(),
                "swap_out": guests.swap_out.tolist(),
                "swap_total": guests.swap_size.tolist(),
                "swap_usage": guests.swapped.tolist(),
            }
            self._guest_lists = lists
        return lists

    def host_stats(self) -> dict[str, int]:
        """HostMemory's fields, cumulative swap counters (pages) as /proc/vmstat has them."""
        host = self.host
        return {
            "mem_available": host.total,
            "mem_unused": host.free,
            "mem_free": host.mem_free(),
            "anon_pages": int(host.resident.sum()) - host.ksm_saved + host.overhead // 2,
            "swap_total": host.swap_total,
            "swap_usage": host.swap_used,
            "pswpin": host.pswpin,
            "pswpout": host.pswpout,
        }

    def ksm_stats(self) -> dict[str, int]:
        """HostKSM's fields (``ksmd_cpu_usage`` is this tick's)."""
        ksm = self.ksm
        return {
            "ksm_full_scans": ksm.full_scans,
            "ksm_pages_sharing": ksm.pages_sharing(),
            "ksm_pages_unshared": ksm.pages_unshared(),
            "ksm_run": ksm.run,
            "ksm_pages_shared": ksm.pages_shared(),
            "ksm_pages_to_scan": ksm.pages_to_scan,
            "ksm_pages_volatile": ksm.pages_volatile(),
            "ksm_sleep_millisecs": ksm.sleep_millisecs,
            "ksm_merge_across_nodes": ksm.merge_across_nodes,
            "ksm_shareable": self.shareable,
            "ksmd_cpu_usage": int(round(ksm.cpu_percent)),
        }

    def committed(self) -> int:
        """KiB the host would need to hold every guest's used memory in RAM (no swap)."""
        used = np.where(self.power.running, np.minimum(self.balloons.actual, self.guests.used()), 0)
        return self.host.overhead + int(np.maximum(used, self.host.touched).sum()) - self.ksm.saved
