"""The operators' view of the SLA allocator: the status of its last cycle (what
getSlaStatus returns), momctl's table, the per-class gauges, the warning when the
guarantees do not fit; and a real momd running the shipped SLA set on libvirt's test
driver, under pressure forced through the parameters policy."""

from __future__ import annotations

import logging
import re

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from mom.cli.momctl import format_sla_status
from mom.metrics import Metrics
from mom.sla.classes import DEFAULT_CLASSES
from mom.sla.status import sla_balloon_of, sla_status
from tests.sla.sla_host import GIB, Guest, SlaHost, sla_store

CLASSES = ("platinum", "gold", "standard", "compute", "vapor")


def pressed_store(impl, cycles: int = 3):
    host = SlaHost(16 * GIB, [Guest(name, name, GIB) for name in CLASSES] + [Guest("std2", "standard", GIB)])
    store = sla_store(impl)
    host.run(store, cycles)
    return host, store


def test_status_per_class_and_per_guest(impl):
    host, store = pressed_store(impl)
    status = sla_status(sla_balloon_of(store).last, DEFAULT_CLASSES)
    cycle = status["cycle"]
    assert cycle["mode"] == "reclaim" and cycle["state"] == "pressure"
    assert cycle["threshold"] == int(0.20 * 16 * GIB) and cycle["shortfall"] == 0 and cycle["given_up"] == []
    guests = {row["name"]: row for row in status["guests"]}
    assert set(guests) == {*CLASSES, "std2"}
    assert guests["platinum"]["mode"] == "fixed" and guests["platinum"]["target"] == 4 * GIB
    assert guests["vapor"]["mode"] == "shrink" and guests["vapor"]["target"] < guests["vapor"]["current"]
    assert guests["gold"]["guarantee"] == 3 * GIB and guests["gold"]["class"] == "gold"
    classes = status["classes"]
    assert set(classes) == set(DEFAULT_CLASSES)
    assert classes["standard"]["guests"] == 2
    assert classes["standard"]["current"] == sum(g.balloon_cur for g in host.guests if g.sla_class == "standard") + sum(
        # the status is of the last cycle: its targets are applied since
        guests[n]["current"] - next(g.balloon_cur for g in host.guests if g.name == n) for n in ("standard", "std2")
    )
    assert classes["platinum"]["reclaimed"] == 0 and classes["vapor"]["reclaimed"] > 0
    assert classes["gold"]["guaranteed"] == 3 * GIB


def test_no_status_before_the_first_cycle(impl):
    store = sla_store(impl)
    assert sla_balloon_of(store).last is None
    status = sla_status(None, DEFAULT_CLASSES)
    assert status["cycle"] == {} and status["guests"] == []
    assert status["classes"]["gold"] == {"guests": 0, "guaranteed": 0, "allocated": 0, "current": 0, "target": 0, "reclaimed": 0, "shortfall": 0}
    assert "no SLA allocation yet" in format_sla_status(status)


def test_momctl_table(impl):
    _, store = pressed_store(impl)
    text = format_sla_status(sla_status(sla_balloon_of(store).last, DEFAULT_CLASSES))
    lines = text.splitlines()
    assert lines[0].startswith("mode: reclaim (pressure)")
    header = next(line for line in lines if line.startswith("class"))
    assert header.split()[:8] == ["class", "guests", "guaranteed", "allocated", "current", "target", "reclaimed", "shortfall"]
    gold = next(line for line in lines if line.startswith("gold "))
    assert gold.split()[1:3] == ["1", "3072"]  # one guest, 3 GiB guaranteed
    platinum = next(line for line in lines if line.startswith("platinum") and "fixed" in line)
    assert platinum.split()[1:3] == ["platinum", "50"]


def test_per_class_gauges(impl):
    _, store = pressed_store(impl)
    metrics = Metrics("libvirt")
    metrics.watch_sla(lambda: sla_status(sla_balloon_of(store).last, DEFAULT_CLASSES))
    families = {f.name: f.samples for f in text_string_to_metric_families(generate_latest(metrics.registry).decode())}
    guests = {s.labels["sla_class"]: s.value for s in families["mom_sla_guests"]}
    assert guests == {"platinum": 1, "gold": 1, "standard": 2, "compute": 1, "vapor": 1}
    guaranteed = {s.labels["sla_class"]: s.value for s in families["mom_sla_guaranteed_kib"]}
    assert guaranteed["gold"] == 3 * GIB and guaranteed["platinum"] == 4 * GIB
    reclaimed = {s.labels["sla_class"]: s.value for s in families["mom_sla_reclaimed_kib"]}
    assert reclaimed["platinum"] == 0 and reclaimed["vapor"] > 0
    assert all(s.value == 0 for s in families["mom_sla_shortfall_kib"])
    assert {s.labels["sla_class"] for s in families["mom_sla_allocated_kib"]} == set(DEFAULT_CLASSES)


def test_a_warning_when_the_guarantees_do_not_fit_and_once_only(impl, caplog):
    # a platinum (4 GiB) and three gold guests (3 GiB each) on 12 GiB, 25 % kept free
    guests = [Guest("p", "platinum", GIB)] + [Guest(f"g{i}", "gold", GIB) for i in range(3)]
    host = SlaHost(12 * GIB, guests, overhead=0)
    store = sla_store(impl)
    with caplog.at_level(logging.INFO, logger="mom.sla"):
        host.run(store, 10)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert re.match(r"SLA guarantees exceed what the host can give its guests \(\d+ KiB\): \d+ KiB of the guarantees"
                    r" of \d guest\(s\) cannot be kept; given up first: g0", message), message
    status = sla_status(sla_balloon_of(store).last, DEFAULT_CLASSES)
    assert status["cycle"]["shortfall"] > 0 and status["classes"]["gold"]["shortfall"] == status["cycle"]["shortfall"]
    caplog.clear()
    host.memory = 32 * GIB  # room again
    with caplog.at_level(logging.INFO, logger="mom.sla"):
        host.run(store, 2)
    assert [r.getMessage() for r in caplog.records] == ["SLA guarantees fit the host again: every guarantee is kept"]


# ## A real momd


def test_momd_runs_the_sla_set_and_reports_it(tmp_path):
    import json
    import subprocess
    import sys

    from mom.rpc.client import UnixXmlRpcClient
    from tests.helpers import MomdProcess, libvirt_test_host, momd_config, wait_for

    host_xml = tmp_path / "host.xml"
    libvirt_test_host(str(host_xml), 3, memory_kib=2 * GIB, current_kib=2 * GIB)
    sock = str(tmp_path / "m.sock")
    conf = tmp_path / "mom.conf"
    momd_config(
        f"test://{host_xml}",
        conf,
        rpc_port=sock,
        host="HostMemory, HostKSM, HostCpu, HostCpuPressure, HostIoPressure, HostNuma",
        guest="GuestMemory, GuestBalloon, GuestCpuTune, GuestIoTuneOptional, GuestSla, GuestSlaResources",
        main={"policy-dir": "sla", "controllers": "Balloon", "state-file": ""},
        sections={"sla": {"rules": "\nvm0000 class=platinum\nvm0001 class=gold\nvm0002 class=vapor"}},
    )
    client = UnixXmlRpcClient(sock, 10)
    with MomdProcess(str(conf), str(tmp_path / "momd.log")).start() as momd:
        momd.wait_answering(lambda: client.ping())
        # pressure: every byte of the host counts as short (through the parameters policy)
        assert client.setNamedPolicy("01-parameters", "(defvar slaPressureThreshold 0.999)")

        def reclaimed():
            status = client.getSlaStatus()
            guests = {g["name"]: g for g in status["guests"]}
            return status if guests.get("vm0002", {}).get("current", 2 * GIB) < 2 * GIB - 200000 else None

        status = wait_for(reclaimed, timeout=60)
        guests = {g["name"]: g for g in status["guests"]}
        assert status["cycle"]["mode"] == "reclaim"
        assert guests["vm0000"]["class"] == "platinum" and guests["vm0000"]["current"] == 2 * GIB
        assert guests["vm0001"]["current"] >= 0.75 * 2 * GIB
        assert guests["vm0002"]["mode"] in ("shrink", "hold")
        done = subprocess.run(
            [sys.executable, "-m", "mom.cli.momctl", "--socket", sock, "sla"], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        assert "mode: reclaim" in done.stdout and "vm0002" in done.stdout
        done = subprocess.run(
            [sys.executable, "-m", "mom.cli.momctl", "--socket", sock, "sla", "--json"], capture_output=True, text=True, timeout=60
        )
        assert json.loads(done.stdout)["classes"]["platinum"]["guests"] == 1
        assert momd.stop() == 0, momd.log()
    log = momd.log()
    assert "Policy error" not in log, log[-3000:]
