"""A real guest whose balloon driver is unloaded while momd shrinks it: stuck, held, retried.

A dedicated guest (its own RealStack prefix, on the session's libvirtd, torn down after
this module) boots with ``mom_unload_balloon``: at that uptime its init runs ``rmmod
virtio_balloon`` (scripts/realstack/guest-init.sh).  One momd with only the Balloon
controller asks every guest, the session's three and this one, to shrink.  This guest
shrinks like the others while its driver is there; once the driver is gone, the kernel
has given its pages back (libvirt reads the balloon at full size again) and nothing in
the guest answers QEMU any more: momd marks it stuck with one WARNING, sends it nothing
until the retry, and keeps ballooning the other guests, which are never marked stuck.
If the module cannot be unloaded (built in, busy) the test fails with the guest's reason.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest

from tests.helpers import wait_for
from tests.integration import realstack as rs
from tests.integration.momd_run import running_momd, write_policies

pytestmark = pytest.mark.realstack

MIB = 1024  # KiB
#: guest uptime (s) at which the driver goes: after boot (3-15 s on TCG here), momd's start
#: and the first shrink (a few 1 s cycles); the test fails, saying so, if it came too early
UNLOAD_AT = 50
STUCK_AFTER = 4  # balloon-stuck-after, s
RETRY = 8  # balloon-stuck-retry, s
FIRST, SECOND = 192 * MIB, 176 * MIB  # targets the policy asks of every guest, KiB
DEAD = (b"Kernel panic", b"deadlocked on memory", b"Out of memory")
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")


def everyone_to(kib: int) -> str:
    return f'(with Guests guest (guest.Control "balloon_target" {kib}))'


def stamp(line: str) -> datetime:
    found = _STAMP.match(line)
    assert found, line
    return datetime.strptime(found.group(1), "%Y-%m-%d %H:%M:%S,%f")


def balloon_stats(client: Any) -> dict[str, Any]:
    return client.getStatistics()["mom"]["controllers"]["Balloon"]


@pytest.fixture(scope="module")
def unloading(realstack: rs.RealStack, tmp_path_factory: pytest.TempPathFactory) -> Any:
    # Its own stack: start_guests() removes only guests with its prefix, close() leaves the
    # session's guests and libvirtd alone.
    stack = rs.RealStack(prefix=f"{rs.DEFAULT_PREFIX}rmmod-")
    spec = rs.GuestSpec(f"{stack.prefix}g1", memory_mib=256, stats_period=2, mem_period=1, unload_balloon_at=UNLOAD_AT)
    try:
        with rs.timed("boot the guest that unloads its balloon driver"):
            stack.start_guests([spec])
        yield stack, spec.name
    finally:
        stack.close()


@pytest.fixture(scope="module")
def shrinking_momd(realstack: rs.RealStack, unloading: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    stack, name = unloading
    specs = {**realstack.specs, **stack.specs}
    directory = tmp_path_factory.mktemp("momd-rmmod")
    main = {
        "policy-dir": write_policies(directory, {"50-shrink.policy": everyone_to(FIRST)}),
        "controllers": "Balloon",
        "min-guest-memory": str(128 * MIB),
        "min-guest-free": "16384",
        "balloon-stuck-after": str(STUCK_AFTER),
        "balloon-stuck-retry": str(RETRY),
    }
    with running_momd(
        realstack,
        directory,
        host="HostMemory",
        guest="GuestMemory, GuestBalloon",
        main=main,
        expect=specs,
        restore_size=True,  # the session's guests; this module's own guest goes with its stack
    ) as momd:
        yield momd.process, momd.client, specs


def test_an_unloaded_balloon_driver_is_marked_stuck_and_left_alone(
    shrinking_momd: Any, unloading: Any, realstack: rs.RealStack
) -> None:
    process, client, specs = shrinking_momd
    stack, name = unloading
    others = realstack.guests
    conn = realstack.connection()
    dom = conn.lookupByName(name)
    stuck_seen: set[str] = set()

    def stuck_now() -> list[str]:
        stuck = balloon_stats(client)["stuck_guests"]
        stuck_seen.update(stuck)
        return stuck

    def log_tail() -> str:
        return "momd's log ends:\n" + "\n".join(process.log().splitlines()[-15:])

    def at(guest: str, kib: int) -> bool:
        stuck_now()
        return abs(conn.lookupByName(guest).memoryStats()["actual"] - kib) <= MIB

    # With its driver, the guest shrinks like the others (nothing else makes it stuck later).
    for guest in (name, *others):
        wait_for(lambda g=guest: at(g, FIRST), 90, 0.5, what=lambda g=guest: f"{g} at {FIRST} KiB; {log_tail()}")
    if b"BALLOON-" in stack.serial_log(name).read_bytes():
        stack.wait_balloon_unloaded(name, timeout=0)  # StackError with the reason if it failed
        pytest.fail(f"{name} unloaded its driver before momd had shrunk it: raise UNLOAD_AT ({UNLOAD_AT} s)")
    # The driver goes (StackError with the guest's reason if it cannot: the test fails).
    with rs.timed("wait for the guest to unload its balloon driver"):
        unloaded_at = stack.wait_balloon_unloaded(name, timeout=UNLOAD_AT + 60)
    assert unloaded_at >= UNLOAD_AT
    # Removing the driver gave its pages back: the balloon is at full size, and stays there.
    wait_for(lambda: at(name, specs[name].memory_kib), 30, 0.5, what=f"{name}'s balloon released by rmmod")
    wait_for(lambda: stuck_now() == [name], 60, 0.5, what=lambda: f"{name} marked stuck; {log_tail()}")

    # While it is stuck, the others are still ballooned: a new, lower target reaches them.
    assert client.setNamedPolicy("50-shrink", everyone_to(SECOND))
    for guest in others:
        wait_for(lambda g=guest: at(g, SECOND), 60, 0.5, what=lambda g=guest: f"{g} at {SECOND} KiB; {log_tail()}")
    wait_for(lambda: balloon_stats(client)["stuck_retries_total"] >= 1, 3 * RETRY, 0.5, what="a retry")
    log = process.log().splitlines()
    statistics = balloon_stats(client)
    assert statistics["stuck_guests"] == [name]
    assert stuck_seen == {name}, "only the guest without a driver was ever stuck"
    assert statistics["stuck_marked_total"] == 1 and statistics["stuck_skipped_targets"] > 0

    warnings = [line for line in log if f"Balloon of guest {name} is stuck" in line]
    assert len(warnings) == 1 and " WARNING " in warnings[0], warnings
    marked = stamp(warnings[0])
    pushes = [line for line in log if f"Ballooning guest:{name} from" in line and stamp(line) > marked]
    # Not pushed until the retry; then once per retry (the next waits twice as long).
    assert len(pushes) == statistics["stuck_retries_total"], pushes
    assert (stamp(pushes[0]) - marked).total_seconds() >= RETRY - 0.5, (warnings[0], pushes[0])
    assert not any(f"Balloon of guest {guest} is stuck" in line for guest in others for line in log)
    assert f"Balloon of guest {name} moves again" not in "\n".join(log)

    assert at(name, specs[name].memory_kib)  # never moved since
    assert dom.isActive() and all(conn.lookupByName(guest).isActive() for guest in others)
    # the guest itself is fine: still printing, no panic
    printed = stack.latest_mem(name).uptime
    stack.wait_mem(name, lambda s: s.uptime > printed, timeout=30)
    assert not any(sign in stack.serial_log(name).read_bytes() for sign in DEAD)
    assert process.alive()
