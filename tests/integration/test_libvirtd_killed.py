"""libvirtd killed outright while momd manages real guests (issue 16, faults on real components).

One momd (the shipped policies, the Balloon controller, SLAs kept in its own state file)
watches the session's three QEMU guests.  It ballooned them once (under declared
pressure, then back to full size), so it has actions on record; a policy and a guest's
SLA were set over RPC.  Then libvirtd gets SIGKILL (no goodbye to its clients) and is
started again; the guests' QEMU processes live on and the new libvirtd reattaches.
momd must reconnect with the same monitors, keep the policies, the SLA state and its
records of actions, and repeat no action: the guests are at their targets, so no
``setMemory`` at all after the reconnection.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest

from mom.policy_sets import DEFAULT_SET, shipped_set_dir
from tests.helpers import calls_delta
from tests.integration import realstack as rs
from tests.integration.momd_run import RunningMomd, running_momd

pytestmark = pytest.mark.realstack

POLICIES = Path(shipped_set_dir(DEFAULT_SET))
#: as in test_momd_real_guests.py: pressure declared the way vdsm does it
PRESSURE = (
    "(set balloonEnabled 1) (defvar pressure_threshold 1.0)"
    " (defvar min_guest_free_percent 0.3) (defvar max_balloon_change_percent 0.15)"
)
NO_PRESSURE = "(defvar max_balloon_change_percent 0.15)"
MARKER = ("05-marker", "(defvar kill_marker 1)")


@pytest.fixture
def momd(realstack: rs.RealStack, tmp_path: Path) -> Any:
    main = {
        "sample-history-length": "5",
        "policy-dir": str(POLICIES),
        "controllers": "Balloon",  # (KSM is test_momd_real_guests.py's, under its lock)
        "state-file": str(tmp_path / "state.json"),
        # the safety floor's default (256 MiB) is these guests' whole memory: no ballooning
        "min-guest-memory": "131072",
    }
    with running_momd(
        realstack,
        tmp_path,
        host="HostMemory, HostKSM, HostCpu",  # what the shipped policies read
        guest="GuestQemuProc, GuestMemory, GuestBalloon, GuestCpuTune, GuestIoTuneOptional, GuestSla",
        main=main,
    ) as running:
        yield running


def test_momd_survives_libvirtd_killed(momd: RunningMomd, realstack: rs.RealStack) -> None:
    client, guest = momd.client, realstack.guests[0]
    conn = realstack.connection()
    # state to keep: a named policy and a guest's SLA, both set over RPC
    assert client.setNamedPolicy(*MARKER) is True
    sla = client.setGuestSla(guest, {"class": "gold", "priority": 80})
    momd.until("the SLA collected", lambda: client.getStatistics()["guests"][guest].get("sla_class") == "gold")
    # actions on record: the balloons inflate under pressure, and deflate again
    try:
        assert client.setNamedPolicy("01-parameters", PRESSURE) is True
        for name in realstack.guests:
            dom = conn.lookupByName(name)
            momd.until(f"{name} inflated", lambda d=dom, n=name: d.memoryStats()["actual"] < realstack.full_kib(n))
    finally:
        assert client.setNamedPolicy("01-parameters", NO_PRESSURE) is True
    for name in realstack.guests:
        dom = conn.lookupByName(name)
        momd.until(f"{name} deflated", lambda d=dom, n=name: d.memoryStats()["actual"] == realstack.full_kib(n))
    momd.rounds(2)  # the controller has seen the full balloons: nothing left to do
    policies = client.getNamedPolicies()
    before = momd.counters()
    log_before = momd.process.log()
    actions = log_before.count("Ballooning guest:")
    monitored = log_before.count("Monitoring guest")
    assert before["calls_by_name"].get("setMemory", 0) > 0 and actions > 0

    try:
        realstack.restart_libvirtd(sig=signal.SIGKILL)
    except rs.StackUnavailable as why:
        pytest.skip(str(why))  # (listed by -rs; MOM_REALSTACK=1 fails on an unusable stack earlier)

    def reconnected() -> bool:
        counters = momd.counters()
        return counters["reconnects"] > before["reconnects"] and counters["connected"]

    momd.until("momd reconnected", reconnected)
    momd.until("guests collected again", lambda: sorted(client.getActiveGuests()) == sorted(realstack.guests))
    momd.rounds(3)
    after = momd.counters()
    log = momd.process.log()
    assert "libvirt connection lost" in log
    # the same monitors carried on: none dropped, none created anew
    assert log.count("Monitoring guest") == monitored and " is gone" not in log
    # policies and SLA state kept; the SLA still reaches the samples
    assert client.getNamedPolicies() == policies and policies[MARKER[0]] == MARKER[1]
    assert client.getGuestSla(guest) == sla
    assert client.getStatistics()["guests"][guest]["sla_class"] == "gold"
    # the record of actions kept, and no action repeated: the guests were at their targets
    made = calls_delta(before["calls_by_name"], after["calls_by_name"])
    assert made.get("setMemory", 0) == 0, made
    assert log.count("Ballooning guest:") == actions
    assert after["calls_by_name"]["setMemory"] == before["calls_by_name"]["setMemory"]
    assert after["rounds"] > before["rounds"]
    for name in realstack.guests:  # and the guests are where momd left them
        assert realstack.connection().lookupByName(name).memoryStats()["actual"] == realstack.full_kib(name)
