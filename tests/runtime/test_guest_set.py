"""guest_set() keeps its ready rows from one cycle to the next: every change to who is
ready, or where, shows in the very next set (libvirt's in-process test driver).

Each test compares the set with what the guests dict says now, asked the plain way
(every monitor's isReady(), in the dict's order)."""

from __future__ import annotations

import logging
import random

import pytest

from tests.helpers import LATE_DOMAIN_XML as NEW_DOMAIN
from tests.helpers import LibvirtTickRig


@pytest.fixture
def rig(tmp_path):
    rig = LibvirtTickRig(str(tmp_path), 4)
    rig.guest_manager.collect_guests()
    yield rig
    rig.close()


def names_in(manager, guests):
    return [manager.table.names[row] for row in guests.rows.tolist()]


def ready_now(manager):
    return [monitor.name for monitor in manager.guests.values() if monitor.isReady()]


def monitor_named(manager, name):
    return next(monitor for monitor in manager.guests.values() if monitor.name == name)


def test_every_ready_guest_in_the_dicts_order(rig):
    manager = rig.guest_manager
    first = names_in(manager, manager.guest_set())
    assert first == ready_now(manager)
    assert sorted(first) == ["vm0000", "vm0001", "vm0002", "vm0003"]
    assert names_in(manager, manager.guest_set()) == first  # unchanged: the same again


def test_a_guest_becoming_not_ready_then_ready_again(rig):
    manager = rig.guest_manager
    manager.guest_set()
    monitor = monitor_named(manager, "vm0001")
    monitor._set_not_ready("test", logging.DEBUG)
    assert names_in(manager, manager.guest_set()) == ready_now(manager)
    assert "vm0001" not in ready_now(manager) and len(ready_now(manager)) == 3
    monitor.became_ready()
    assert names_in(manager, manager.guest_set()) == ready_now(manager)
    assert "vm0001" in ready_now(manager) and len(ready_now(manager)) == 4


def test_readiness_set_directly_on_the_monitor(rig):
    manager = rig.guest_manager
    manager.guest_set()
    everyone = ready_now(manager)
    monitor_named(manager, "vm0002").ready = None
    assert names_in(manager, manager.guest_set()) == [name for name in everyone if name != "vm0002"]
    monitor_named(manager, "vm0002").ready = True
    assert names_in(manager, manager.guest_set()) == everyone


def test_a_guest_removed_then_one_added_in_its_row(rig):
    manager, conn = rig.guest_manager, rig.iface.conn
    manager.guest_set()
    freed = monitor_named(manager, "vm0001").row
    conn.lookupByName("vm0001").destroy()
    manager.update_guests()
    before = names_in(manager, manager.guest_set())
    assert before == ready_now(manager) and sorted(before) == ["vm0000", "vm0002", "vm0003"]
    conn.createXML(NEW_DOMAIN, 0)
    manager.update_guests()
    late = monitor_named(manager, "late")
    assert late.row == freed  # the freed row, given to the newcomer
    # known but not collected yet: not ready, not in the set
    assert names_in(manager, manager.guest_set()) == before
    manager.collect_guests()
    assert names_in(manager, manager.guest_set()) == ready_now(manager) == [*before, "late"]


def test_the_guests_dict_reordered(rig):
    manager = rig.guest_manager
    first = names_in(manager, manager.guest_set())
    with manager.guests_lock:
        manager.guests = dict(reversed(list(manager.guests.items())))
    assert names_in(manager, manager.guest_set()) == first[::-1]


def test_a_monitor_whose_variables_change(rig):
    manager = rig.guest_manager
    monitor = monitor_named(manager, "vm0000")
    manager.guest_set()
    monitor.variables["seen"] = 1
    manager.guest_set()
    assert manager.table.variables[monitor.row] == {"seen": 1}
    monitor.variables.clear()
    manager.guest_set()
    assert manager.table.variables[monitor.row] == {}


def test_a_policys_variables_do_not_outlive_their_cycle(rig):
    manager = rig.guest_manager
    monitor = monitor_named(manager, "vm0003")
    monitor.variables["kept"] = "monitor's"
    guests = manager.guest_set()
    row_entity = manager.table.view(monitor.row)
    row_entity.SetVar("kept", "policy's")
    row_entity.SetVar("extra", 2)
    other = manager.table.view(monitor_named(manager, "vm0001").row)
    other.SetVar("extra", 3)
    assert len(guests) == 4
    manager.guest_set()
    assert manager.table.variables[monitor.row] == {"kept": "monitor's"}
    assert manager.table.variables[other.row] == {}


def test_a_monitor_class_with_its_own_readiness_is_asked_every_cycle(rig):
    manager = rig.guest_manager
    monitor = monitor_named(manager, "vm0000")
    answers = {"ready": True}

    class Asked(type(monitor)):
        def isReady(self):
            return answers["ready"]

    monitor.__class__ = Asked
    assert "vm0000" in names_in(manager, manager.guest_set())
    answers["ready"] = False  # nothing on the monitor changed: only its answer
    assert "vm0000" not in names_in(manager, manager.guest_set())
    answers["ready"] = True
    assert "vm0000" in names_in(manager, manager.guest_set())


def check_set(manager, guests):
    """The set is what the guests dict says now, and every ready row starts the cycle
    from a copy of its monitor's variables (a row not ready is left as it was)."""
    assert names_in(manager, guests) == ready_now(manager)
    for monitor in manager.guests.values():
        if monitor.isReady():
            row_variables = manager.table.variables[monitor.row]
            assert row_variables == monitor.variables, monitor.name
            assert row_variables is not monitor.variables or not row_variables  # a copy, if any


def test_variables_only_on_the_last_rows(rig):
    # the passes start at the first row with any: those after it are all seen
    manager = rig.guest_manager
    manager.guest_set()
    monitors = [monitor for monitor in manager.guests.values() if monitor.isReady()]
    third, last = monitors[2], monitors[3]
    manager.table.view(last.row).SetVar("policy", 1)  # a policy's, on the last row
    third.variables["own"] = "third's"
    check_set(manager, manager.guest_set())
    assert manager.table.variables[last.row] == {} and manager.table.variables[third.row] == {"own": "third's"}
    manager.table.view(monitors[1].row).SetVar("policy", 2)
    manager.table.view(last.row).SetVar("policy", 3)  # two rows, the first of them not the last
    check_set(manager, manager.guest_set())
    assert manager.table.variables[monitors[1].row] == {} and manager.table.variables[last.row] == {}
    third.variables.clear()
    last.variables["own"] = "last's"
    check_set(manager, manager.guest_set())
    assert manager.table.variables[third.row] == {} and manager.table.variables[last.row] == {"own": "last's"}


def test_a_not_ready_guests_row_is_left_as_it_was(rig):
    manager = rig.guest_manager
    monitor = monitor_named(manager, "vm0001")
    manager.guest_set()
    manager.table.view(monitor.row).SetVar("policy", 1)
    monitor.variables["own"] = 2
    monitor.ready = False
    guests = manager.guest_set()
    check_set(manager, guests)
    assert "vm0001" not in names_in(manager, guests)
    assert manager.table.variables[monitor.row] == {"policy": 1}  # not in the cycle: not reset
    monitor.ready = True
    check_set(manager, manager.guest_set())
    assert manager.table.variables[monitor.row] == {"own": 2}


def test_random_changes_between_two_sets(tmp_path):
    # each step changes the guests between two sets the way momd's threads and a
    # policy do, and the very next set shows it
    rng = random.Random(1203)
    rig = LibvirtTickRig(str(tmp_path), 6)
    try:
        manager, conn = rig.guest_manager, rig.iface.conn
        manager.collect_guests()
        check_set(manager, manager.guest_set())
        added = 0
        for _ in range(60):
            monitors = list(manager.guests.values())
            monitor = rng.choice(monitors)
            change = rng.randrange(7)
            if change == 0:
                monitor.ready = rng.choice([True, False, None])
            elif change == 1:
                monitor.became_ready() if rng.random() < 0.5 else monitor._set_not_ready("test", logging.DEBUG)
            elif change == 2:
                monitor.variables[rng.choice("ab")] = rng.randrange(3)
            elif change == 3:
                monitor.variables.clear()
            elif change == 4:
                manager.table.view(monitor.row).SetVar(rng.choice("ab"), rng.randrange(3))  # a policy's
            elif change == 5 and len(monitors) > 2:
                conn.lookupByName(monitor.name).destroy()
                manager.update_guests()
            elif change == 6:
                added += 1
                conn.createXML(NEW_DOMAIN.replace("<name>late</name>", f"<name>late{added}</name>"), 0)
                manager.update_guests()
                if rng.random() < 0.5:
                    manager.collect_guests()  # ready at once, or known and not ready yet
            check_set(manager, manager.guest_set())
            check_set(manager, manager.guest_set())  # and the same again, nothing changed
    finally:
        rig.close()
