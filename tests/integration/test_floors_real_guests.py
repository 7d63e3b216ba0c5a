"""Safety floors on real QEMU guests: a hostile policy (every target 0) cannot take a guest below its floor.

One momd with only the Balloon controller and only the hostile ``zero`` policy
(tests/policies/hostile/zero.policy) watches the session's 256 MiB guests, with
``min-guest-memory`` 160 MiB.  Upstream would set 0 and the guests would die ("System is
deadlocked on memory" below 64 MiB); here each balloon comes down by at most the cap per
cycle and stops at the floor, which libvirt reports and the guest's own MemTotal (its
serial console) confirms, and the guests keep running.  Then every guest is asked to
grow back while one is paused (a hung guest: its balloon driver cannot answer): that one
is marked stuck and left alone, the others grow; resumed, it moves again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.helpers import wait_for
from tests.integration import realstack as rs
from tests.integration.momd_run import running_momd, write_policies

pytestmark = pytest.mark.realstack

FLOOR = 160 * 1024  # KiB: min-guest-memory for this test
HOSTILE = Path(__file__).resolve().parents[1] / "policies" / "hostile"
DEAD = (b"Kernel panic", b"deadlocked on memory", b"Out of memory")


@pytest.fixture(scope="module")
def hostile_momd(realstack: rs.RealStack, tmp_path_factory: pytest.TempPathFactory) -> Any:
    directory = tmp_path_factory.mktemp("momd-hostile")
    main = {
        "policy-dir": write_policies(directory, {"50-zero.policy": (HOSTILE / "zero.policy").read_text()}),
        "controllers": "Balloon",
        "min-guest-memory": str(FLOOR),
        "min-guest-free": "16384",
        "balloon-stuck-after": "4",
        "balloon-stuck-retry": "8",
    }
    with running_momd(
        realstack, directory, host="HostMemory", guest="GuestMemory, GuestBalloon", main=main, restore_size=True
    ) as momd:
        yield momd.process, momd.client


def test_a_zero_policy_leaves_every_guest_at_its_floor(hostile_momd: Any, realstack: rs.RealStack, conn: Any) -> None:
    process, client = hostile_momd
    baseline = {name: realstack.wait_mem(name, lambda s: True).mem_total for name in realstack.guests}
    for name in realstack.guests:
        dom = conn.lookupByName(name)
        wait_for(
            lambda d=dom: d.memoryStats()["actual"] <= FLOOR + 1024,
            120,
            0.5,
            what=lambda name=name: (
                f"{name} down to its floor; momd's log ends:\n" + "\n".join(process.log().splitlines()[-15:])
            ),
        )
    # hold there for a while: the policy keeps asking for 0 every second
    for name in realstack.guests:
        printed = realstack.wait_mem(name, lambda s: True).uptime
        sample = realstack.wait_mem(name, lambda s, p=printed: s.uptime > p + 6, timeout=30)
        actual = conn.lookupByName(name).memoryStats()["actual"]
        assert FLOOR <= actual <= FLOOR + 1024, (name, actual)
        # the guest's own view: MemTotal went down by what the balloon took, and no further
        assert sample.mem_total >= baseline[name] - (realstack.full_kib(name) - FLOOR), (name, sample)
        serial = realstack.serial_log(name).read_bytes()
        assert not any(sign in serial for sign in DEAD), name
    statistics = client.getStatistics()["mom"]["controllers"]["Balloon"]
    assert statistics["clamped_targets"]["min-guest-memory"] > 0
    log = process.log()
    for name in realstack.guests:
        assert log.count(f"Balloon target of guest {name} clamped from 0") == 1  # one INFO line per episode
        steps = [line for line in log.splitlines() if f"Ballooning guest:{name} from" in line]
        for line in steps:
            current, target = (int(word) for word in line.rsplit(" from ", 1)[1].split(" to "))
            assert current - target <= realstack.full_kib(name) // 10, line
    assert process.alive()


GROW = '(with Guests guest (guest.Control "balloon_target" guest.balloon_max))'


def test_a_paused_guests_balloon_is_held_stuck_until_it_moves(
    hostile_momd: Any, realstack: rs.RealStack, conn: Any
) -> None:
    process, client = hostile_momd
    hung, others = realstack.guests[0], realstack.guests[1:]
    dom = conn.lookupByName(hung)
    start = dom.memoryStats()["actual"]
    assert start < realstack.full_kib(hung)  # the previous test left it at its floor
    dom.suspend()
    try:
        assert client.setPolicy(GROW)
        wait_for(
            lambda: client.getStatistics()["mom"]["controllers"]["Balloon"]["stuck_guests"] == [hung],
            60,
            0.5,
            what=lambda: "the paused guest stuck; momd's log ends:\n" + "\n".join(process.log().splitlines()[-15:]),
        )
        for name in others:  # the others grew back meanwhile
            other = conn.lookupByName(name)
            wait_for(lambda o=other, n=name: o.memoryStats()["actual"] == realstack.full_kib(n), 60, 0.5)
        assert dom.memoryStats()["actual"] == start
        warnings = [line for line in process.log().splitlines() if f"Balloon of guest {hung} is stuck" in line]
        assert len(warnings) == 1 and " WARNING " in warnings[0]
        skipped = client.getStatistics()["mom"]["controllers"]["Balloon"]["stuck_skipped_targets"]
        wait_for(lambda: client.getStatistics()["mom"]["controllers"]["Balloon"]["stuck_skipped_targets"] > skipped, 10)
    finally:
        dom.resume()
    wait_for(
        lambda: client.getStatistics()["mom"]["controllers"]["Balloon"]["stuck_guests"] == [],
        60,
        0.5,
        what="the resumed guest's balloon moving again",
    )
    assert f"Balloon of guest {hung} moves again" in process.log()
    wait_for(lambda: dom.memoryStats()["actual"] == realstack.full_kib(hung), 60, 0.5)
    assert not any(sign in realstack.serial_log(hung).read_bytes() for sign in DEAD)
