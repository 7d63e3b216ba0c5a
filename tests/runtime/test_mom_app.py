"""The MOM application in-process: API surface, threads, isolation, shutdown."""

from __future__ import annotations

import logging
import sys
import textwrap
import threading
from collections import Counter

import pytest

import mom
from tests.helpers import INTERVAL_KEYS, wait_for

API = {
    "ping",
    "setPolicy",
    "setNamedPolicy",
    "getPolicy",
    "getNamedPolicies",
    "resetPolicies",
    "setVerbosity",
    "getStatistics",
    "getActiveGuests",
    "setGuestSla",  # this project's (README "SLA classes")
    "getGuestSla",
    "getSlaStatus",
    "getActions",  # this project's (README "Lifecycle actions")
}

BALLOON_POLICY = '(with Guests guest (guest.Control "balloon_target" (- guest.balloon_cur 1024)))'


def mom_threads(before=()):
    """The daemon's threads by name, less ``before`` (threads an earlier test left
    running in this process, such as a daemon not yet wound down)."""
    own = {"MainThread", "test-mom"}
    names = Counter(
        t.name for t in threading.enumerate() if t.name not in own and not t.name.startswith(("pytest", "Thread-"))
    )
    return sorted((names - Counter(before)).elements())


def test_api_methods_appear_after_the_first_host_sample(start_mom):
    running = start_mom(guests=2)
    instance = running.mom
    assert API <= set(dir(instance))
    # the host sample exists as soon as the API does
    stats = instance.getStatistics()
    assert stats["host"]["mem_available"] > 0 and "time_second" in stats["host"]
    assert stats["mom"]["implementation"] in ("cython", "python")
    assert instance.ping() is True
    guests = wait_for(lambda: sorted(instance.getActiveGuests()) == ["vm0000", "vm0001"])
    assert guests
    stats = instance.getStatistics()
    assert set(stats["guests"]) == {"vm0000", "vm0001"}
    assert stats["guests"]["vm0000"]["balloon_cur"] == 2097152
    running.stop()


def test_shutdown_does_not_wait_out_the_intervals(start_mom):
    running = start_mom(guests=1, main=dict.fromkeys(INTERVAL_KEYS, "3600"))
    running.stop(timeout=30)  # an hour-long interval is not waited out


def test_thread_count_does_not_grow_with_guests(start_mom, tmp_path):
    # libvirt's event loop is one per process: started by an earlier test, it is there already
    before = mom_threads()
    small = start_mom(guests=1, main={"rpc-port": str(tmp_path / "small.sock")})
    wait_for(lambda: small.mom.getActiveGuests())
    few = mom_threads(before)
    small.stop()
    big = start_mom(guests=60, main={"rpc-port": str(tmp_path / "big.sock")})
    wait_for(lambda: len(big.mom.getActiveGuests()) == 60)
    many = mom_threads(before)
    big.stop()
    assert few == many
    # the PSI trigger's thread, where this kernel accepts a trigger (pressure-trigger is on by default)
    watcher = ["PressureWatcher"] if small.mom.pressure_watcher is not None else []
    assert few == sorted(
        watcher
        + [
            "HostMonitor",
            "GuestManager",
            "PolicyEngine",
            "RPCServer",
            # its workers (rpc-workers = 4), started with it: clients are served concurrently
            "RPCWorker-0",
            "RPCWorker-1",
            "RPCWorker-2",
            "RPCWorker-3",
            "GuestCollector-0",
            "GuestCollector-1",
            "GuestCollector-2",
            "GuestCollector-3",
        ]
        + ([] if "libvirt-events" in before else ["libvirt-events"])
    )


def test_single_thread_mode_has_no_workers(start_mom):
    running = start_mom(guests=3, main={"guest-manager-multi-thread": "false"})
    wait_for(lambda: len(running.mom.getActiveGuests()) == 3)
    assert not [name for name in mom_threads() if name.startswith("GuestCollector")]
    running.stop()


def test_policy_drives_the_balloon_controller(start_mom, tmp_path):
    policy = tmp_path / "balloon.policy"
    policy.write_text(BALLOON_POLICY)
    running = start_mom(guests=2, main={"policy": str(policy)})
    iface = wait_for(lambda: running.mom.hypervisor_iface)
    uuid = iface.getVmInfo(iface.getVmList()[0])["uuid"]
    wait_for(lambda: iface.getVmBalloonInfo(uuid)["balloon_cur"] < 2097152 - 2048)
    assert running.mom.getPolicy() == BALLOON_POLICY
    running.stop()


def test_vanished_guest_is_dropped(start_mom):
    running = start_mom(guests=3)
    wait_for(lambda: len(running.mom.getActiveGuests()) == 3)
    conn = running.mom.hypervisor_iface.conn
    conn.lookupByName("vm0001").destroy()
    wait_for(lambda: sorted(running.mom.getActiveGuests()) == ["vm0000", "vm0002"])
    assert set(running.mom.getStatistics()["guests"]) == {"vm0000", "vm0002"}
    running.stop()


@pytest.fixture
def site_plugins(tmp_path, monkeypatch):
    """Site-local plugins the upstream way: mom/Collectors/X.py and mom/Controllers/X.py on the path."""
    import mom.Collectors
    import mom.Controllers

    site = tmp_path / "site"
    (site / "mom" / "Collectors").mkdir(parents=True)
    (site / "mom" / "Controllers").mkdir(parents=True)
    (site / "mom" / "Collectors" / "SiteFlaky.py").write_text(
        textwrap.dedent("""
        from mom.Collectors.Collector import *

        class SiteFlaky(Collector):
            calls = 0
            def __init__(self, properties):
                pass
            def collect(self):
                SiteFlaky.calls += 1
                raise RuntimeError('site collector bug #%d' % SiteFlaky.calls)
            def getFields(self):
                return set()
            def getOptionalFields(self):
                return set(['flaky'])
    """)
    )
    (site / "mom" / "Controllers" / "SiteBroken.py").write_text(
        textwrap.dedent("""
        class SiteBroken:
            calls = 0
            def __init__(self, properties):
                pass
            def process(self, host, guests):
                SiteBroken.calls += 1
                raise ValueError('site controller bug #%d' % SiteBroken.calls)
    """)
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(mom.Collectors, "__path__", list(mom.Collectors.__path__) + [str(site / "mom" / "Collectors")])
    monkeypatch.setattr(
        mom.Controllers, "__path__", list(mom.Controllers.__path__) + [str(site / "mom" / "Controllers")]
    )
    yield
    sys.modules.pop("mom.Collectors.SiteFlaky", None)
    sys.modules.pop("mom.Controllers.SiteBroken", None)


def test_raising_collector_and_controller_are_isolated(start_mom, tmp_path, site_plugins, caplog):
    policy = tmp_path / "balloon.policy"
    policy.write_text(BALLOON_POLICY)
    with caplog.at_level(logging.DEBUG, logger="mom"):
        running = start_mom(
            guests=1,
            main={"policy": str(policy), "controllers": "SiteBroken, Balloon"},
            sections={"host": {"collectors": "HostMemory, SiteFlaky, HostTime"}},
        )
        iface = wait_for(lambda: running.mom.hypervisor_iface)
        uuid = iface.getVmInfo(iface.getVmList()[0])["uuid"]
        controller = sys.modules["mom.Controllers.SiteBroken"].SiteBroken
        collector = sys.modules["mom.Collectors.SiteFlaky"].SiteFlaky
        wait_for(lambda: controller.calls >= 3 and collector.calls >= 3)
        # the Balloon controller after the broken one still runs, cycle after cycle
        wait_for(lambda: iface.getVmBalloonInfo(uuid)["balloon_cur"] <= 2097152 - 3 * 1024)
        assert running.thread.is_alive()
        assert running.mom.getStatistics()["host"]["flaky"] is None
        running.stop()
    assert "Controller SiteBroken failed: ValueError: site controller bug #1" in caplog.text
    assert "HostMonitor: Unexpected collection error in SiteFlaky" in caplog.text
    assert "Traceback" in caplog.text  # once, with the traceback


def test_unavailable_hypervisor_interface_still_publishes_the_api(start_mom, caplog):
    with caplog.at_level(logging.ERROR, logger="mom"):
        running = start_mom(main={"hypervisor-interface": "vdsmjsonrpcclient"})
        running.thread.join(15)
    assert not running.thread.is_alive()  # MOM stopped itself
    assert "Unable to import hypervisor interface: vdsmjsonrpcclient" in caplog.text
    instance = running.mom
    assert instance.ping() is True
    assert instance.getStatistics()["guests"] == {}
    assert instance.setPolicy("(+ 1 1)") is True and instance.getPolicy() == "(+ 1 1)"


def test_policy_and_policy_dir_together_is_invalid(start_mom, tmp_path, caplog):
    with caplog.at_level(logging.ERROR, logger="mom"):
        running = start_mom(main={"policy": str(tmp_path / "a"), "policy-dir": str(tmp_path)}, wait_api=False)
        running.thread.join(10)
    assert not hasattr(running.mom, "ping")
    assert "Only one of 'policy' and 'policy-dir' may bespecified" in caplog.text
    assert "Invalid configuration.  Unable to start" in caplog.text


def test_policy_api_semantics(start_mom, tmp_path):
    policy_dir = tmp_path / "policies"
    policy_dir.mkdir()
    (policy_dir / "01-parameters.policy").write_text("# set by vdsm\n")
    (policy_dir / "00-defines.policy").write_text("(defvar ksmEnabled 0)")
    (policy_dir / ".hidden.policy").write_text("(broken")
    (policy_dir / "README").write_text("not a policy")
    instance = start_mom(main={"policy-dir": str(policy_dir)}).mom
    assert sorted(instance.getNamedPolicies()) == ["00-defines", "01-parameters"]
    assert instance.setNamedPolicy("01-parameters", "(set ksmEnabled 1)") is True
    assert instance.setNamedPolicy("02-bad", "(((") is False
    assert "02-bad" not in instance.getNamedPolicies()
    assert instance.getPolicy() == "(defvar ksmEnabled 0)\n(set ksmEnabled 1)"
    assert instance.setNamedPolicy("01-parameters", None) is True
    assert instance.setPolicy("(+ 2 2)") is True
    assert instance.getNamedPolicies() == {"50_main_": "(+ 2 2)"}
    assert instance.setPolicy(None) is True and instance.getPolicy() == "0"
    assert instance.resetPolicies() is True
    assert sorted(instance.getNamedPolicies()) == ["00-defines", "01-parameters"]


def test_reset_policies_return_values(start_mom, tmp_path):
    assert start_mom().mom.resetPolicies() is None
    single = tmp_path / "one.policy"
    single.write_text("(+ 1 2)")
    instance = start_mom(main={"policy": str(single)}).mom
    assert instance.resetPolicies() is True
    single.unlink()
    assert instance.resetPolicies() is False


def test_set_verbosity_takes_effect(start_mom):
    instance = start_mom().mom
    logger = logging.getLogger("mom")
    assert instance.setVerbosity("error") is True
    assert logger.level == logging.ERROR
    assert instance.setVerbosity("5") is True
    assert logger.level == logging.DEBUG


def test_momfuncs_from_threads(start_mom):
    instance = start_mom().mom
    funcs = mom.MOMFuncs(None, instance.threads)
    assert funcs.ping() is True
    assert funcs.getActiveGuests() == instance.getActiveGuests()
    exported = {name for name in dir(funcs) if getattr(getattr(funcs, name), mom.EXPORTED_ATTRIBUTE, False)}
    assert exported == API
