"""The Lifecycle controller on a recording interface: gates, rate limits, dry run, restore, failures."""

from __future__ import annotations

import dataclasses
import json
import logging
from types import SimpleNamespace

import pytest

from mom.config import Settings
from mom.plugins.controllers.lifecycle import Lifecycle
from mom.sla.state import StateFile
from tests.lifecycle.fakes import GIB, Clock, FakeLibvirt, FakeVdsm, guest, host, wait_for

PEER_A, PEER_B, PEER_C = "qemu+ssh://a/system", "qemu+ssh://b/system", "qemu+ssh://c/system"


def make(iface, tmp_path=None, clock=None, **keys):
    settings = dataclasses.replace(Settings(), **{"lifecycle_actions": "on", **keys})
    state = StateFile(str(tmp_path / "state.json") if tmp_path is not None else "")
    state.load()
    properties = {"hypervisor_iface": iface, "settings": settings, "sla_registry": SimpleNamespace(state=state)}
    return Lifecycle(properties, clock=clock or Clock())


def hostile(guests):
    """A policy that asks every guest to be powered off and migrated."""
    for entity in guests:
        entity.Control("power", "off")
        entity.Control("migrate", 1)
    return guests


def fleet():
    return [
        guest("plat", "u-plat", "platinum", 90),
        guest("gold", "u-gold", "gold", 80),
        guest("std", "u-std", "standard"),
        guest("vap-hi", "u-vap-hi", "vapor", 60),
        guest("vap-lo", "u-vap-lo", "vapor", 10),
    ]


def results(controller, action=None):
    return [(r.guest, r.action, r.result) for r in controller.audit.last() if action in (None, r.action)]


def test_hostile_policy_never_touches_platinum_or_gold_and_keeps_the_rate_limits(caplog):
    iface = FakeLibvirt(peers={PEER_A: 64 * GIB})
    clock = Clock()
    controller = make(iface, clock=clock, migration_peers=(PEER_A,))
    with caplog.at_level(logging.WARNING, logger="mom.Lifecycle"):
        for _ in range(5):  # five cycles within one interval
            controller.process(host(1 * GIB), hostile(fleet()))
            controller.power_worker.wait_idle(5)
            controller.migration_worker.wait_idle(5)
            clock.now += 10
    powered = [call[1] for call in iface.names("shutdownVm")]
    migrated = [call[1] for call in iface.names("migrateVm")]
    assert powered == ["u-vap-lo"]  # one power-off per 60 s, the most expendable first
    assert "u-plat" not in migrated and "u-gold" not in migrated
    assert not any(call[1] in ("u-plat", "u-gold") for call in iface.calls)
    refused = {(g, a) for g, a, r in results(controller) if r == "refused"}
    for name in ("plat", "gold"):
        assert (name, "power-off") in refused and (name, "migrate") in refused
    assert ("std", "power-off") in refused  # standard does not allow power-off
    texts = [r.getMessage() for r in caplog.records]
    assert any("guest plat (u-plat): power-off (shutdown) refused: class platinum is never" in t for t in texts)
    assert any("guest vap-lo (u-vap-lo): power-off (shutdown) done" in t for t in texts)
    # after the interval, the next one
    clock.now += 60
    controller.process(host(1 * GIB), hostile(fleet()[:4]))
    controller.power_worker.wait_idle(5)
    assert [call[1] for call in iface.names("shutdownVm")] == ["u-vap-lo", "u-vap-hi"]


def test_one_migration_at_a_time():
    iface = FakeLibvirt(peers={PEER_A: 64 * GIB})
    iface.slow["migrateVm"] = 10
    controller = make(iface, migration_peers=(PEER_A,))
    guests = [guest("s1", "u1", "standard"), guest("s2", "u2", "standard")]
    for entity in guests:
        entity.Control("migrate", 1)
    controller.process(host(1 * GIB), guests)
    wait_for(lambda: iface.names("migrateVm"), what="the first migration")
    assert ("s2", "migrate", "refused") in results(controller)
    assert "a migration is still running" in controller.audit.last()[-1].detail
    iface.release.set()
    controller.migration_worker.wait_idle(5)
    assert [call[1] for call in iface.names("migrateVm")] == ["u1"]


def test_actions_are_off_unless_configured():
    iface = FakeLibvirt()
    controller = make(iface, lifecycle_actions=Settings().lifecycle_actions)
    assert controller.mode == "off"
    controller.process(host(1 * GIB), hostile([guest("v", "u-v", "vapor")]))
    assert iface.calls == []
    record = controller.audit.last()[0]
    assert (record.action, record.result, record.detail) == ("power-off", "refused", "lifecycle-actions = off")
    # the same refusal, asked every cycle, is audited once (no log flood)
    controller.process(host(1 * GIB), hostile([guest("v", "u-v", "vapor")]))
    assert len([r for r in controller.audit.last() if r.action == "power-off"]) == 1


def test_log_only_records_what_would_be_done_with_the_same_limits():
    iface = FakeLibvirt()
    clock = Clock()
    controller = make(iface, clock=clock, lifecycle_actions="log-only")
    guests = [guest("v1", "u1", "vapor", 10), guest("v2", "u2", "vapor", 20)]
    for entity in guests:
        entity.Control("power", "off")
    controller.process(host(1 * GIB), guests)
    assert iface.calls == []
    assert results(controller) == [("v1", "power-off", "dry-run"), ("v2", "power-off", "refused")]
    assert controller.audit.counters()[("power-off", "dry-run")] == 1


def test_reason_names_free_memory_and_guarantees_at_risk():
    iface = FakeLibvirt()
    controller = make(iface)
    guests = [
        guest("plat", "u-p", "platinum", balloon_max=8 * GIB),
        guest("g", "u-g", "gold", balloon_max=8 * GIB),
        guest("v", "u-v", "vapor", balloon_max=1 * GIB),
    ]
    guests[1].statistics[-1]["sla_guarantee"] = 6 * GIB
    guests[2].Control("power", "off")
    # 17 GiB of guests, 100 MiB free on 16 GiB (threshold 3.2 GiB): gold's guarantee cannot be kept
    controller.process(host(100 * 1024, total_kib=16 * GIB), guests)
    controller.power_worker.wait_idle(5)
    record = controller.audit.last()[-1]
    assert record.result == "done"
    assert "host free 102400 KiB of 16777216 KiB" in record.reason
    assert "guarantees at risk: g" in record.reason


def test_restore_only_what_momd_stopped_after_memory_stays_plentiful_and_across_a_restart(tmp_path):
    iface = FakeLibvirt()
    clock = Clock()
    controller = make(iface, tmp_path, clock=clock, restore_after=120, power_off_interval=60)
    victim = guest("v", "u-v", "vapor", 10)
    victim.Control("power", "off")
    controller.process(host(1 * GIB), [victim, guest("other", "u-o", "vapor")])
    controller.power_worker.wait_idle(5)
    saved = json.loads((tmp_path / "state.json").read_text())
    assert [g["uuid"] for g in saved["lifecycle"]["stopped"]] == ["u-v"]
    assert saved["lifecycle"]["actions"][-1]["result"] == "done"
    # momd restarts: the new controller knows what it stopped (and nothing else)
    clock2 = Clock(5000.0)
    again = make(iface, tmp_path, clock=clock2, restore_after=120, power_off_interval=60)
    assert [g.uuid for g in again.stopped.in_restart_order()] == ["u-v"]
    plentiful = host(12 * GIB)
    again.process(plentiful, [guest("other", "u-o", "vapor")])
    clock2.now += 100
    again.process(plentiful, [guest("other", "u-o", "vapor")])
    assert iface.names("startVm") == []  # not plentiful for long enough yet
    clock2.now += 30
    again.process(plentiful, [guest("other", "u-o", "vapor")])
    again.power_worker.wait_idle(5)
    assert [call[1] for call in iface.names("startVm")] == ["u-v"]
    assert ("v", "restore", "done") in results(again)
    assert len(again.stopped) == 0
    assert json.loads((tmp_path / "state.json").read_text())["lifecycle"]["stopped"] == []


def test_pressure_or_a_request_restarts_the_wait():
    iface = FakeLibvirt()
    clock = Clock()
    controller = make(iface, clock=clock, restore_after=100)
    victim = guest("v", "u-v", "vapor")
    victim.Control("power", "off")
    controller.process(host(1 * GIB), [victim])
    controller.power_worker.wait_idle(5)
    for free in (12 * GIB, 12 * GIB, 2 * GIB, 12 * GIB, 12 * GIB):  # 2 GiB: below 20 % + 5 % of 16
        clock.now += 60
        controller.process(host(free), [])
    assert iface.names("startVm") == []
    clock.now += 60
    controller.process(host(12 * GIB), [])
    controller.power_worker.wait_idle(5)
    assert len(iface.names("startVm")) == 1


def test_restart_order_is_best_class_then_priority_one_per_interval():
    iface = FakeLibvirt()
    clock = Clock()
    controller = make(iface, clock=clock, restore_after=10, power_off_interval=60)
    for name, priority in (("low", 10), ("high", 90)):
        entity = guest(name, "u-" + name, "vapor", priority)
        entity.Control("power", "off")
        controller.process(host(1 * GIB), [entity])
        controller.power_worker.wait_idle(5)
        clock.now += 61
    for _ in range(5):  # restores at the 2nd and 4th cycles (calm for 10 s, then 60 s apart)
        controller.process(host(14 * GIB), [])
        controller.power_worker.wait_idle(5)
        clock.now += 30
    assert [call[1] for call in iface.names("startVm")] == ["u-high", "u-low"]


def test_a_guest_that_will_not_shut_down_times_out_without_blocking_the_cycle(caplog):
    iface = FakeLibvirt()
    iface.slow["shutdownVm"] = 30
    controller = make(iface, shutdown_timeout=0.2, action_timeout=0.2)
    victim = guest("stuck", "u-s", "vapor")
    victim.Control("power", "off")
    controller.process(host(1 * GIB), [victim])  # returns at once: the worker has it
    assert controller.power_worker.busy
    wait_for(lambda: results(controller), what="the timeout")
    assert results(controller) == [("stuck", "power-off", "timed-out")]
    assert len(controller.stopped) == 0
    iface.release.set()
    assert controller.power_worker.wait_idle(5)


def test_a_failing_shutdown_is_audited_and_the_guest_not_recorded():
    iface = FakeLibvirt()
    iface.fail["shutdownVm"] = "internal error: guest agent went away"
    controller = make(iface)
    victim = guest("v", "u-v", "vapor")
    victim.Control("power", "off")
    controller.process(host(1 * GIB), [victim])
    controller.power_worker.wait_idle(5)
    record = controller.audit.last()[-1]
    assert record.result == "failed" and "guest agent went away" in record.detail
    assert len(controller.stopped) == 0


@pytest.mark.parametrize("how, method", [("destroy", "destroyVm"), ("managedsave", "managedSaveVm")])
def test_vapor_action_chooses_the_call(how, method):
    iface = FakeLibvirt()
    controller = make(iface, vapor_action=how)
    victim = guest("v", "u-v", "vapor")
    victim.Control("power", "off")
    controller.process(host(1 * GIB), [victim])
    controller.power_worker.wait_idle(5)
    assert [call[0] for call in iface.calls] == ["getVmLifecycleInfo", method]
    assert controller.stopped.in_restart_order()[0].how == how


def test_migration_picks_a_peer_that_fits_after_shrinking_the_balloon():
    iface = FakeLibvirt(peers={PEER_A: "Connection refused", PEER_B: 1 * GIB, PEER_C: 8 * GIB})
    controller = make(iface, migration_peers=(PEER_A, PEER_B, PEER_C), migration_bandwidth=100)
    entity = guest("s", "u-s", "standard", balloon_max=2 * GIB, balloon_min=512 * 1024)
    entity.Control("migrate", 1)
    controller.process(host(1 * GIB), [entity])
    controller.migration_worker.wait_idle(5)
    names = [call[0] for call in iface.calls]
    assert names == ["getPeerFreeMemory"] * 3 + ["setVmBalloonTarget", "migrateVm"]
    # shrunk to its safety floor (what it uses, 1.5 GiB, plus min-guest-free), not to
    # balloon_min: a failed migration must not leave it squeezed below what it uses
    assert iface.calls[3] == ("setVmBalloonTarget", "u-s", 3 * GIB // 2 + 65536)
    assert iface.calls[4] == ("migrateVm", "u-s", PEER_C, 100, False)
    record = controller.audit.last()[-1]
    assert (record.result, record.how) == ("done", PEER_C)
    assert "Connection refused" in record.detail  # the peer that was down is named


def test_no_peer_fits_or_all_down_leaves_the_guest_where_it_is():
    iface = FakeLibvirt(peers={PEER_A: "No route to host", PEER_B: 1024})
    controller = make(iface, migration_peers=(PEER_A, PEER_B))
    entity = guest("s", "u-s", "standard")
    entity.Control("migrate", PEER_B)
    controller.process(host(1 * GIB), [entity])
    controller.migration_worker.wait_idle(5)
    record = controller.audit.last()[-1]
    assert record.result == "failed" and "keeps running here" in record.detail
    assert iface.names("migrateVm") == []
    # a peer that is not configured is refused outright
    entity = guest("s", "u-s", "standard")
    entity.Control("migrate", "qemu+ssh://elsewhere/system")
    controller.process(host(1 * GIB), [entity])
    assert "is not one of [migration] peers" in controller.audit.last()[-1].detail


def test_a_migration_that_times_out_is_audited_as_such():
    iface = FakeLibvirt(peers={PEER_A: 64 * GIB})
    iface.fail["migrateVm"] = "migration to x aborted after 300 s: operation aborted"
    controller = make(iface, migration_peers=(PEER_A,))
    entity = guest("s", "u-s", "standard")
    entity.Control("migrate", 1)
    controller.process(host(1 * GIB), [entity])
    controller.migration_worker.wait_idle(5)
    assert results(controller) == [("s", "migrate", "timed-out")]


def test_vdsm_recommends_migrations_and_powers_off_through_vdsm_only():
    iface = FakeVdsm()
    controller = make(iface, migration_peers=(PEER_A,))
    entity = guest("s", "u-s", "standard")
    entity.Control("migrate", 1)
    controller.process(host(1 * GIB), [entity])
    assert iface.calls == []
    assert results(controller) == [("s", "migrate", "recommended")]
    assert controller.rpc_get_actions()["recommendations"][0]["guest"] == "s"
    victim = guest("v", "u-v", "vapor")
    victim.Control("power", "off")
    controller.process(host(1 * GIB), [victim])
    controller.power_worker.wait_idle(5)
    assert [call[0] for call in iface.calls] == ["shutdownVm"]
    assert len(controller.stopped) == 0  # vdsm cannot start it again: the engine does
    assert "not restarted by momd" in controller.audit.last()[-1].detail
    managed = make(iface, vapor_action="managedsave")
    victim = guest("v2", "u-v2", "vapor")
    victim.Control("power", "off")
    managed.process(host(1 * GIB), [victim])
    assert "managedsave is not offered" in managed.audit.last()[-1].detail


def test_rpc_answer_and_unwritable_state_file(tmp_path, caplog):
    iface = FakeLibvirt()
    blocked = tmp_path / "ro"
    blocked.mkdir()
    blocked.chmod(0o500)
    try:
        settings = dataclasses.replace(Settings(), lifecycle_actions="on")
        state = StateFile(str(blocked / "sub" / "state.json"))
        controller = Lifecycle(
            {"hypervisor_iface": iface, "settings": settings, "sla_registry": SimpleNamespace(state=state)},
            clock=Clock(),
        )
        victim = guest("v", "u-v", "vapor")
        victim.Control("power", "off")
        with caplog.at_level(logging.ERROR, logger="mom.Lifecycle"):
            controller.process(host(1 * GIB), [victim])
            controller.power_worker.wait_idle(5)
    finally:
        blocked.chmod(0o700)
    answer = controller.rpc_get_actions(10)
    assert answer["mode"] == "on"
    assert answer["actions"][-1]["result"] == "done"
    assert [g["uuid"] for g in answer["stopped"]] == ["u-v"]
    assert "xml" not in answer["stopped"][0]
    if caplog.records:  # root ignores the mode bits; anyone else cannot write there
        assert "kept in memory only" in caplog.records[-1].getMessage()


def test_the_policy_may_move_the_threshold_not_the_gates():
    iface = FakeLibvirt()
    clock = Clock()
    controller = make(iface, clock=clock, restore_after=10)
    victim = guest("v", "u-v", "vapor")
    victim.Control("power", "off")
    controller.process(host(12 * GIB), [victim])
    controller.power_worker.wait_idle(5)
    pressed = host(12 * GIB)
    pressed.Control("pressure_threshold", 0.99)  # 12 of 16 GiB free is pressure now
    for _ in range(3):
        clock.now += 100
        controller.process(pressed, [])
    assert iface.names("startVm") == []
    bad = host(12 * GIB)
    bad.Control("pressure_threshold", "lots")  # not a fraction: the configured 20 %
    for _ in range(2):
        clock.now += 100
        controller.process(bad, [])
    controller.power_worker.wait_idle(5)
    assert len(iface.names("startVm")) == 1


def test_a_guest_started_by_someone_else_is_forgotten():
    iface = FakeLibvirt()
    wall = Clock(1_000_000.0)
    settings = dataclasses.replace(Settings(), lifecycle_actions="on")
    controller = Lifecycle(
        {"hypervisor_iface": iface, "settings": settings, "sla_registry": SimpleNamespace(state=StateFile(""))},
        clock=Clock(),
        wall_clock=wall,
    )
    victim = guest("v", "u-v", "vapor")
    victim.Control("power", "off")
    controller.process(host(1 * GIB), [victim])
    controller.power_worker.wait_idle(5)
    controller.process(host(1 * GIB), [guest("v", "u-v", "vapor")])  # its monitor is not gone yet
    assert len(controller.stopped) == 1
    wall.now += 600
    controller.process(host(1 * GIB), [guest("v", "u-v", "vapor")])  # someone started it
    assert len(controller.stopped) == 0
    assert iface.names("startVm") == []
