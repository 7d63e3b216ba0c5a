"""momd powers a real vapor guest off under forced pressure and starts it again after.

The session's guests: g1 is vapor, g2 platinum, g3 standard (``[sla] rules``).  Pressure
is forced as vdsm does it, by replacing the ``01-parameters`` policy over RPC: the
lifecycle policy then asks every guest to be powered off and moves the pressure
threshold to 99 % of the host's memory, so the allocator reports every guarantee at
risk.  Only g1 goes: platinum and standard refuse power-off whatever the policy says.
The busybox guest has no ACPI daemon (``scripts/realstack/guest-init.sh`` is a plain
``/init``; the power button's event reaches no one), so the ACPI shutdown is ignored and
momd destroys it after ``shutdown-timeout``: the test checks that path and says so.
Pressure ends: after ``restore-after`` momd starts g1 again (it boots anew: its uptime
restarts) and leaves g2 running all along (its uptime never restarts).
"""

from __future__ import annotations

import time
from typing import Any

import libvirt
import pytest

from tests.helpers import wait_for
from tests.integration import realstack as rs
from tests.integration.momd_run import running_momd, write_policies

pytestmark = pytest.mark.realstack

DEFINES = "(defvar lifecycle_pressure 0) (defvar lifecycle_threshold 0.2)"
LIFECYCLE = """
(Host.Control "pressure_threshold" lifecycle_threshold)
(if lifecycle_pressure (with Guests guest (guest.Control "power" "off")) 0)
"""
PRESSURE = "(set lifecycle_pressure 1) (set lifecycle_threshold 0.99)"
NO_PRESSURE = "(set lifecycle_pressure 0) (set lifecycle_threshold 0.2)"


def actions(client: Any) -> list[dict[str, Any]]:
    return client.getActions(200)["actions"]


def test_vapor_guest_powered_off_under_pressure_and_restored(realstack: rs.RealStack, tmp_path) -> None:
    g1, g2, g3 = realstack.guests
    policies = {"00-defines.policy": DEFINES, "01-parameters.policy": "0", "50-lifecycle.policy": LIFECYCLE}
    main = {
        "policy-dir": write_policies(tmp_path, policies),
        "controllers": "Lifecycle",
        "state-file": str(tmp_path / "state.json"),
    }
    sections = {
        "sla": {"rules": f"\n{g1} class=vapor\n{g2} class=platinum\n{g3} class=standard"},
        "lifecycle": {
            "lifecycle-actions": "on",
            "vapor-action": "shutdown",
            "shutdown-timeout": "5",
            "power-off-interval": "5",
            "restore-after": "3",
        },
    }
    conn = realstack.connection()
    platinum_id = conn.lookupByName(g2).ID()
    vapor_id = conn.lookupByName(g1).ID()
    platinum_uptime = realstack.latest_mem(g2).uptime
    with running_momd(
        realstack,
        tmp_path,
        host="HostMemory",
        guest="GuestMemory, GuestBalloon, GuestSla",
        main=main,
        sections=sections,
    ) as momd:
        client = momd.client
        wait_for(lambda: all(s.get("sla_class") for s in client.getStatistics()["guests"].values()), 30, 0.5)
        assert client.setNamedPolicy("01-parameters", PRESSURE)
        with rs.timed("momd: vapor guest powered off (ACPI ignored, destroyed after 5 s)"):
            wait_for(
                lambda: any(a["guest"] == g1 and a["result"] == "done" for a in actions(client)),
                60,
                0.5,
                what=lambda: f"{g1} powered off; actions: {actions(client)}; log: {momd.log()[-3000:]}",
            )
        done = next(a for a in actions(client) if a["guest"] == g1 and a["result"] == "done")
        assert done["action"] == "power-off"
        # the busybox guest ignores the ACPI power button: the timeout -> destroy path
        assert done["detail"] == "still running after the ACPI shutdown's 5 s: destroyed", done
        assert "guarantees at risk: " in done["reason"] and "guarantees at risk: none" not in done["reason"]
        assert g2 in done["reason"]  # platinum's memory is at risk with 99 % as the threshold
        assert conn.lookupByName(g1).state()[0] == libvirt.VIR_DOMAIN_SHUTOFF
        refused = {a["guest"] for a in actions(client) if a["result"] == "refused"}
        assert {g2, g3} <= refused
        assert conn.lookupByName(g2).isActive() and conn.lookupByName(g3).isActive()
        # pressure ends: g1 is started again by momd, and only g1
        assert client.setNamedPolicy("01-parameters", NO_PRESSURE)
        wait_for(
            lambda: any(
                a["guest"] == g1 and a["action"] == "restore" and a["result"] == "done" for a in actions(client)
            ),
            60,
            0.5,
            what=lambda: f"{g1} restored; actions: {actions(client)}",
        )
        restored = time.monotonic()
        assert conn.lookupByName(g1).isActive()
        assert conn.lookupByName(g1).ID() != vapor_id  # a new QEMU: it booted anew
        realstack.wait_ready([g1], 120)
        # a console line from the new boot: its uptime is below the time since the restore
        sample = realstack.wait_mem(g1, lambda s: s.uptime <= time.monotonic() - restored + 1, 120)
        assert sample.mem_total > 0
        assert client.getActions(5)["stopped"] == []
        final = actions(client)
        assert not any(a["guest"] in (g2, g3) and a["result"] not in ("refused",) for a in final)
        log = momd.log()
    assert f"lifecycle: guest {g1}" in log
    # the platinum guest ran all along: same domain, uptime never restarted
    assert conn.lookupByName(g2).ID() == platinum_id
    assert realstack.latest_mem(g2).uptime > platinum_uptime
