"""A real momd on libvirt's test driver under hostile policies: floors hold, the cap holds, momd keeps running."""

from __future__ import annotations

import os
import re

from mom.rpc.client import UnixXmlRpcClient
from tests.helpers import wait_for

HOSTILE = os.path.join(os.path.dirname(__file__), "..", "policies", "hostile")
GUESTS = 2
MAXIMUM = 4 * 1024 * 1024  # KiB: libvirt_test_host's default <memory>
CAP = MAXIMUM // 10  # balloon-max-change-percent 10
#: min-guest-memory's default; the test driver reports half of a guest's memory unused,
#: so the in-use floor (half plus min-guest-free) gives way to it as the guest shrinks
FLOOR = 262144
BALLOONING = re.compile(r"Ballooning guest:(\S+) from (\d+) to (\d+)")


def hostile(name: str) -> str:
    with open(os.path.join(HOSTILE, name + ".policy"), encoding="utf-8") as handle:
        return handle.read()


def balloon_stats(client):
    return client.getStatistics()["mom"]["controllers"]["Balloon"]


def test_momd_under_hostile_policies(momd_conf, start_momd, tmp_path):
    sock = str(tmp_path / "m.sock")
    process = start_momd(momd_conf(sock, main={"policy-engine-interval": "0.2"}), sock=sock)
    client = UnixXmlRpcClient(sock, 5)
    wait_for(lambda: len(client.getActiveGuests()) == GUESTS)

    def calls():
        return [(g, int(c), int(t)) for g, c, t in BALLOONING.findall(process.log())]

    # a zero target: the guests come down by at most the cap per cycle, and stop at min-guest-memory
    assert client.setPolicy(hostile("zero"))
    wait_for(
        lambda: all(s["balloon_cur"] == FLOOR for s in client.getStatistics()["guests"].values()),
        30,
        what="the guests at their floor",
    )
    # huge and flipping: up (capped) and down again, never out of bounds
    for name in ("huge", "flip"):
        seen = len(calls())
        assert client.setPolicy(hostile(name))
        wait_for(lambda seen=seen: len(calls()) >= seen + 6 * GUESTS, 30, what=f"{name}: balloon calls")
    made = calls()
    assert len({c for _, c, _ in made}) > 2  # the sizes really moved
    for guest, current, target in made:
        assert FLOOR <= target <= MAXIMUM, (guest, current, target)
        assert abs(target - current) <= CAP, (guest, current, target)
    # not sizes: refused with an error, nothing applied, momd goes on
    for name in ("negative", "nan", "string"):
        before, seen = balloon_stats(client)["invalid_targets"], len(calls())
        assert client.setPolicy(hostile(name))
        wait_for(lambda before=before: balloon_stats(client)["invalid_targets"] >= before + 3 * GUESTS, 30, what=name)
        assert len(calls()) <= seen + GUESTS  # at most the cycle that was running when the policy changed
    statistics = balloon_stats(client)
    clamped = statistics["clamped_targets"]
    assert clamped["in-use"] > 0 and clamped["min-guest-memory"] > 0 and clamped["change-cap"] > 0
    # one error per guest for the whole episode of refused targets (the first, negative one)
    assert process.log().count("refused, nothing applied: balloon_target -1048576 is negative") == GUESTS
    assert process.alive()
    assert process.stop() == 0
    assert "Traceback" not in process.log()
