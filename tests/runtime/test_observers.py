"""The observer hooks: what the engine and the controllers tell whatever watches the ticks."""

from __future__ import annotations

import configparser
import logging
import threading

import pytest

from mom.config import load_config
from mom.observers import PHASE_POLICY, PHASES, Observers, TickObserver
from mom.offline import entity_from_spec
from mom.plugins.controllers.balloon import Balloon
from mom.plugins.controllers.ksm import KSM
from mom.plugins.hypervisors.base import CAPABILITIES, HypervisorInterface, as_interface
from mom.plugins.ksm_sysfs import KsmSysfs
from mom.runtime.engine import PolicyEngine
from tests.helpers import LibvirtTickRig

#: every guest of the rig shrunk each tick (the benchmark's pressure scenario)
PRESSURE = "(set balloonEnabled 1) (defvar pressure_threshold 1.0)"


class Recorder(TickObserver):
    """Every hook call, as (hook, arguments) with durations replaced by their sign."""

    def __init__(self):
        self.events = []

    def tick_started(self, tick):
        self.events.append(("tick_started", tick))

    def phase_finished(self, tick, phase, seconds):
        assert seconds >= 0
        self.events.append(("phase_finished", tick, phase))

    def policy_evaluated(self, tick, host, guests, ok):
        self.events.append(("policy_evaluated", tick, len(list(guests)), ok))

    def tick_finished(self, tick, outcome, seconds):
        assert seconds >= 0
        self.events.append(("tick_finished", tick, outcome))

    def hypervisor_called(self, method, seconds, error):
        assert seconds >= 0
        self.events.append(("hypervisor_called", method, None if error is None else type(error).__name__))

    def control_applied(self, controller, guest, control, value):
        self.events.append(("control_applied", controller, guest, control, value))

    def controller_failed(self, controller, guest, error):
        self.events.append(("controller_failed", controller, guest, type(error).__name__))

    def hooks(self, name):
        return [event for event in self.events if event[0] == name]


@pytest.fixture
def rig(tmp_path):
    rig = LibvirtTickRig(str(tmp_path), 3, parameters=PRESSURE)
    yield rig
    rig.close()


def test_one_tick_in_order_with_every_call_and_control(rig):
    recorder = Recorder()
    rig.parts.observers.add(recorder)
    assert rig.tick()
    names = [name for name, _ in rig.domains]
    applied = {}
    for _, controller, guest, control, value in recorder.hooks("control_applied"):
        applied.setdefault((controller, control), {})[guest] = value
    assert sorted(applied) == [("Balloon", "balloon_target"), ("IoTune", "io_tune")]
    # the balloon targets applied are those the guests now have (libvirt asked directly:
    # the interface answers from the round's statistics)
    targets = applied["Balloon", "balloon_target"]
    assert sorted(targets) == names
    for name, uuid in rig.domains:
        assert rig.iface.conn.lookupByUUIDString(uuid).info()[2] == targets[name] < 2 * 1024 * 1024
    # the first tick applies every guest's IO limits (the metadata's), on vda
    assert sorted(applied["IoTune", "io_tune"]) == names
    assert all(tunes[0]["name"] == "vda" for tunes in applied["IoTune", "io_tune"].values())
    balloon_calls = [("hypervisor_called", "setVmBalloonTarget", None)] * 3
    io_calls = [("hypervisor_called", "setVmIoTune", None)] * 3
    assert [event for event in recorder.events if event[0] != "control_applied"] == [
        ("tick_started", 1),
        ("phase_finished", 1, "collect"),
        ("policy_evaluated", 1, 3, True),
        ("phase_finished", 1, "policy"),
        *balloon_calls,
        *io_calls,
        ("phase_finished", 1, "controls"),
        ("tick_finished", 1, "ok"),
    ]
    # the next tick has the next number, and the IO limits, now applied, are not sent again
    recorder.events.clear()
    assert rig.tick()
    assert recorder.events[0] == ("tick_started", 2) and recorder.events[-1] == ("tick_finished", 2, "ok")
    assert recorder.hooks("hypervisor_called") == balloon_calls


def test_a_failing_policy_ends_the_tick_before_the_controllers(rig):
    recorder = Recorder()
    rig.parts.observers.add(recorder)
    rig.set_parameters("(defvar x (/ 1 0))")
    assert not rig.tick()
    assert recorder.events == [
        ("tick_started", 1),
        ("phase_finished", 1, "collect"),
        ("policy_evaluated", 1, 3, False),
        ("phase_finished", 1, "policy"),
        ("tick_finished", 1, "failed"),
    ]


def test_a_tick_without_host_statistics_is_skipped():
    class NotReady:
        def cycle_entity(self):
            return None

    overrides = configparser.ConfigParser(interpolation=None)
    overrides.read_dict({"main": {"controllers": ""}})
    loaded = load_config("", overrides)
    recorder = Recorder()
    engine = PolicyEngine(loaded.parser, None, NotReady(), None, loaded.settings, observers=Observers(recorder))
    assert not engine.do_controls()
    assert recorder.events == [("tick_started", 1), ("tick_finished", 1, "skipped")]


def test_an_observer_that_raises_is_logged_once_and_the_tick_goes_on(rig, caplog):
    class Broken(TickObserver):
        def tick_started(self, tick):
            raise RuntimeError("observer bug")

    recorder = Recorder()
    rig.parts.observers.add(Broken())
    rig.parts.observers.add(recorder)
    with caplog.at_level(logging.ERROR, logger="mom"):
        assert rig.tick() and rig.tick()
    failures = [r for r in caplog.records if "observer Broken failed in tick_started" in r.getMessage()]
    assert len(failures) == 1 and failures[0].exc_info is not None
    assert len(recorder.hooks("tick_finished")) == 2  # the next observer heard every hook


def test_a_failed_hypervisor_call_is_reported_and_applies_nothing():
    class Refuses(HypervisorInterface):
        def setVmBalloonTarget(self, uuid, target):
            raise OSError("no balloon")

    recorder = Recorder()
    sizes = {"balloon_cur": 4096, "balloon_max": 4096}  # without its sizes a guest gets no target (the floors)
    entity = entity_from_spec({"name": "vm1", "properties": {"uuid": "u1"}, "stats": [sizes]})
    entity.Control("balloon_target", 2048)
    Balloon({"hypervisor_iface": Refuses(), "observers": Observers(recorder)}).process(None, [entity])
    assert recorder.events == [
        ("hypervisor_called", "setVmBalloonTarget", "OSError"),
        ("controller_failed", "Balloon", "vm1", "OSError"),
    ]


def test_host_controls_are_reported_with_no_guest(tmp_path):
    class Knobs(HypervisorInterface):
        def __init__(self):
            self.tuned = []

        def ksmTune(self, params):
            self.tuned.append(params)

    (tmp_path / "advisor_mode").write_text("[none] scan-time\n")
    host = entity_from_spec({"stats": [{"ksm_run": 0, "ksm_pages_to_scan": 100, "ksm_sleep_millisecs": 20}]})
    host.Control("ksm_run", 1)
    host.Control("ksm_sleep_millisecs", 20)  # unchanged: not sent
    recorder = Recorder()
    iface = Knobs()
    controller = KSM({"hypervisor_iface": iface, "observers": Observers(recorder)}, sysfs=KsmSysfs(str(tmp_path)))
    controller.process(host, [])
    assert iface.tuned == [{"run": 1}]
    assert recorder.events == [("hypervisor_called", "ksmTune", None), ("control_applied", "KSM", None, "ksm_run", 1)]


def test_nobody_watching_costs_no_hook_calls():
    observers = Observers()
    assert not observers and len(observers) == 0
    recorder = Recorder()
    observers.add(recorder)
    assert observers
    observers.phase_finished(7, PHASES[0], 0.0)
    observers.remove(recorder)
    assert not observers
    assert recorder.events == [("phase_finished", 7, "collect")]


def test_interface_capabilities_have_defaults_and_foreign_interfaces_get_them():
    base = HypervisorInterface()
    assert (base.prefetch(), base.stats(), base.close(), base.ksm_sysfs) == (None, None, None, None)
    assert as_interface(base) is base and as_interface(None) is None

    class Foreign:  # upstream style: not derived from the base
        def getVmList(self):
            return [1]

        def stats(self):
            return {"calls": 3}

    wrapped = as_interface(Foreign())
    assert wrapped.getVmList() == [1] and wrapped.stats() == {"calls": 3}
    assert wrapped.prefetch() is None and wrapped.ksm_sysfs is None and wrapped.close() is None
    assert wrapped.config_token("uuid") is None  # unknown: a collector derives its sample anew
    assert set(CAPABILITIES) == {"prefetch", "stats", "close", "ksm_sysfs", "config_token"}
    with pytest.raises(AttributeError):
        wrapped.setVmCpuTune  # noqa: B018  (not a capability: no default)


def test_a_collection_during_the_tick_waits_until_the_controllers_acted(rig):
    """The controllers act on the samples the policy saw: a collection round that comes
    in mid-tick appends its samples after them (the IO limits the policy set live in the
    sample's IoTune records: a newer sample would hand the controller fresh records)."""
    rounds = []

    class CollectsMidTick(TickObserver):
        def phase_finished(self, tick, phase, seconds):
            if phase != PHASE_POLICY:  # between the policy and the controllers
                return
            collector = threading.Thread(target=rig.guest_manager.collect_guests)
            collector.start()
            collector.join(0.5)  # long enough for a round of 3 guests, were it not held up
            rounds.append(collector)

    recorder = Recorder()
    rig.parts.observers.add(CollectsMidTick())
    rig.parts.observers.add(recorder)
    assert rig.tick()
    rounds[0].join(10)
    assert not rounds[0].is_alive()
    assert recorder.hooks("hypervisor_called").count(("hypervisor_called", "setVmIoTune", None)) == 3
