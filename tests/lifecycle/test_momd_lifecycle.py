"""A real momd on libvirt's test driver with the Lifecycle controller: a hostile policy,
the vapor guest powered off and started again, getActions, momctl actions."""

from __future__ import annotations

import json
import subprocess
import sys

from mom.rpc.client import UnixXmlRpcClient
from tests.helpers import MomdProcess, libvirt_test_host, momd_config, wait_for

HOSTILE = """
(with Guests guest (guest.Control "power" "off"))
(with Guests guest (guest.Control "migrate" 1))
"""


def momctl(*args):
    done = subprocess.run(
        [sys.executable, "-m", "mom.cli.momctl", *args], capture_output=True, text=True, timeout=60, check=False
    )
    return done.returncode, done.stdout, done.stderr


def results(client):
    return [(a["guest"], a["action"], a["result"]) for a in client.getActions(100)["actions"]]


def test_hostile_policy_then_restore_on_a_real_momd(tmp_path):
    host_xml = tmp_path / "host.xml"
    libvirt_test_host(str(host_xml), 3)  # vm0000 platinum, vm0001 vapor, vm0002 standard
    sock = str(tmp_path / "m.sock")
    policy = tmp_path / "hostile.policy"
    policy.write_text(HOSTILE)
    state = tmp_path / "state.json"
    conf = tmp_path / "mom.conf"
    momd_config(
        f"test://{host_xml}",
        conf,
        rpc_port=sock,
        guest="GuestMemory, GuestBalloon, GuestSla",
        main={"state-file": str(state), "controllers": "Lifecycle", "policy": str(policy)},
        sections={
            "sla": {"rules": "\nvm0000 class=platinum\nvm0001 class=vapor\nvm0002 class=standard"},
            "lifecycle": {
                "lifecycle-actions": "on",
                "power-off-interval": "1",
                "restore-after": "1",
                # whatever this machine has free, it is plentiful
                "pressure-threshold": "0",
                "pressure-band": "0",
            },
        },
    )
    client = UnixXmlRpcClient(sock, 10)
    with MomdProcess(str(conf), str(tmp_path / "momd.log")).start() as momd:
        momd.wait_answering(lambda: client.ping())
        # one cycle audits the three guests, in the order the guest manager lists them
        wanted = {("vm0001", "power-off", "done"), ("vm0000", "power-off", "refused"), ("vm0000", "migrate", "refused")}
        wait_for(lambda: wanted <= set(results(client)), timeout=60)
        found = results(client)
        assert not any(g == "vm0000" and r not in ("refused",) for g, _, r in found)
        # migration of the standard guest: no peers configured, refused with the reason
        wait_for(lambda: ("vm0002", "migrate", "refused") in results(client), timeout=30)
        assert any(a["detail"] == "no [migration] peers configured" for a in client.getActions(100)["actions"])
        assert [g["name"] for g in client.getActions(5)["stopped"]] == ["vm0001"]
        saved = json.loads(state.read_text())
        assert [g["name"] for g in saved["lifecycle"]["stopped"]] == ["vm0001"]
        # the policy stops asking: memory is plentiful, vm0001 is started again
        assert client.setPolicy("0")
        wait_for(lambda: ("vm0001", "restore", "done") in results(client), timeout=60)
        wait_for(lambda: "vm0001" in client.getActiveGuests(), timeout=30)
        assert client.getActions(5)["stopped"] == []
        code, out, _ = momctl("-s", sock, "actions", "-n", "50")
        assert code == 0
        assert "lifecycle-actions: on" in out
        assert "vm0001  power-off (shutdown)  done" in out and "vm0001  restore (shutdown)  done" in out
        assert "vm0000  power-off (shutdown)  refused: class platinum is never powered off or migrated" in out
    log = (tmp_path / "momd.log").read_text()
    assert "WARNING" in log and "lifecycle: guest vm0001" in log
