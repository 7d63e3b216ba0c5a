"""How MOM handles broken set-ups: host collectors, controllers, guests whose monitor dies."""

from __future__ import annotations

import logging
import re

from mom.offline import entity_from_spec
from mom.plugins.collectors.io_tune import IoTune
from mom.rpc.marshalling import plain
from tests.helpers import wait_for


def test_host_monitor_failure_stops_mom(start_mom, caplog):
    with caplog.at_level(logging.ERROR, logger="mom"):
        running = start_mom(sections={"host": {"collectors": "HostMemory, NoSuchCollector"}}, wait_api=False)
        running.thread.join(15)
    assert not running.thread.is_alive()
    assert "Unable to import collector: NoSuchCollector" in caplog.text
    assert "Host Monitor initialization failed" in caplog.text


def test_ksm_controller_without_host_ksm_is_left_out(start_mom, caplog, tmp_path):
    policy = tmp_path / "p.policy"
    policy.write_text('(with Guests guest (guest.Control "balloon_target" (- guest.balloon_cur 1024)))')
    with caplog.at_level(logging.ERROR, logger="mom"):
        running = start_mom(guests=1, main={"controllers": "KSM, Balloon, NoSuchController", "policy": str(policy)})
        iface = wait_for(lambda: running.mom.hypervisor_iface)
        uuid = iface.getVmInfo(iface.getVmList()[0])["uuid"]
        wait_for(lambda: iface.getVmBalloonInfo(uuid)["balloon_cur"] < 2097152)  # the others still act
        running.stop()
    assert (
        "Controller KSM disabled: RuntimeError: KSM controller in use but HostKSM collector is not enabled"
        in caplog.text
    )
    assert "Unable to import controller: NoSuchController" in caplog.text


def test_a_guest_whose_monitor_dies_gets_a_new_one_after_a_growing_backoff(start_mom, caplog, tmp_path):
    helper = tmp_path / "no-ip"
    helper.write_text("#!/bin/sh\nexit 1\n")
    helper.chmod(0o755)
    with caplog.at_level(logging.INFO, logger="mom"):
        running = start_mom(
            guests=1,
            main={"guest-manager-interval": "0.1", "guest-monitor-interval": "0.05"},
            sections={"guest": {"collectors": "GuestNetworkDaemon"}},
            file_sections={"Collector: GuestNetworkDaemon": {"name-to-ip-helper": str(helper)}},
        )
        wait_for(lambda: caplog.text.count("stopped; a new one in") >= 3, timeout=30)
        running.stop()
    backoffs = [float(x) for x in re.findall(r"Monitor of guest vm0000 stopped; a new one in ([\d.]+) s", caplog.text)]
    assert (
        "vm0000: Fatal Collector error: GuestNetworkDaemon: no IP address for guest vm0000 (helper said '')"
        in caplog.text
    )
    # the first wait is one guest-manager interval (0.1 s), doubled after every failure
    assert len(backoffs) >= 3
    assert backoffs == [float(f"{0.1 * 2**n:.1f}") for n in range(len(backoffs))]
    assert running.mom.getActiveGuests() == []


def test_statistics_are_sent_as_plain_data():
    tune = IoTune("vda", "/a", {"total_bytes_sec": 1}, {}, {"total_bytes_sec": 0})
    sample = {"io_tune": [tune], "io_tune_current": [{"name": "vda"}], "x": None, "n": 2**40, "t": (1, 2)}
    assert plain(sample) == {
        "io_tune": [
            {
                "name": "vda",
                "path": "/a",
                "guaranteed": {"total_bytes_sec": 1},
                "maximum": {},
                "current": {"total_bytes_sec": 0},
            }
        ],
        "io_tune_current": [{"name": "vda"}],
        "x": None,
        "n": 2**40,
        "t": [1, 2],
    }
    entity = entity_from_spec({"name": "g", "stats": [{"a": 1}]})
    assert plain(entity) == {"a": 1}


def test_rpc_port_in_use_leaves_mom_running_without_rpc(start_mom, caplog):
    import socket

    with socket.socket() as busy:
        busy.bind(("localhost", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with caplog.at_level(logging.INFO, logger="mom"):
            running = start_mom(guests=1, main={"rpc-port": str(port)})
            assert running.mom.ping() is True  # the API is there, RPC is not
            assert running.mom.rpc_server.server is None and running.mom.rpc_server.thread_ok()
            wait_for(lambda: running.mom.getActiveGuests())
            running.stop()
    assert f"RPC Server could not start on {port}" in caplog.text
