"""A small closed-loop host for the SLA policy set: guests of given classes on a host of
given memory, the whole shipped set evaluated cycle after cycle, each balloon target
applied before the next cycle (what the Balloon controller and the guest do).

The model: a guest uses ``used`` KiB whatever its balloon (its working set) and holds
its balloon size in host memory (it has touched all of it); the host's free memory is
its total minus its own overhead minus the guests' balloon sizes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mom.offline import entity_from_spec
from mom.policy_sets import shipped_set_dir
from mom.runtime.policy_store import PolicyStore
from mom.sla.classes import DEFAULT_CLASSES, guarantee_kib, margin_kib, reclaim_ranks, resource_fields

GIB = 1024 * 1024
SLA_SET = Path(shipped_set_dir("sla"))
RANKS = reclaim_ranks(DEFAULT_CLASSES)


@dataclass
class Guest:
    name: str
    sla_class: str
    used: int  # KiB it uses
    balloon_max: int = 4 * GIB
    balloon_min: int = 0
    priority: int = 50
    tags: str = ""
    stats: bool = True  # reports balloon and memory statistics
    stuck: bool = False  # the Balloon controller holds its balloon stuck (GuestSla's balloon_stuck)
    balloon_cur: int = -1  # -1: balloon_max
    targets: list[int] = field(default_factory=list)  # every target set, in order

    def __post_init__(self) -> None:
        if self.balloon_cur < 0:
            self.balloon_cur = self.balloon_max

    @property
    def guarantee(self) -> int:
        return guarantee_kib(self.balloon_max, self.balloon_min, DEFAULT_CLASSES[self.sla_class])

    def sample(self) -> dict[str, Any]:
        sla_class = DEFAULT_CLASSES[self.sla_class]
        sample: dict[str, Any] = {
            "vcpu_count": 2,
            "vcpu_quota": -1,
            "vcpu_period": 100000,
            "vcpu_user_limit": 100,
            "balloon_max": self.balloon_max,
            "balloon_min": self.balloon_min,
            "sla_class": self.sla_class,
            "sla_priority": self.priority,
            "sla_tags": self.tags,
            "sla_guarantee": self.guarantee,
            "sla_reclaim_rank": RANKS[self.sla_class],
            "sla_margin": margin_kib(self.balloon_max, sla_class),
            "balloon_stuck": int(self.stuck),
            **resource_fields(sla_class),
        }
        if self.stats:
            sample["balloon_cur"] = self.balloon_cur
            sample["mem_unused"] = max(0, self.balloon_cur - self.used)
        return sample


HOST_FIELDS = {
    "cpu_count": 4,
    "cpu_busy": 0.2,
    "cpu_runnable": 0.5,
    "cpu_some_avg10": 1.0,
    "io_some_avg10": 0.0,
    "numa_node_count": 1,
    "ksm_merge_across_nodes": 1,
    "ksm_shareable": 0,
    "ksm_pages_shared": 0,
    "ksm_pages_to_scan": 100,
}


def sla_store(implementation: Any, parameters: str = "") -> PolicyStore:
    """The whole shipped SLA set; ``parameters`` replaces 01-parameters."""
    store = PolicyStore(implementation=implementation)
    for path in sorted(SLA_SET.glob("*.policy")):
        text = parameters if path.stem == "01-parameters" and parameters else path.read_text()
        assert store.set_policy(path.stem, text), (path, store.last_error)
    return store


@dataclass
class SlaHost:
    memory: int  # KiB of RAM
    guests: list[Guest]
    overhead: int = 1 * GIB
    free_history: list[int] = field(default_factory=list)

    @property
    def free(self) -> int:
        return max(0, self.memory - self.overhead - sum(g.balloon_cur for g in self.guests))

    def cycle(self, store: PolicyStore) -> dict[str, Any]:
        """One evaluation; targets applied; the controls of each guest and the host's."""
        self.free_history.append(self.free)
        host = entity_from_spec({"name": "host", "stats": [{**HOST_FIELDS, "mem_available": self.memory, "mem_free": self.free}]})
        entities = [
            entity_from_spec({"name": g.name, "properties": {"uuid": g.name}, "stats": [g.sample()], "io_tune": None})
            for g in self.guests
        ]
        assert store.evaluate(host, entities), store.last_error
        controls: dict[str, Any] = {"Host": dict(host.controls)}
        for g, entity in zip(self.guests, entities):
            controls[g.name] = dict(entity.controls)
            target = entity.controls.get("balloon_target")
            if target is not None:
                g.targets.append(int(target))
                g.balloon_cur = int(target)
        return controls

    def run(self, store: PolicyStore, cycles: int) -> None:
        for _ in range(cycles):
            self.cycle(store)


def reversals(targets: list[int], start: int) -> int:
    """How often a balloon's direction changed (shrinking then growing, or back)."""
    count, previous, direction = 0, start, 0
    for target in targets:
        step = (target > previous) - (target < previous)
        if step and direction and step != direction:
            count += 1
        if step:
            direction = step
        previous = target
    return count
