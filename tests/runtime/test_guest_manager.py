"""The guest manager's locks: a guest vanishing while a policy cycle starts, on libvirt's
in-process test driver (the daemon's own monitors, engine and libvirt interface)."""

from __future__ import annotations

import threading

import pytest

from tests.helpers import LibvirtTickRig, wait_for


@pytest.fixture
def rig(tmp_path):
    rig = LibvirtTickRig(str(tmp_path), 3)
    rig.guest_manager.collect_guests()
    yield rig
    rig.close()


def vm_id_of(manager, name):
    return next(vm_id for vm_id, monitor in manager.guests.items() if monitor.name == name)


def run_daemon_thread(target, name):
    # daemon: a deadlocked thread must not keep the test process alive
    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread


def test_vanishing_guest_while_a_cycle_starts_does_not_deadlock(rig):
    """The engine holds the table's lock and asks for the ready guests (guests_lock)
    while the manager drops a vanished guest (guests_lock, then the row: table lock)."""
    manager = rig.guest_manager
    gone = vm_id_of(manager, "vm0001")
    rig.iface.conn.lookupByName("vm0001").destroy()
    engine_holds_table = threading.Event()
    guest_popped = threading.Event()
    chosen = []

    def engine_side():
        with manager.table.lock:  # as do_controls holds it
            engine_holds_table.set()
            guest_popped.wait(10)
            chosen.append(manager.guest_set())

    def manager_side():
        engine_holds_table.wait(10)
        manager.update_guests()

    engine = run_daemon_thread(engine_side, "engine-side")
    dropper = run_daemon_thread(manager_side, "manager-side")
    # the manager has taken the guest out of its dict (and, before the fix, kept
    # guests_lock while waiting for the table's lock)
    wait_for(lambda: gone not in manager.guests or not dropper.is_alive(), timeout=10)
    guest_popped.set()
    engine.join(10)
    dropper.join(10)
    assert not engine.is_alive() and not dropper.is_alive(), "deadlock between guests_lock and the table's lock"
    rows = chosen[0].rows.tolist()
    assert sorted(manager.table.names[row] for row in rows) == ["vm0000", "vm0002"]
    assert sorted(monitor.name for monitor in manager.guests.values()) == ["vm0000", "vm0002"]


def test_a_cycle_evaluates_rows_that_still_belong_to_its_guests(rig):
    """A guest dropped right after the cycle chose its guests keeps its row until the
    policy is done with it (the row could otherwise be freed, or given to a new guest)."""
    manager, engine = rig.guest_manager, rig.engine
    rig.iface.conn.lookupByName("vm0001").destroy()
    choose = manager.guest_set
    droppers = []

    def guest_set_then_drop():
        guests = choose()
        dropper = run_daemon_thread(manager.update_guests, "manager-side")
        droppers.append(dropper)
        dropper.join(0.5)  # returns at once if nothing keeps the row from being freed
        return guests

    seen = []
    evaluate = engine.policy.evaluate

    def recording_evaluate(host, guests):
        seen.append([(row, manager.table.names[row]) for row in guests.rows.tolist()])
        return evaluate(host, guests)

    manager.guest_set = guest_set_then_drop
    engine.policy.evaluate = recording_evaluate
    assert engine.do_controls()
    droppers[0].join(10)
    assert not droppers[0].is_alive()
    assert sorted(name for _row, name in seen[0]) == ["vm0000", "vm0001", "vm0002"]
    # the row is gone only after the cycle
    assert "vm0001" not in [monitor.name for monitor in manager.guests.values()]
    assert "vm0001" not in manager.table.names


class CountingInfo:
    """getVmInfo wrapped: how many times a guest was asked about."""

    def __init__(self, iface):
        self.real_info = iface.getVmInfo
        self.infos = 0
        iface.getVmInfo = self.info

    def info(self, vm_id):
        self.infos += 1
        return self.real_info(vm_id)


def names(manager):
    return sorted(monitor.name for monitor in manager.guests.values())


def settle(rig):
    manager = rig.guest_manager
    manager.update_guests()
    manager.collect_guests()
    manager.update_guests()
    assert manager._settled_list is not None


def test_an_unchanged_list_settles_and_a_removed_or_added_guest_is_noticed(rig):
    manager = rig.guest_manager
    settle(rig)
    before = dict(manager.guests)
    manager.update_guests()
    assert manager.guests == before and names(manager) == ["vm0000", "vm0001", "vm0002"]
    domain = rig.iface.conn.lookupByName("vm0001")
    domain.destroy()
    manager.update_guests()
    assert names(manager) == ["vm0000", "vm0002"]
    domain.create()  # back: a guest added to a settled list
    manager.update_guests()
    assert names(manager) == ["vm0000", "vm0001", "vm0002"]


def test_a_terminated_monitor_in_a_settled_list_is_noticed_and_respawned_after_its_backoff(rig):
    manager = rig.guest_manager
    settle(rig)
    vm_id = vm_id_of(manager, "vm0002")
    stopped = manager.guests[vm_id]
    stopped.terminate()
    manager.update_guests()  # noticed in a settled list: a new monitor (the old one was healthy)
    assert vm_id in manager.guests and manager.guests[vm_id] is not stopped
    manager.guests[vm_id].terminate()  # stopped again before a single sample: a back-off
    manager.update_guests()
    assert vm_id not in manager.guests and manager.respawn_after[vm_id][0] > 0
    manager.update_guests()  # the back-off pending: still none
    assert vm_id not in manager.guests
    _, backoff = manager.respawn_after[vm_id]
    manager.respawn_after[vm_id] = (0.0, backoff)  # the back-off expired
    manager.update_guests()
    assert vm_id in manager.guests and manager.guests[vm_id] is not stopped
    manager.collect_guests()
    manager.update_guests()  # healthy again: the back-off forgotten, settled once more
    assert not manager.respawn_after and manager._settled_list is not None
    assert names(manager) == ["vm0000", "vm0001", "vm0002"]


def test_a_settled_pass_asks_nothing_per_guest(rig):
    manager = rig.guest_manager
    settle(rig)
    spy = CountingInfo(rig.iface)
    monitors = dict(manager.guests)
    for _ in range(3):
        manager.update_guests()
    assert spy.infos == 0 and manager.guests == monitors
    assert manager._settled_list == rig.iface.getVmList()
