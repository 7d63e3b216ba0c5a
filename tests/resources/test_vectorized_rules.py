"""The SLA set's 04-07 through their vectorized builtins (sla_controls, sla_cpu_quota,
sla_io_limits, sla_numa_place) give what the same rules written as per-guest loops gave.

``loop_rules/`` holds 04-07 as they were before the builtins (the oracle): on random
guests and hosts, both implementations, over entity lists and over the column store,
every guest's controls (values, int/float types, the order they were set in) and every
disk's limits (values and types) must be the same.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from mom.dsl.builtins_sla_resources import resource_functions
from mom.errors import PolicyError
from mom.plugins.collectors.io_tune import IoTune
from mom.runtime.policy_store import PolicyStore
from mom.runtime.table import GuestSet, SampleTable
from mom.sla.classes import DEFAULT_CLASSES, resource_fields
from tests.resources.policy_rig import SLA_SET, guest, host

LOOPS = Path(__file__).parent / "loop_rules"
RULES = ("04-cputune", "05-iotune", "06-network", "07-numa")
KEYS = ("total_bytes_sec", "read_bytes_sec", "write_bytes_sec", "total_iops_sec", "read_iops_sec", "write_iops_sec")
MIB = 1024 * 1024


def _disks(rng: random.Random) -> list[dict[str, Any]] | None:
    if rng.random() < 0.3:
        return None
    disks = []
    for number in range(rng.randint(0, 3)):
        maximum = {key: rng.choice([0, 0, 5 * MIB, 100 * MIB, 500, 2000]) for key in KEYS}
        current = {key: rng.choice([0, maximum[key], float(maximum[key]), 7]) for key in KEYS}
        disks.append({"name": f"vd{number}", "path": f"/d{number}.img", "guaranteed": dict.fromkeys(KEYS, 0),
                      "maximum": maximum, "current": current})  # fmt: skip
    return disks


def _guest_stats(rng: random.Random) -> dict[str, Any]:
    return {
        "vcpu_count": rng.randint(1, 8),
        "vcpu_user_limit": rng.choice([100, 100, 100.0, 75.5, 50, 10, 1, 0.5]),
        "vcpu_quota": rng.choice([-1, 50000, 25000.0, 1000, None]),
        "vcpu_period": rng.choice([100000, 100000.0, 200000, None]),
        "balloon_max": rng.choice([None, 2 * MIB, 4 * MIB, 4.0 * MIB, 8 * MIB]),
    }


def _host_stats(rng: random.Random) -> dict[str, Any]:
    return {
        "cpu_count": rng.choice([1, 2, 4, 8, 64]),
        "cpu_busy": rng.choice([0.2, 0.95, None]),
        "cpu_some_avg10": rng.choice([1.0, 60.0]),
        "io_some_avg10": rng.choice([0.0, 80.0, None]),
        "numa_node_count": rng.choice([1, 2]),
        "ksm_merge_across_nodes": 1,
    }


PARAMETERS = [
    "",
    "(defvar slaCpuTuneEnabled 0) (defvar slaIoTuneEnabled 0) (defvar slaNetworkEnabled 0) (defvar slaNumaEnabled 0)",
    "(defvar slaCpuPeriod 1000) (defvar slaCpuMinCap 0.001)",  # quotas under 1000 us: stretched
    "(defvar slaCpuMinCap 0)",  # a quota of 0 fails
    "(defvar slaCpuMinCap 1) (defvar slaCpuPeriod 50000.0) (defvar slaIoUnlimited 5242880)",
    "(defvar slaCpuQuotaUnlimited \"none\")",  # an object control
    "(defvar slaNumaMinGuestKiB 4194304.5)",
]


def _store(impl: Any, directory: Path, parameters: str) -> PolicyStore:
    store = PolicyStore(implementation=impl)
    assert store.set_policy("00-defines", (SLA_SET / "00-defines.policy").read_text())
    assert store.set_policy("01-parameters", parameters or "0")
    for name in RULES:
        assert store.set_policy(name, (directory / f"{name}.policy").read_text()), name
    return store


def _typed(value: Any) -> Any:
    if isinstance(value, dict):
        return [(k, _typed(v)) for k, v in value.items()]
    return (value, type(value))


def _case(seed: int) -> tuple[dict[str, Any], list[tuple[str, str, dict[str, Any], Any]]]:
    rng = random.Random(seed)
    guests = []
    for index in range(rng.randint(0, 12)):
        sla_class = rng.choice(sorted(DEFAULT_CLASSES))
        guests.append((f"g{index}", sla_class, _guest_stats(rng), _disks(rng)))
    return _host_stats(rng), guests


def _entities(case: Any) -> tuple[Any, list[Any]]:
    host_stats, guests = case
    return host(**host_stats), [guest(name, cls, io_tune=disks, **stats) for name, cls, stats, disks in guests]


def _rows(case: Any) -> tuple[Any, GuestSet]:
    host_stats, guests = case
    table = SampleTable()
    rows = []
    for name, cls, stats, disks in guests:
        row = table.add_row(name, {"uuid": name})
        tunes = None if disks is None else [
            IoTune(d["name"], d["path"], dict(d["guaranteed"]), dict(d["maximum"]), dict(d["current"])) for d in disks
        ]  # fmt: skip
        sample = {"sla_class": cls, **resource_fields(DEFAULT_CLASSES[cls]), **stats, "io_tune": tunes}
        table.append(row, sample)
        rows.append(row)
    return host(**host_stats), GuestSet(table, rows)


def _outcome(store: PolicyStore, host_entity: Any, guests: Any) -> Any:
    if not store.evaluate(host_entity, guests):
        return "fails"  # (a quota of 0: division by zero, both ways)
    if isinstance(guests, GuestSet):
        table = guests.table
        controls = [_typed(table.controls_of(int(row))) for row in guests.rows]
        tunes = [table.latest(int(row), "io_tune") for row in guests.rows]
    else:
        controls = [_typed(dict(g.controls)) for g in guests]
        tunes = [g.Stat("io_tune") for g in guests]
    disks = [[_typed(dict(d.ioTune()["ioTune"])) for d in tune] if tune is not None else None for tune in tunes]
    return controls, disks, _typed(dict(host_entity.controls))


@pytest.mark.parametrize("parameters", PARAMETERS)
@pytest.mark.parametrize("storage", ["entities", "rows"])
def test_the_builtins_set_what_the_loops_set(impl, storage, parameters):
    build = _entities if storage == "entities" else _rows
    loops, vectorized = _store(impl, LOOPS, parameters), _store(impl, SLA_SET, parameters)
    outcomes = []
    for seed in range(40):
        case = _case(seed)
        want = _outcome(loops, *build(case))
        got = _outcome(vectorized, *build(case))
        assert got == want, (seed, case)
        outcomes.append(want)
    assert outcomes.count("fails") < len(outcomes) / 2


def test_the_shipped_rules_call_the_builtins():
    text = "".join((SLA_SET / f"{name}.policy").read_text() for name in RULES)
    assert "(with Guests guest" not in text.replace("(with Guests guest (sla_unlimit guest))", "")
    for name in ("sla_controls", "sla_cpu_quota", "sla_io_limits", "sla_numa_place"):
        assert f"({name} Guests" in text


def test_a_guest_without_a_field_the_rule_reads_fails_as_the_loop_did(impl):
    _host, guests = _entities(({"cpu_count": 4}, [("a", "gold", _guest_stats(random.Random(1)), None)]))
    del guests[0]._policy_values["sla_cpu_cap"]
    for directory in (LOOPS, SLA_SET):
        store = _store(impl, directory, "")
        assert not store.evaluate(host(), guests)
        assert "sla_cpu_cap" in str(store.last_error)


def test_bad_arguments_are_refused_with_the_reason():
    functions = resource_functions()
    sla_controls, sla_cpu_quota, sla_io_limits = (functions[n] for n in ("sla_controls", "sla_cpu_quota", "sla_io_limits"))
    guests = [guest("a", "gold")]
    with pytest.raises(PolicyError, match="pairs"):
        sla_controls(guests, "cpu_shares")
    with pytest.raises(PolicyError, match="names are strings"):
        sla_controls(guests, "cpu_shares", 5)
    with pytest.raises(PolicyError, match="no field nonesuch"):
        sla_controls(guests, "cpu_shares", "nonesuch")
    with pytest.raises(PolicyError, match="cpu_count must be a number"):
        sla_cpu_quota(guests, None, 0, 100000, -1, 0.05)
    with pytest.raises(PolicyError, match="the guests"):
        sla_io_limits(5, 1, 0, 0)
    for size in ("big", None):
        with pytest.raises(PolicyError, match="sla_numa_place: min_size must be a number"):
            functions["sla_numa_place"](guests, size, "vapor")
    zero = [guest("z", "gold", vcpu_count=0, vcpu_user_limit=50)]
    with pytest.raises(PolicyError, match="division by zero"):
        sla_cpu_quota(zero, 4, 0, 100000, -1, 0.05)


def test_a_number_beyond_int64_is_refused_naming_the_guest_and_the_field():
    # the one place the builtins differ from the loops, on purpose (module doc)
    functions = resource_functions()
    huge = [guest("a", "gold"), guest("big", "gold", balloon_max=2**64)]
    with pytest.raises(PolicyError, match="sla_numa_place: guest 'big': balloon_max is not a number"):
        functions["sla_numa_place"](huge, 1024, "vapor")
