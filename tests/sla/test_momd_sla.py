"""setGuestSla/getGuestSla against a real momd on libvirt's test driver: the round trip,
policies' fields, the state file across a restart, bad state files, momctl."""

from __future__ import annotations

import json
import subprocess
import sys
import xmlrpc.client

import pytest

from mom.rpc.client import UnixXmlRpcClient
from tests.helpers import MomdProcess, libvirt_test_host, momd_config, wait_for

MEMORY_KIB = 2 * 1024 * 1024


@pytest.fixture
def setup(tmp_path):
    """(config path, socket, state file path) of a momd on two test-driver guests."""
    host_xml = tmp_path / "host.xml"
    libvirt_test_host(str(host_xml), 2, memory_kib=MEMORY_KIB, current_kib=MEMORY_KIB)
    sock = str(tmp_path / "m.sock")
    state = tmp_path / "state" / "state.json"
    conf = tmp_path / "mom.conf"

    def write(state_file: str = str(state)) -> str:
        momd_config(
            f"test://{host_xml}",
            conf,
            rpc_port=sock,
            guest="GuestMemory, GuestBalloon, GuestSla",
            main={"state-file": state_file},
            sections={"sla": {"rules": "\nvm0001 class=compute tags=batch"}},
        )
        return str(conf)

    return write, sock, state


def start(conf: str, tmp_path, sock: str, name: str = "momd.log") -> MomdProcess:
    momd = MomdProcess(conf, str(tmp_path / name)).start()
    client = UnixXmlRpcClient(sock, 10)
    momd.wait_answering(lambda: client.ping())
    return momd


def sla_samples(client) -> dict:
    guests = client.getStatistics()["guests"]
    return {name: (s.get("sla_class"), s.get("sla_priority"), s.get("sla_guarantee")) for name, s in guests.items()}


def momctl(*args):
    done = subprocess.run(
        [sys.executable, "-m", "mom.cli.momctl", *args], capture_output=True, text=True, timeout=60, check=False
    )
    return done.returncode, done.stdout, done.stderr


def test_round_trip_fields_and_restart(setup, tmp_path):
    write, sock, state = setup
    conf = write()
    client = UnixXmlRpcClient(sock, 10)
    with start(conf, tmp_path, sock) as momd:
        wait_for(lambda: len(sla_samples(client)) == 2, timeout=30)
        assert sla_samples(client) == {"vm0000": ("standard", 50, 0), "vm0001": ("compute", 50, 0)}
        got = client.setGuestSla("vm0000", {"class": "platinum", "priority": 80, "tags": ["db"]})
        assert (got["class"], got["priority"], got["tags"], got["sources"]["sla_class"]) == ("platinum", 80, ["db"], "rpc")
        # policies see it from the next collection on
        wait_for(lambda: sla_samples(client)["vm0000"] == ("platinum", 80, MEMORY_KIB), timeout=30)
        with pytest.raises(xmlrpc.client.Fault, match="unknown SLA class 'silver'"):
            client.setGuestSla("vm0001", {"class": "silver"})
        with pytest.raises(xmlrpc.client.Fault, match="no monitored guest named 'vm9999'"):
            client.getGuestSla("vm9999")
        code, out, _ = momctl("-s", sock, "sla-set", "vm0001", "--class", "gold", "--guarantee", "80%")
        assert code == 0 and "class:     gold  (rpc)" in out and "guarantee: 80%" in out
        code, out, err = momctl("-s", sock, "sla-set", "vm0001")
        assert code == 2 and "give --clear or at least one of" in err
        code, out, _ = momctl("-s", sock, "sla-get", "vm0001", "--json")
        assert code == 0 and json.loads(out)["tags"] == ["batch"]  # from its rule
        assert momd.stop() == 0, momd.log()
    stored = json.loads(state.read_text())["guests"]
    assert sorted(entry["name"] for entry in stored.values()) == ["vm0000", "vm0001"]
    with start(conf, tmp_path, sock, "momd-2.log") as momd:
        wait_for(lambda: len(sla_samples(client)) == 2, timeout=30)
        assert client.getGuestSla("vm0000")["class"] == "platinum"
        assert client.getGuestSla("vm0001")["guarantee"] == "80%"
        wait_for(lambda: sla_samples(client)["vm0001"] == ("gold", 50, MEMORY_KIB * 8 // 10), timeout=30)
        assert momd.stop() == 0, momd.log()


def test_corrupt_state_file_momd_starts_with_defaults(setup, tmp_path):
    write, sock, state = setup
    state.parent.mkdir()
    state.write_text('{"version": 1, "guests": ')
    client = UnixXmlRpcClient(sock, 10)
    with start(write(), tmp_path, sock) as momd:
        wait_for(lambda: len(sla_samples(client)) == 2, timeout=30)
        assert client.getGuestSla("vm0000")["class"] == "standard"
        client.setGuestSla("vm0000", {"class": "gold"})  # moves the bad file aside
        assert momd.stop() == 0
    assert "is not JSON" in momd.log() and "starting without the SLAs set over RPC" in momd.log()
    assert (state.parent / "state.json.corrupt").read_text() == '{"version": 1, "guests": '


def test_unwritable_state_file_is_a_clear_rpc_error(setup, tmp_path):
    write, sock, _ = setup
    blocker = tmp_path / "file"
    blocker.write_text("")
    client = UnixXmlRpcClient(sock, 10)
    with start(write(str(blocker / "state.json")), tmp_path, sock) as momd:
        wait_for(lambda: len(sla_samples(client)) == 2, timeout=30)
        with pytest.raises(xmlrpc.client.Fault, match="cannot write the state file .*file/state.json"):
            client.setGuestSla("vm0000", {"class": "gold"})
        assert client.getGuestSla("vm0000")["class"] == "standard"  # nothing changed
        assert client.ping() is True
        assert momd.stop() == 0
