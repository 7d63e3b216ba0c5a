"""momd migrates a running TCG guest live to a second libvirtd on this machine.

The peer is ``scripts/realstack/peer-libvirtd.sh``: a libvirtd in its own mount and UTS
namespace with its own host_uuid and migration ports.  A guest of class standard (no
disk: nothing to share) runs under the session's libvirtd; momd's policy asks to migrate
it; momd asks the peer its free memory, shrinks the balloon to its floor and migrates it
peer to peer over tcp://127.0.0.1.  Afterwards it runs on the peer (its serial console
keeps printing and its uptime did not restart) and is gone from the source.  If the
peer cannot start here, the test fails with the script's reason (never a silent skip).
"""

from __future__ import annotations

import re
import time
from typing import Any

import libvirt
import pytest

from tests.helpers import wait_for
from tests.integration import realstack as rs
from tests.integration.momd_run import running_momd, write_policies

pytestmark = pytest.mark.realstack

POLICY = '(with Guests guest (if (== guest.sla_class "standard") (guest.Control "migrate" 1) 0))'


def migratable_xml(stack: rs.RealStack, spec: rs.GuestSpec) -> str:
    """The session's guest definition without its disk, and a serial log opened for append
    (the destination QEMU opens it again)."""
    xml = rs.domain_xml(spec, stack.virt_type or "qemu", stack.guest_dir, stack.run_dir)
    xml = re.sub(r"<disk .*?</disk>\s*", "", xml, flags=re.S)
    return xml.replace("serial.log'/>", "serial.log' append='on'/>").replace(
        'serial.log"/>', 'serial.log" append="on"/>'
    )


def lookup(conn: Any, name: str) -> Any:
    try:
        return conn.lookupByName(name)
    except libvirt.libvirtError:
        return None


@pytest.fixture
def peer(realstack: rs.RealStack) -> Any:
    try:
        rs.run_script("peer-libvirtd.sh", "start", env=realstack._env, timeout=60)
    except (rs.StackError, rs.StackUnavailable) as error:
        pytest.fail(f"the migration peer cannot run on this machine: {error}")
    uri = rs.run_script("peer-libvirtd.sh", "uri", env=realstack._env).strip()
    conn = libvirt.open(uri)
    try:
        yield uri, conn
    finally:
        conn.close()
        rs.run_script("peer-libvirtd.sh", "stop", env=realstack._env, timeout=60)


def test_momd_migrates_a_running_guest_live_to_the_peer(realstack: rs.RealStack, peer: Any, tmp_path) -> None:
    uri, peer_conn = peer
    spec = rs.GuestSpec(f"{rs.DEFAULT_PREFIX}mig", memory_mib=256, stats_period=2, fill_mib=0, mem_period=1)
    source = realstack.connection()
    serial = realstack.run_dir / f"{spec.name}.serial.log"
    for conn in (source, peer_conn):  # left over from an interrupted run
        old = lookup(conn, spec.name)
        if old is not None:
            if old.isActive():
                old.destroy()
            old.undefine()
    serial.unlink(missing_ok=True)
    realstack.run_dir.mkdir(parents=True, exist_ok=True)
    domain = source.defineXML(migratable_xml(realstack, spec))
    try:
        domain.create()
        wait_for(
            lambda: b"GUEST-READY" in serial.read_bytes() if serial.exists() else False,
            180,
            0.25,
            what=f"{spec.name} GUEST-READY",
        )
        main = {
            "policy-dir": write_policies(tmp_path, {"50-migrate.policy": POLICY}),
            "controllers": "Lifecycle",
            "state-file": str(tmp_path / "state.json"),
        }
        sections = {
            "sla": {"default-class": "platinum", "rules": f"\n{spec.name} class=standard"},
            "lifecycle": {"lifecycle-actions": "on"},
            "migration": {"peers": uri, "data-uri": "tcp://127.0.0.1", "timeout": "180"},
        }
        with running_momd(
            realstack,
            tmp_path,
            host="HostMemory",
            guest="GuestMemory, GuestBalloon, GuestSla",
            main=main,
            sections=sections,
            expect=(*realstack.guests, spec.name),
        ) as momd:
            client = momd.client
            before = realstack.latest_mem(spec.name).uptime
            with rs.timed("momd: live migration to the peer (policy ask to audit done)"):
                wait_for(
                    lambda: any(
                        a["action"] == "migrate" and a["result"] != "refused" for a in client.getActions(50)["actions"]
                    ),
                    240,
                    0.5,
                    what=lambda: f"a migration; actions {client.getActions(50)}; log:\n{momd.log()[-3000:]}",
                )
            [done] = [a for a in client.getActions(50)["actions"] if a["action"] == "migrate"]
            assert done["result"] == "done", done
            assert done["how"] == uri and "migrated live to" in done["detail"]
            # nothing else was touched: the session's guests are platinum
            assert {a["guest"] for a in client.getActions(50)["actions"] if a["result"] != "refused"} == {spec.name}
            log = momd.log()
        moved = lookup(peer_conn, spec.name)
        assert moved is not None and moved.isActive() and moved.isPersistent()
        assert lookup(source, spec.name) is None  # undefined on the source
        # it keeps running: new console lines, and the uptime went on from where it was
        after = realstack.wait_mem(spec.name, lambda s: s.uptime > before + 3, 60)
        assert after.uptime > before
        time.sleep(2)
        assert realstack.latest_mem(spec.name).uptime > after.uptime
        assert f"lifecycle: guest {spec.name}" in log
    finally:
        for conn in (source, peer_conn):
            left = lookup(conn, spec.name)
            if left is not None:
                if left.isActive():
                    left.destroy()
                if left.isPersistent():
                    left.undefine()
