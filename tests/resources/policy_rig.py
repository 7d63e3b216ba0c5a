"""Entities for the SLA set's CPU/IO/network/NUMA policies: a host and guests of given classes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mom.offline import entity_from_spec
from mom.policy_sets import shipped_set_dir
from mom.runtime.policy_store import PolicyStore
from mom.sla.classes import DEFAULT_CLASSES, resource_fields

SLA_SET = Path(shipped_set_dir("sla"))
VDSM_SET = Path(shipped_set_dir("vdsm"))
RESOURCE_POLICIES = ("04-cputune", "05-iotune", "06-network", "07-numa")

HOST_FIELDS = {
    "cpu_count": 4,
    "cpu_busy": 0.2,
    "cpu_runnable": 0.5,
    "cpu_some_avg10": 1.0,
    "io_some_avg10": 0.0,
    "numa_node_count": 1,
    "ksm_merge_across_nodes": 1,
}


def host(**stats: Any) -> Any:
    return entity_from_spec({"name": "host", "stats": [{**HOST_FIELDS, **stats}]})


def guest(name: str, sla_class: str, *, io_tune: Any = None, **stats: Any) -> Any:
    sample = {
        "vcpu_count": 2,
        "vcpu_quota": -1,
        "vcpu_period": 100000,
        "vcpu_user_limit": 100,
        "balloon_max": 2 * 1024 * 1024,
        "balloon_cur": 2 * 1024 * 1024,
        "sla_class": sla_class,
        **resource_fields(DEFAULT_CLASSES[sla_class]),
        **stats,
    }
    # io_tune, even None, declares the IO-tune fields (as GuestIoTuneOptional does)
    spec: dict[str, Any] = {"name": name, "properties": {"uuid": name}, "stats": [sample], "io_tune": io_tune}
    return entity_from_spec(spec)


def store(engine: Any, names: tuple[str, ...] = RESOURCE_POLICIES, directory: Path = SLA_SET) -> PolicyStore:
    policies = PolicyStore(implementation=engine)
    for name in names:
        assert policies.set_policy(name, (directory / f"{name}.policy").read_text()), name
    return policies


def evaluate(engine: Any, host_entity: Any, guests: list[Any], **kwargs: Any) -> dict[str, dict[str, Any]]:
    """Each guest's controls (and the host's under "Host") after one evaluation."""
    assert store(engine, **kwargs).evaluate(host_entity, guests)
    result = {g.properties["name"]: dict(g.controls) for g in guests}
    result["Host"] = dict(host_entity.controls)
    return result
