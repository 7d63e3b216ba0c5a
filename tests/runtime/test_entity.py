"""Entity and Monitor as upstream's consumers use them (spec 1.2 and 6)."""

from __future__ import annotations

import configparser
import json

import pytest

import mom
from mom.errors import EntityError


def validator_entity(stats, fields, optional=()):  # type: ignore[no-untyped-def]
    """Exactly what vdsm's tests/mom_policy_validator.py does."""
    config = configparser.ConfigParser()
    config.add_section("__int__")
    config.set("__int__", "plot-subdir", "")
    monitor = mom.Monitor.Monitor(config, "vm")
    entity = mom.Entity.Entity(monitor)
    for sample in stats:
        entity.statistics.append(sample)
    entity.monitor.fields = set(fields)
    entity.monitor.optional_fields = list(optional)  # a list, as vdsm sets it
    entity._finalize()
    return entity


def test_vdsm_validator_flow():
    host = validator_entity([{"mem_free": 10, "mem_available": 100}], ["mem_free", "mem_available"])
    vm = validator_entity([{"balloon_cur": 50, "junk": 1}], ["balloon_cur"])
    policy = mom.Policy.Policy.Policy()
    assert policy.set_policy("test.policy", '(with Guests g (g.Control "balloon_target" (* g.balloon_cur Host.mem_free)))')
    assert policy.evaluate(host, [vm]) is True
    assert json.dumps(vm.controls) == '{"balloon_target": 500}'
    assert vm.balloon_cur == 50
    assert not hasattr(vm, "junk")  # undeclared fields stay in statistics only
    assert vm.statistics[-1]["junk"] == 1


def test_stat_and_statavg():
    entity = validator_entity(
        [{"a": 1, "b": None}, {"a": 2, "b": None}, {"a": 4, "b": 3.5}], ["a"], optional=["b", "c"]
    )
    assert entity.Stat("a") == 4
    assert entity.Stat("c") is None and entity.Stat("c", 7) == 7
    assert entity.StatAvg("a") == 7 / 3 and type(entity.StatAvg("a")) is float
    assert entity.StatAvg("b") == 3.5  # None samples are skipped
    assert entity.StatAvg("c") == 0.0
    with pytest.raises(KeyError, match="Field 'zzz' is not declared in any collector."):
        entity.Stat("zzz")
    empty = validator_entity([], ["a"])
    assert empty.Stat("a") is None
    with pytest.raises(EntityError, match="Statistic 'a' not available"):
        empty.StatAvg("a")


def test_statavg_sums_in_order_like_upstream():
    # compensated summation (CPython >= 3.12 sum()) would give 0.30000000000000004 / 3 otherwise
    values = [0.1, 0.2, 0.3, 1e16, -1e16]
    entity = validator_entity([{"x": v} for v in values], ["x"])
    total = 0.0
    for v in values:
        total += v
    assert entity.StatAvg("x") == total / len(values)


def test_controls_variables_properties():
    entity = validator_entity([{"a": 1}], ["a"])
    entity.properties["name"] = "vm1"
    assert entity.Prop("name") == "vm1"
    assert entity.GetControl("balloon_target") is None
    entity.Control("balloon_target", 5)
    assert entity.GetControl("balloon_target") == 5 and entity.controls == {"balloon_target": 5}
    entity.SetVar("x", 3)
    assert entity.GetVar("x") == 3
    assert "vm1" in entity._disp("vm1")


def test_monitor_fields_and_interrogate():
    monitor = validator_entity([{"a": 1}], ["a"]).monitor
    monitor.optional_fields = ["b"]
    assert monitor.valid_fields == {"a", "b"}
    assert monitor.interrogate() is None  # not ready
    monitor.statistics.append({"a": 5, "b": None})
    monitor.properties["name"] = "vm"
    monitor.ready = True
    entity = monitor.interrogate()
    assert entity.a == 5 and entity.b is None and entity.Prop("name") == "vm"
    assert monitor.isReady() is True


def test_readers_do_not_reset_a_cycle_in_progress():
    """getStatistics (interrogate) between the policy and the controllers keeps the controls."""
    from mom.runtime.table import SampleTable

    monitor = validator_entity([{"a": 1}], ["a"]).monitor
    table = SampleTable(["a"])
    monitor.attach(table, table.add_row("vm"))
    table.append(monitor.row, {"a": 2})
    monitor.ready = True
    entity = monitor.cycle_entity()  # the policy cycle starts: no controls
    entity.Control("balloon_target", 5)
    assert monitor.interrogate().statistics[-1] == {"a": 2}  # a reader meanwhile
    assert entity.GetControl("balloon_target") == 5 and entity.controls == {"balloon_target": 5}
    assert monitor.cycle_entity().controls == {}  # the next cycle starts afresh
