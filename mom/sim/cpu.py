"""CPU contention: the guests' CPU demand against the host's CPUs, shares and quotas applied.

Each guest wants ``cpu-demand`` of its vCPUs (times its group's load, plus a
mean-reverting walk of size ``cpu-noise``), in CPUs; a guest that is off wants nothing.
What it can use is at most its vCPUs and, under a quota, ``vcpus * quota / period``
(CFS bandwidth control: the quota is per vCPU, as libvirt's ``vcpu_quota``).  When the
host's CPUs are fewer than what the guests can use, they are shared in proportion to
``cpu_shares`` (CFS weights; libvirt's default 1024), none getting more than it can use,
what one cannot use going to the others (weighted max-min fairness, as CFS gives it).

The host signals follow from it, as the kernel reports them: ``cpu_busy`` the busy
fraction of the CPUs, ``cpu_runnable`` the runnable vCPUs per CPU, and PSI's
``cpu some``: the share of the demand that waited (for a CPU, or throttled by its
quota), smoothed over 10 and 60 s like the kernel's averages.  Per guest, the
cumulative CPU time and vCPU wait (ns) that libvirt's bulk statistics give.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from mom.sim.scenario import GroupSpec, per_guest

__all__ = ["CpuModel", "fair_share", "DEFAULT_SHARES"]

#: libvirt's (and cgroup v1's) default cpu_shares
DEFAULT_SHARES = 1024
#: the demand walk's time constant, seconds
WALK_TAU = 120.0
_NS = 1e9


def fair_share(capacity: float, usable: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted max-min fair split of ``capacity`` CPUs: each gets ``level * weight`` but
    never more than ``usable``, with one ``level`` for all that are not at their limit."""
    usable = np.maximum(usable, 0.0)
    if usable.sum() <= capacity:
        return usable.copy()
    weights = np.maximum(weights.astype(np.float64), 1e-9)
    ratio = usable / weights
    order = np.argsort(ratio, kind="stable")
    sorted_usable, sorted_weights = usable[order], weights[order]
    # capacity used if the level were ratio[k]: the guests below at their limit, the rest at the level
    below = np.concatenate(([0.0], np.cumsum(sorted_usable)[:-1]))
    above = np.cumsum(sorted_weights[::-1])[::-1]
    used_at = below + ratio[order] * above
    k = int(np.searchsorted(used_at, capacity, side="right"))
    # the level lies between ratio[k-1] and ratio[k]: guests from k on are at the level
    level = (capacity - below[k]) / above[k] if k < len(order) else float(ratio.max())
    return np.minimum(usable, level * weights)


class CpuModel:
    """Every guest's CPU this tick; :meth:`step` advances it."""

    def __init__(
        self, groups: Sequence[GroupSpec], group_index: np.ndarray, cpus: int, rng: np.random.Generator
    ) -> None:
        self.cpus = float(cpus)
        self.rng = rng
        self.vcpus = per_guest(groups, group_index, "vcpus")
        self.level = per_guest(groups, group_index, "cpu_demand")
        self.noise = per_guest(groups, group_index, "cpu_noise")
        self.noisy = bool(self.noise.any())
        n = len(group_index)
        self.walk = np.zeros(n)
        self.shares = np.full(n, DEFAULT_SHARES, np.int64)
        #: CPUs each guest wants, may use (vCPUs and quota) and got, this tick
        self.demand = np.zeros(n)
        self.usable = np.zeros(n)
        self.got = np.zeros(n)
        #: cumulative, ns: CPU time, and time its vCPUs waited (for a CPU or their quota)
        self.cpu_time = np.zeros(n)
        self.vcpu_wait = np.zeros(n)
        #: host: busy fraction, runnable vCPUs per CPU, PSI some (percent; avg10, avg60; total us)
        self.busy = 0.0
        self.runnable = 0.0
        self.some_avg10 = 0.0
        self.some_avg60 = 0.0
        self.some_total = 0.0

    @property
    def active(self) -> bool:
        """Whether any guest has a CPU demand (else the model keeps everything at zero)."""
        return bool(self.level.any() or self.noisy)

    def step(self, dt: float, load: np.ndarray, running: np.ndarray, quota: np.ndarray, period: np.ndarray) -> None:
        """Advance by ``dt`` s: ``load`` per guest, ``running`` mask, vCPU ``quota``/``period`` (us)."""
        if self.noisy:
            decay = math.exp(-dt / WALK_TAU)
            self.walk = self.walk * decay + self.noise * math.sqrt(1.0 - decay * decay) * self.rng.standard_normal(
                len(self.walk)
            )
        fraction = np.clip(self.level * load + self.walk, 0.0, 1.0)
        self.demand = np.where(running, fraction * self.vcpus, 0.0)
        limit = np.where(quota > 0, self.vcpus * quota / np.maximum(period, 1), self.vcpus)
        self.usable = np.minimum(self.demand, limit)
        self.got = fair_share(self.cpus, self.usable, self.shares)
        self.cpu_time += self.got * dt * _NS
        self.vcpu_wait += (self.demand - self.got) * dt * _NS
        wanted = float(self.demand.sum())
        self.busy = min(1.0, float(self.got.sum()) / self.cpus)
        self.runnable = wanted / self.cpus
        waited = 100.0 * (wanted - float(self.got.sum())) / wanted if wanted > 0 else 0.0
        self.some_avg10 += (waited - self.some_avg10) * (1.0 - math.exp(-dt / 10.0))
        self.some_avg60 += (waited - self.some_avg60) * (1.0 - math.exp(-dt / 60.0))
        self.some_total += waited / 100.0 * dt * 1e6

    def host_fields(self) -> dict[str, float]:
        """HostCpuPressure's fields."""
        return {
            "cpu_busy": self.busy,
            "cpu_runnable": self.runnable,
            "cpu_some_avg10": self.some_avg10,
            "cpu_some_avg60": self.some_avg60,
            "cpu_some_total": int(self.some_total),
        }

    def check(self) -> list[str]:
        problems = []
        if float(self.got.sum()) > self.cpus * (1 + 1e-9):
            problems.append("cpu: the guests got more CPU than the host has")
        if np.any(self.got > self.usable + 1e-9) or np.any(self.usable > self.demand + 1e-9):
            problems.append("cpu: a guest got more than its demand or its quota")
        return problems
