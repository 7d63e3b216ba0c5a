"""Upstream's texts and results where the daemon's store differs in kind from upstream's
objects (issue 16, fuzzing items 2 and 3), on both implementations."""

from __future__ import annotations

import logging

import pytest

from mom.runtime.policy_store import PolicyStore
from mom.runtime.table import GuestSet, SampleTable


def daemon_inputs():  # type: ignore[no-untyped-def]
    host_table = SampleTable(["mem_free"], history=3, capacity=1)
    host_row = host_table.add_row("host")
    host_table.append(host_row, {"mem_free": 10})
    guests = SampleTable(["balloon_cur"], history=3, capacity=2)
    rows = [guests.add_row(name) for name in ("g1", "g2")]
    for row in rows:
        guests.append(row, {"balloon_cur": 5})
    return host_table.view(host_row), GuestSet(guests, rows)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("(+ Host 1)", "unsupported operand type(s) for +: 'Entity' and 'int'"),
        ("(- 1 Host)", "unsupported operand type(s) for -: 'int' and 'Entity'"),
        ("(< Guests 1)", "'<' not supported between instances of 'list' and 'int'"),
        ("(with Guests g (* g 2.0))", "unsupported operand type(s) for *: 'Entity' and 'float'"),
    ],
)
def test_type_names_in_messages_are_upstreams(impl, text, message):  # type: ignore[no-untyped-def]
    host, guests = daemon_inputs()
    store = PolicyStore(implementation=impl)
    assert store.set_policy(None, text)
    assert store.evaluate(host, guests) is False
    assert type(store.last_error) is TypeError
    assert str(store.last_error) == message


def test_the_classes_keep_their_own_qualified_names():
    host, guests = daemon_inputs()
    assert type(host).__qualname__ == "RowEntity" and type(guests).__qualname__ == "GuestSet"
    assert repr(host).startswith("<RowEntity 'host'")


def results_logged(store, caplog):  # type: ignore[no-untyped-def]
    host, guests = daemon_inputs()
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="mom.Policy"):
        assert store.evaluate(host, guests) is True
    return [record.getMessage() for record in caplog.records if record.getMessage().startswith("Results:")]


def test_no_program_before_the_first_good_set_policy(impl, caplog):  # type: ignore[no-untyped-def]
    store = PolicyStore(implementation=impl)
    assert results_logged(store, caplog) == ["Results: []"]
    assert store.set_policy("a", "(+ 1") is False  # the first set_policy fails
    assert results_logged(store, caplog) == ["Results: []"]
    assert store.set_policy("a", "(+ 1 2)") is True
    assert results_logged(store, caplog) == ["Results: [3]"]
    assert store.set_policy("a", None) is True  # no texts: the joined text is '0'
    assert results_logged(store, caplog) == ["Results: [0]"]
    store.clear_policy()  # upstream empties the program too
    assert results_logged(store, caplog) == ["Results: []"]
