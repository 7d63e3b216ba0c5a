"""One policy cycle of the SLA set's CPU, IO, network and NUMA rules (04-07), both
implementations side by side: samples in the column store -> controls ready.

N guests of the golden data (their vCPU, balloon and IO-tune samples), classes cycled over
the five shipped ones; "contended": the host's CPUs contended, under IO pressure and with
two NUMA nodes, so every rule does its most (caps, IO caps, bandwidth, placement);
"calm": none of that (shares, weights, oVirt's limits, bandwidth).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.conftest import guest_specs, policy_cycle
from mom.plugins.collectors.io_tune import IoTune
from mom.policy_sets import shipped_set_dir
from mom.runtime.policy_store import PolicyStore
from mom.runtime.table import GuestSet, SampleTable
from mom.sla.classes import DEFAULT_CLASSES, RESOURCE_FIELDS, resource_fields
from tests.compat import golden

SIZES = [100, 1000]
CLASSES = sorted(DEFAULT_CLASSES)
POLICIES = ("04-cputune", "05-iotune", "06-network", "07-numa")
#: contended: the host's CPUs busy and waited for, IO stalled, two NUMA nodes; calm: none of it
HOSTS = {
    "contended": {"cpu_count": 64, "cpu_busy": 0.99, "cpu_some_avg10": 40.0, "io_some_avg10": 80.0,
                  "numa_node_count": 2, "ksm_merge_across_nodes": 1},
    "calm": {"cpu_count": 64, "cpu_busy": 0.30, "cpu_some_avg10": 1.0, "io_some_avg10": 2.0,
             "numa_node_count": 1, "ksm_merge_across_nodes": 1},
}  # fmt: skip


def inputs(scenario: str, n: int):  # type: ignore[no-untyped-def]
    data = golden.load()
    host_stats = HOSTS[scenario]
    host_table = SampleTable(sorted(host_stats), history=10, capacity=1)
    host_row = host_table.add_row("host")
    host_table.append(host_row, host_stats)
    fields = data["guest_fields"] + data["guest_optional_fields"] + sorted(RESOURCE_FIELDS) + ["sla_class"]
    table = SampleTable(fields, history=10, capacity=n)
    rows = []
    for index, spec in enumerate(guest_specs(n)):
        sla_class = DEFAULT_CLASSES[CLASSES[index % len(CLASSES)]]
        row = table.add_row(spec["name"], {"name": spec["name"]})
        tunes = spec["io_tune"]
        for number, sample in enumerate(spec["stats"]):
            sample = dict(sample, sla_class=sla_class.name, **resource_fields(sla_class))
            if number == len(spec["stats"]) - 1:
                sample["io_tune"] = None if tunes is None else [
                    IoTune(t["name"], t["path"], dict(t["guaranteed"]), dict(t["maximum"]), dict(t["current"]))
                    for t in tunes
                ]  # fmt: skip
                sample["io_tune_current"] = None if tunes is None else [dict(t["current"]) for t in tunes]
            table.append(row, sample)
        rows.append(row)
    return host_table.view(host_row), GuestSet(table, rows)


@pytest.mark.parametrize("scenario", sorted(HOSTS))
@pytest.mark.parametrize("n", SIZES)
def test_sla_resource_policy_cycle(benchmark, impl, scenario, n):  # type: ignore[no-untyped-def]
    host, guests = inputs(scenario, n)
    store = PolicyStore(implementation=impl)
    directory = Path(shipped_set_dir("sla"))
    for name in POLICIES:
        assert store.set_policy(name, (directory / f"{name}.policy").read_text())
    benchmark.group = f"sla-resources[{scenario}-{n}]"
    benchmark.extra_info["guests"] = n
    rounds = max(5, min(200, 50000 // n))
    ok = benchmark.pedantic(policy_cycle, args=(store, host, guests), rounds=rounds, warmup_rounds=2)
    assert ok is True
    table = guests.table
    shares = {table.get_control(int(row), "cpu_shares") for row in guests.rows}
    assert shares == {c.cpu_shares for c in DEFAULT_CLASSES.values()}
    vapor_quota = table.get_control(int(guests.rows[CLASSES.index("vapor")]), "vcpu_quota")
    assert (vapor_quota > 0) if scenario == "contended" else (vapor_quota == -1)
