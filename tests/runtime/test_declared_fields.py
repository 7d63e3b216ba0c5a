"""Only the fields collectors declare are visible to policies (spec 6, Entity): a key a
collector returns without declaring it stays in ``statistics`` (and getStatistics), but
``Stat``/``StatAvg`` raise KeyError and it is no attribute, in the daemon's column store
(both policy implementations) exactly as in upstream's finalized entities."""

from __future__ import annotations

import configparser

import pytest

from mom.plugins.collectors.base import Collector
from mom.runtime.monitor import Monitor
from mom.runtime.table import GuestSet, SampleTable
from tests.dsl.same import same


class Fixed(Collector):
    """Declares ``a`` (and optional ``b``) but also returns ``extra``."""

    fields = frozenset({"a"})
    optional_fields = frozenset({"b"})

    def __init__(self, a):
        super().__init__({})
        self.a = a

    def collect(self):
        return {"a": self.a, "extra": self.a * 10}


def collected_monitor(name, a, table=None):
    config = configparser.ConfigParser()
    config.read_dict({"__int__": {"plot-subdir": ""}})
    monitor = Monitor(config, name)
    monitor.collectors = [Fixed(a)]
    if table is not None:
        monitor.attach(table, table.add_row(name))
    for step in range(2):
        assert monitor.collect() is not None
        monitor.collectors[0].a += step + 1
    return monitor


def upstream_entities():
    """Entities as upstream builds them (Monitor.interrogate -> Entity._finalize)."""
    host = collected_monitor("host", 1).interrogate()
    guests = [collected_monitor(f"vm{k}", 2 + k).interrogate() for k in range(2)]
    return host, guests


def table_entities():
    """The daemon's: rows of column stores, the guests one GuestSet."""
    host_table = SampleTable(capacity=1)
    host = collected_monitor("host", 1, host_table).cycle_entity()
    table = SampleTable()
    monitors = [collected_monitor(f"vm{k}", 2 + k, table) for k in range(2)]
    return host, GuestSet(table, [monitor.row for monitor in monitors])


@pytest.mark.parametrize("entities", [upstream_entities, table_entities])
def test_undeclared_key_stays_in_statistics_only(entities):
    host, guests = entities()
    for entity in [host, *guests]:
        assert set(entity.statistics[-1]) == {"a", "b", "extra"}
        assert entity.statistics[-1]["extra"] == entity.a * 10
        assert entity.Stat("b") is None and entity.StatAvg("a") == (entity.a + entity.a - 1) / 2
        assert not hasattr(entity, "extra")
        assert "extra" not in entity._policy_values
        for method in (entity.Stat, entity.StatAvg):
            with pytest.raises(KeyError, match="Field 'extra' is not declared in any collector."):
                method("extra")


POLICIES = [
    "Host.a",
    "Host.extra",
    '(Host.Stat "extra")',
    '(Host.StatAvg "extra")',
    "(with Guests g g.a)",
    "(with Guests g g.extra)",
    '(with Guests g (g.Stat "extra"))',
    '(with Guests g (g.StatAvg "extra"))',
    '(with Guests g (g.StatAvg "a"))',
]


def outcome(impl, text, host, guests):
    try:
        return impl.compile_policy(text).evaluate(host, guests)
    except Exception as error:  # the error is the outcome compared
        return (type(error), str(error))


@pytest.mark.parametrize("text", POLICIES)
def test_policies_see_the_declared_fields_as_upstream(impl, text):
    expected = outcome(impl, text, *upstream_entities())
    assert same(outcome(impl, text, *table_entities()), expected)


def test_undeclared_fields_are_not_policy_fields():
    table = SampleTable(["x"])
    assert table.policy_field_index is table.field_index  # nothing declared: every field
    assert table.policy_fields == {"x"}
    table.declare(["a", "b"])
    row = table.add_row("vm")
    table.append(row, {"a": 1, "extra": 2, "x": 3})
    assert table.policy_fields == {"a", "b"}
    assert table.policy_field_index == {"a": table.field_index["a"], "b": table.field_index["b"]}
    table.declare(["c"])  # monitors sharing the table add their fields up
    assert table.policy_fields == {"a", "b", "c"} and set(table.fields) == {"x", "a", "b", "c", "extra"}
    view = table.view(row)
    assert view._policy_values == {"a": 1}  # b and c not sampled yet: absent
    assert view.statistics[-1] == {"x": 3, "a": 1, "extra": 2}
