"""Prometheus metrics: scraped over HTTP from a running momd, and their wiring in-process."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from mom import _impl
from tests.helpers import MomdProcess, free_tcp_port, libvirt_test_host, momd_config, wait_for


def scrape(port: int) -> dict[str, list]:
    """name -> samples of every family the endpoint serves (parsed as Prometheus does)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def value(samples, name: str, **labels) -> float:
    matches = [s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(matches) == 1, (name, labels, samples)
    return matches[0]


def write_conf(tmp_path, port: int, guests: int = 3, policy: str = "") -> str:
    host_xml = tmp_path / "host.xml"
    names = libvirt_test_host(str(host_xml), guests)
    policy_dir = tmp_path / "policies"
    policy_dir.mkdir()
    # grow every guest a little each cycle: a control per guest, a hypervisor call per guest
    (policy_dir / "10-grow.policy").write_text(
        policy or '(with Guests guest (guest.Control "balloon_target" (+ guest.balloon_cur 1024)))\n'
    )
    path = tmp_path / "momd.conf"
    momd_config(
        f"test://{host_xml}",
        path,
        host="HostMemory, HostCpu",
        verbosity=None,
        main={"controllers": "Balloon", "policy-dir": str(policy_dir), "metrics-port": str(port)},
    )
    return str(path), [name for name, _ in names]


def test_scrape_a_running_momd(tmp_path):
    port = free_tcp_port()
    conf, guests = write_conf(tmp_path, port)
    with MomdProcess(conf, str(tmp_path / "momd.log")) as process:

        def cycled():
            families = scrape(port)  # URLError, ConnectionError (OSError): not serving yet
            ok = value(families["mom_policy_cycles"], "mom_policy_cycles_total", result="ok")
            return families if ok >= 2 and len(families["mom_guest_statistic"]) else None

        families = process.wait_answering(cycled)
        assert process.stop() == 0, process.log()
    log = process.log()
    assert f"Prometheus metrics on http://127.0.0.1:{port}/metrics" in log
    # which implementation runs
    info = families["mom_info"]
    assert value(info, "mom_info", implementation=_impl.IMPLEMENTATION, hypervisor_interface="libvirt") == 1
    # host statistics, as the collectors report them (KiB)
    host = families["mom_host_statistic"]
    assert value(host, "mom_host_statistic", field="mem_available") > 0
    assert value(host, "mom_host_statistic", field="cpu_count") >= 1
    # every guest's statistics
    guest = families["mom_guest_statistic"]
    for name in guests:
        assert value(guest, "mom_guest_statistic", guest=name, field="balloon_cur") > 0
        assert value(guest, "mom_guest_statistic", guest=name, field="mem_available") > 0
    assert value(families["mom_guests"], "mom_guests", state="ready") == len(guests)
    # the tick duration histogram, and what the cycles did
    histogram = families["mom_policy_cycle_seconds"]
    count = value(histogram, "mom_policy_cycle_seconds_count")
    assert count >= 2
    assert value(histogram, "mom_policy_cycle_seconds_bucket", le="+Inf") == count
    assert value(histogram, "mom_policy_cycle_seconds_sum") > 0
    cycles = value(families["mom_policy_cycles"], "mom_policy_cycles_total", result="ok")
    assert value(families["mom_policy_errors"], "mom_policy_errors_total") == 0
    # controls applied: one balloon_target per guest per cycle, each sent to the hypervisor
    controls = value(families["mom_controls"], "mom_controls_total", control="balloon_target")
    calls = value(families["mom_hypervisor_actions"], "mom_hypervisor_actions_total", method="setVmBalloonTarget")
    assert controls >= len(guests) * cycles and calls >= len(guests) * cycles
    assert (
        value(
            families["mom_hypervisor_action_errors"], "mom_hypervisor_action_errors_total", method="setVmBalloonTarget"
        )
        == 0
    )
    # each phase of each cycle is timed, and so is each hypervisor call
    phases = families["mom_tick_phase_seconds"]
    for phase in ("collect", "policy", "controls"):
        assert value(phases, "mom_tick_phase_seconds_count", phase=phase) >= cycles
    call_seconds = families["mom_hypervisor_call_seconds"]
    timed = value(call_seconds, "mom_hypervisor_call_seconds_count", method="setVmBalloonTarget")
    assert timed >= len(guests) * cycles


def test_policy_errors_are_counted(start_mom, tmp_path):
    policy_dir = tmp_path / "broken"
    policy_dir.mkdir()
    (policy_dir / "10-broken.policy").write_text("(defvar x (/ 1 0))\n")
    port = free_tcp_port()
    running = start_mom(main={"metrics-port": str(port), "policy-dir": str(policy_dir)})
    failed = wait_for(
        lambda: (
            value(scrape(port)["mom_policy_cycles"], "mom_policy_cycles_total", result="failed") >= 2 and scrape(port)
        )
    )
    assert value(failed["mom_policy_errors"], "mom_policy_errors_total") >= 2
    assert value(failed["mom_policy_cycles"], "mom_policy_cycles_total", result="ok") == 0
    running.stop()
    # the endpoint goes away with MOM
    with pytest.raises(urllib.error.URLError):
        scrape(port)


def test_metrics_are_off_by_default(start_mom):
    running = start_mom()
    assert running.mom.metrics is None
    running.stop()


def test_a_busy_port_leaves_mom_running_without_metrics(start_mom, caplog):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        running = start_mom(main={"metrics-port": str(port)})
        assert running.thread.is_alive()
        assert any("Cannot serve metrics on 127.0.0.1:%d" % port in r.getMessage() for r in caplog.records)
        running.stop()


COUNTED_POLICY = """
(Host.Control "ksm_run" 1)
(with Guests guest (if (> guest.mem 1) (guest.Control "balloon_target" guest.mem) 0))
(with Guests guest (if (> guest.mem 2) (guest.Control "cpu_quota" 10) 0))
"""


def counted_controls(host, guests) -> dict[str, float]:
    """The controls counter after one evaluation, told to the metrics as the engine tells its observers."""
    from mom.metrics import Metrics
    from mom.runtime.policy_store import PolicyStore

    metrics = Metrics()
    store = PolicyStore()
    assert store.set_policy(None, COUNTED_POLICY)
    assert store.evaluate(host, guests)
    metrics.policy_evaluated(1, host, guests, True)
    names = ("ksm_run", "balloon_target", "cpu_quota")
    return {name: metrics.registry.get_sample_value("mom_controls_total", {"control": name}) for name in names}


def test_controls_are_counted_per_entity_that_set_them():
    """The daemon's guests (table rows) and upstream-style entities count alike."""
    from mom.offline import entity_from_spec
    from mom.runtime.table import GuestSet, SampleTable

    host_table = SampleTable(["free"], capacity=1)
    host_row = host_table.add_row("host")
    host_table.append(host_row, {"free": 1})
    table = SampleTable(["mem"])
    rows = []
    for index, mem in enumerate([1, 2, 3, 4, 0]):
        rows.append(table.add_row(f"vm{index}"))
        table.append(rows[-1], {"mem": mem})
    table.remove_row(rows.pop())  # a free row is not counted
    outside = table.add_row("not-in-this-cycle")  # nor a row outside the guest set
    table.append(outside, {"mem": 9})
    table.set_control(outside, "cpu_quota", 5)
    expected = {"ksm_run": 1.0, "balloon_target": 3.0, "cpu_quota": 2.0}
    assert counted_controls(host_table.view(host_row), GuestSet(table, rows)) == expected
    host = entity_from_spec({"stats": [{"free": 1}]})
    guests = {index: entity_from_spec({"stats": [{"mem": mem}]}) for index, mem in enumerate([1, 2, 3, 4])}
    assert counted_controls(host, guests.values()) == expected
