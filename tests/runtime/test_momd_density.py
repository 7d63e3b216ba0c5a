"""momd at density, on libvirt's test driver: the same threads for 10 guests as for 1000,
and libvirt calls per round that do not grow with the guests beyond what the driver lacks."""

from __future__ import annotations

import os
import textwrap

import pytest

from mom.rpc.client import UnixXmlRpcClient
from mom.testing import MomdProcess, libvirt_test_host, wait_for


def momd_on(tmp_path, guests):
    """momd (vdsm's collectors and controllers) on a test host of ``guests`` domains."""
    host = tmp_path / f"host{guests}.xml"
    libvirt_test_host(str(host), guests)
    sock = tmp_path / f"momd{guests}.sock"
    conf = tmp_path / f"momd{guests}.conf"
    conf.write_text(
        textwrap.dedent(
            f"""\
            [main]
            libvirt-hypervisor-uri = test://{host}
            rpc-port = {sock}
            main-loop-interval = 0.5
            host-monitor-interval = 0.5
            guest-manager-interval = 0.5
            guest-monitor-interval = 0.5
            policy-engine-interval = 0.5
            controllers = Balloon, IoTune
            [logging]
            verbosity = info
            [host]
            collectors = HostMemory, HostCpu
            [guest]
            collectors = GuestMemoryOptional, GuestBalloonOptional, GuestCpuTune, GuestIoTuneOptional
            """
        )
    )
    process = MomdProcess(str(conf), str(tmp_path / f"momd{guests}.log")).start()
    client = UnixXmlRpcClient(str(sock), 10)

    def all_active():
        assert process.alive(), process.log()
        try:
            return len(client.getActiveGuests()) == guests
        except OSError:
            return False

    wait_for(all_active, timeout=90, step=0.2)
    return process, client


def os_threads(pid):
    return len(os.listdir(f"/proc/{pid}/task"))


def calls_over_rounds(client, rounds=4):
    """libvirt calls by name over ``rounds`` collection rounds, and the rounds counted."""
    start = client.getStatistics()["mom"]["hypervisor"]
    wait_for(lambda: client.getStatistics()["mom"]["hypervisor"]["rounds"] >= start["rounds"] + rounds, timeout=60)
    end = client.getStatistics()["mom"]["hypervisor"]
    made = {k: v - start["calls_by_name"].get(k, 0) for k, v in end["calls_by_name"].items()}
    return end["rounds"] - start["rounds"], {k: v for k, v in made.items() if v}


@pytest.mark.slow
def test_momd_threads_and_calls_do_not_grow_with_guests(tmp_path):
    threads = {}
    for guests in (10, 1000):
        process, client = momd_on(tmp_path, guests)
        try:
            before = os_threads(process.process.pid)
            rounds, made = calls_over_rounds(client)
            assert os_threads(process.process.pid) == before  # and stable
            threads[guests] = before
            assert len(client.getStatistics()["guests"]) == guests
        finally:
            assert process.stop() == 0
        assert "Traceback" not in process.log()
        # per round: one bulk call and, since the test driver's bulk records are empty, one
        # memoryStats per guest (the rounds' edges cut one round at most); the domain XML
        # and the scheduler parameters stay cached
        assert made["getAllDomainStats"] == rounds, made
        assert abs(made["memoryStats"] - guests * rounds) <= guests, made
        assert not {"XMLDesc", "schedulerParameters", "lookupByUUIDString"} & set(made), made
    assert threads[10] == threads[1000], threads
