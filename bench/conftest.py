"""Benchmark inputs: vdsm's six policies and N guests cycled from the golden data."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mom.plugins.collectors.io_tune import IoTune
from mom.runtime.table import GuestSet, SampleTable
from tests.compat import golden


def guest_specs(n: int) -> list[dict[str, Any]]:
    """N guests: the 500 golden guests repeated under new names."""
    base = golden.load()["guests"]
    specs = []
    for index in range(n):
        spec = copy.deepcopy(base[index % len(base)])
        spec["name"] = f"vm-{index:05d}"
        specs.append(spec)
    return specs


@pytest.fixture
def vdsm_text() -> str:
    policies = golden.load()["policies"]
    return "\n".join(policies[name] for name in sorted(policies))


SCENARIOS = {"pressure": "pressure", "no-pressure": "nopressure"}


def scenario_inputs(scenario: str, n: int) -> tuple[Any, list[Any], str]:
    """Upstream-style entities (vdsm's validator builds them so)."""
    data = golden.load()["scenarios"][SCENARIOS[scenario]]
    # plain IoTune records, as the daemon's collector makes them (the tests' recording
    # subclass would time its own bookkeeping)
    return golden.host(data["host"]), golden.guests(guest_specs(n), IoTune), data["parameters_policy"]


def column_inputs(scenario: str, n: int) -> tuple[Any, GuestSet, str]:
    """The daemon's form: every sample already appended to column-store rows."""
    data = golden.load()
    chosen = data["scenarios"][SCENARIOS[scenario]]
    host_table = SampleTable(data["host_fields"] + data["host_optional_fields"], history=10, capacity=1)
    host_row = host_table.add_row("host")
    for sample in chosen["host"]["stats"]:
        host_table.append(host_row, sample)
    table = SampleTable(data["guest_fields"] + data["guest_optional_fields"], history=10, capacity=n)
    rows = []
    for spec in guest_specs(n):
        row = table.add_row(spec["name"], {"name": spec["name"]})
        tunes = spec["io_tune"]
        for index, sample in enumerate(spec["stats"]):
            sample = dict(sample)
            if index == len(spec["stats"]) - 1:  # what the IO-tune collector adds
                sample["io_tune"] = None if tunes is None else [
                    IoTune(t["name"], t["path"], dict(t["guaranteed"]), dict(t["maximum"]), dict(t["current"])) for t in tunes
                ]
                sample["io_tune_current"] = None if tunes is None else [dict(t["current"]) for t in tunes]
            table.append(row, sample)
        rows.append(row)
    return host_table.view(host_row), GuestSet(table, rows), chosen["parameters_policy"]


def policy_cycle(store: Any, host: Any, guests: GuestSet) -> bool:
    """What PolicyEngine.do_controls does before the controllers: reset, evaluate."""
    with host.table.lock, guests.table.lock:
        host.table.clear_controls()
        guests.table.clear_controls()
        return bool(store.evaluate(host, GuestSet(guests.table, guests.rows)))
