"""momd at density, on libvirt's test driver: the same threads for 10 guests as for 1000,
and libvirt calls per round that do not grow with the guests beyond what the driver lacks."""

from __future__ import annotations

import contextlib
import os

import pytest

from mom.rpc.client import UnixXmlRpcClient
from tests.helpers import MomdProcess, calls_delta, libvirt_test_host, momd_config, wait_for


@contextlib.contextmanager
def momd_on(tmp_path, guests):
    """momd (vdsm's collectors and controllers) on a test host of ``guests`` domains, all
    of them active: (process, client); stopped when the block ends."""
    host = tmp_path / f"host{guests}.xml"
    libvirt_test_host(str(host), guests)
    sock = tmp_path / f"momd{guests}.sock"
    conf = tmp_path / f"momd{guests}.conf"
    momd_config(
        f"test://{host}",
        conf,
        interval="0.5",
        rpc_port=str(sock),
        host="HostMemory, HostCpu",
        guest="GuestMemoryOptional, GuestBalloonOptional, GuestCpuTune, GuestIoTuneOptional",
        verbosity="info",
        main={"controllers": "Balloon, IoTune"},
    )
    with MomdProcess(str(conf), str(tmp_path / f"momd{guests}.log")) as process:
        client = UnixXmlRpcClient(str(sock), 10)
        process.wait_answering(lambda: len(client.getActiveGuests()) == guests, timeout=90, step=0.2)
        yield process, client


def os_threads(pid):
    return len(os.listdir(f"/proc/{pid}/task"))


def calls_over_rounds(client, rounds=4):
    """libvirt calls by name over ``rounds`` collection rounds, and the rounds counted."""
    start = client.getStatistics()["mom"]["hypervisor"]
    wait_for(lambda: client.getStatistics()["mom"]["hypervisor"]["rounds"] >= start["rounds"] + rounds, timeout=60)
    end = client.getStatistics()["mom"]["hypervisor"]
    return end["rounds"] - start["rounds"], calls_delta(start["calls_by_name"], end["calls_by_name"])


@pytest.mark.slow
def test_momd_threads_and_calls_do_not_grow_with_guests(tmp_path):
    threads = {}
    for guests in (10, 1000):
        with momd_on(tmp_path, guests) as (process, client):
            before = os_threads(process.process.pid)
            rounds, made = calls_over_rounds(client)
            assert os_threads(process.process.pid) == before  # and stable
            threads[guests] = before
            assert len(client.getStatistics()["guests"]) == guests
            assert process.stop() == 0, process.log()
        assert "Traceback" not in process.log()
        # per round: one bulk call and, since the test driver's bulk records are empty, one
        # memoryStats per guest (the rounds' edges cut one round at most); the domain XML
        # and the scheduler parameters stay cached
        assert made["getAllDomainStats"] == rounds, made
        assert abs(made["memoryStats"] - guests * rounds) <= guests, made
        assert not {"XMLDesc", "schedulerParameters", "lookupByUUIDString"} & set(made), made
    assert threads[10] == threads[1000], threads
