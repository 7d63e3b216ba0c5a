"""The vdsm double answers with vdsm's shapes, error codes and client errors (tests.vdsm_double)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.helpers import wait_for
from tests.vdsm.conftest import UUID_1, UUID_2, UUID_DOWN, two_vms
from tests.vdsm_double import Disk, SharedDir, VdsmDouble, Vm, client, install, memory_stats
from tests.vdsm_double.shared_dir import JOURNAL, SharedDirDouble


@pytest.fixture
def cli(double):
    with install(double):
        yield client.connect("localhost", timeout=0.05)


# ## Shapes


def test_running_vm_stats_have_vdsms_types(cli):
    stats = {vm["vmId"]: vm for vm in cli.Host.getAllVmStats()}
    vm1 = stats[UUID_1]
    assert (vm1["vmName"], vm1["status"], vm1["pid"]) == ("vm1", "Up", "4242")
    # strings where vdsm's translate() renders numbers as strings
    assert (vm1["vcpuQuota"], vm1["vcpuCount"], vm1["memUsage"]) == (
        "50000",
        "2",
        str(int(100 - 262144 / 2097152 * 100)),
    )
    assert (vm1["vcpuPeriod"], vm1["vcpuUserLimit"]) == (100000, 50)  # schema long / int
    assert vm1["balloonInfo"] == {
        "balloon_max": "2097152",
        "balloon_min": "524288",
        "balloon_cur": "1572864",
        "balloon_target": "1572864",
        "ballooning_enabled": True,
    }
    assert vm1["memoryStats"] == {
        "mem_total": "1572864",
        "mem_unused": "262144",
        "mem_free": "262144",
        "swap_in": 3,
        "swap_out": 4,
        "majflt": 5,
        "minflt": 40,
        "pageflt": 45,
    }
    assert vm1["ioTune"][0]["ioTune"]["total_bytes_sec"] == "0"


def test_a_vm_without_samples_yet_and_a_vm_that_is_down(cli):
    stats = {vm["vmId"]: vm for vm in cli.Host.getAllVmStats()}
    vm2 = stats[UUID_2]
    assert vm2["balloonInfo"] == {} and "memoryStats" not in vm2 and "vcpuCount" not in vm2
    assert vm2["memUsage"] == "0"
    down = stats[UUID_DOWN]
    assert down["status"] == "Down" and set(down) == {
        "vmId", "status", "exitCode", "exitMessage", "exitReason", "statusTime", "timeOffset"
    }  # fmt: skip


def test_io_tune_policies_of_the_running_vms(cli):
    policies = cli.Host.getAllVmIoTunePolicies()
    assert set(policies) == {UUID_1, UUID_2}
    assert policies[UUID_2] == {"policy": [], "current_values": []}
    assert policies[UUID_1]["current_values"][0]["ioTune"]["total_iops_sec"] == 0  # ints here
    assert cli.VM.getIoTunePolicy(vmID=UUID_1) == policies[UUID_1]["policy"]
    assert cli.VM.getIoTune(vmID=UUID_1) == policies[UUID_1]["current_values"]
    assert cli.VM.getStats(vmID=UUID_1)[0]["vmName"] == "vm1"


# ## Errors


def test_server_errors_carry_vdsms_codes_and_messages(cli):
    with pytest.raises(client.ServerError) as info:
        cli.VM.setBalloonTarget(vmID="gone", target=1)
    error = info.value
    assert (error.code, error.resp_msg) == (1, "Virtual machine does not exist: {'vmId': 'gone'}")
    assert str(error) == (
        "Command VM.setBalloonTarget with args {'vmID': 'gone', 'target': 1} failed:\n"
        "(code=1, message=Virtual machine does not exist: {'vmId': 'gone'})"
    )
    with pytest.raises(client.ServerError) as info:
        cli.Host.noSuchVerb()
    assert info.value.code == -32601
    with pytest.raises(client.ServerError) as info:
        cli.VM.setBalloonTarget(vmId=UUID_1, target=1)  # vdsm's parameter is vmID
    assert info.value.code == -32602


@pytest.mark.parametrize(
    ("verb", "params", "code"),
    [
        ("VM.setBalloonTarget", {"target": 2097153}, 53),  # above the VM's memory
        ("VM.setBalloonTarget", {"target": 1048576.5}, -32602),  # KiB are ints
        ("VM.setCpuTuneQuota", {"quota": 999}, 62),  # libvirt: -1 or >= 1000
        ("VM.setCpuTunePeriod", {"period": 999}, 62),
        ("VM.setIoTune", {"tunables": [{"name": "vdb", "ioTune": {}}]}, 64),
        ("VM.setIoTune", {"tunables": [{"name": "vda", "ioTune": {"total_bytes_sec": 1, "read_bytes_sec": 1}}]}, 64),
        ("VM.setIoTune", {"tunables": [{"name": "vda", "ioTune": {"total_iops_sec": -1}}]}, 64),
    ],
)
def test_actions_are_checked_as_vdsm_and_libvirt_check_them(cli, double, verb, params, code):
    namespace, method = verb.split(".")
    before = double.vm(UUID_1).to_json()
    with pytest.raises(client.ServerError) as info:
        getattr(getattr(cli, namespace), method)(vmID=UUID_1, **params)
    assert info.value.code == code
    assert double.vm(UUID_1).to_json() == before  # nothing applied


def test_ksm_parameters_within_supervdsms_limits(cli, double):
    assert cli.Host.setKsmTune(tuningParams={"run": 2, "merge_across_nodes": 0, "pages_to_scan": 2**32 - 1}) is True
    assert double.ksm == {"run": 2, "merge_across_nodes": 0, "pages_to_scan": 2**32 - 1, "sleep_millisecs": 20}
    for bad in ({"run": 3}, {"sleep_millisecs": 2**32}, {"pages": 1}, {"run": True}):
        with pytest.raises(client.ServerError) as info:
            cli.Host.setKsmTune(tuningParams=bad)
        assert info.value.code == 71


def test_actions_take_effect(cli, double):
    cli.VM.setBalloonTarget(vmID=UUID_1, target=1048576)
    cli.VM.setCpuTuneQuota(vmID=UUID_1, quota=-1)
    cli.VM.setIoTune(vmID=UUID_1, tunables=[{"path": "/rhev/data-center/mnt/blockSD/sd/images/vm1-vda",
                                             "ioTune": {"read_iops_sec": 10}}])  # fmt: skip
    stats = cli.VM.getStats(vmID=UUID_1)[0]
    assert stats["balloonInfo"]["balloon_cur"] == stats["balloonInfo"]["balloon_target"] == "1048576"
    assert stats["vcpuQuota"] == "-1"
    assert double.vm(UUID_1).disks[0].io_tune["read_iops_sec"] == 10


# ## Connections, restarts, slowness


def test_down_restarting_and_recovering(double):
    with install(double):
        double.stop()
        with pytest.raises(client.ConnectionError, match=r"Connection to h:1 with use_tls=False, timeout=3 failed: "):
            client.connect("h", 1, use_tls=False, timeout=3)
        double.start()
        old = client.connect("localhost")
        double.restart(recovering=True)
        with pytest.raises(client.ClientError, match="Connection reset by peer"):
            old.Host.getAllVmStats()
        new = client.connect("localhost")
        assert new.Host.ping2() is True
        with pytest.raises(client.ServerError, match="code=99, message=Recovering from crash or Initializing"):
            new.Host.getAllVmStats()
        new.close()
        with pytest.raises(client.ClientError, match="client closed"):
            new.Host.ping2()
    with pytest.raises(client.ConnectionError, match="no vdsm double in this process"):
        client.connect("localhost")


def test_a_delay_past_the_timeout_is_a_timeout_error(cli, double):
    double.delays["Host.getAllVmStats"] = 0.2
    with pytest.raises(client.TimeoutError, match=r"Request Host.getAllVmStats with args \{\} timed out after 0.05"):
        cli.Host.getAllVmStats()
    assert len(cli.Host.getAllVmStats(_timeout=1)) == 3  # a per-call timeout, as vdsm.client's _timeout
    assert [call.outcome for call in double.calls_of("Host.getAllVmStats", None)] == ["timeout", "ok"]


def test_forced_errors(cli, double):
    double.server_errors["VM.setIoTune"] = [64, "Failed to update ioTune values"]
    with pytest.raises(client.ServerError, match="code=64"):
        cli.VM.setIoTune(vmID=UUID_1, tunables=[])
    assert double.calls[-1].outcome == "error 64"


# ## The double in another process


def test_a_shared_directory_steers_a_double_in_another_process(tmp_path):
    shared = SharedDir(tmp_path)
    double = VdsmDouble(two_vms())
    shared.write(double)
    script = (
        "from tests.vdsm_double import client\n"
        "c = client.connect('localhost')\n"
        "print(len(c.Host.getAllVmStats()))\n"
        f"c.VM.setBalloonTarget(vmID={UUID_1!r}, target=1048576)\n"
    )
    env = dict(os.environ, **shared.environment())
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "3"
    assert [(c["verb"], c["params"]) for c in shared.calls() if c["verb"].startswith("VM.")] == [
        ("VM.setBalloonTarget", {"vmID": UUID_1, "target": 1048576})
    ]
    assert all(set(call) == {"verb", "params", "outcome", "time"} for call in shared.calls(outcome=None))


def test_the_file_backed_double_reloads_a_changed_scenario(tmp_path):
    shared = SharedDir(tmp_path)
    scenario = VdsmDouble([Vm("a", "vm-a", memory_stats=memory_stats(1000, 500))])
    shared.write(scenario)
    inside = SharedDirDouble(str(tmp_path))
    with install(inside):
        cli = client.connect("localhost")
        assert [vm["vmId"] for vm in cli.Host.getAllVmStats()] == ["a"]
        scenario.add_vm(Vm("b", "vm-b", disks=[Disk("vda", io_tune={"total_bytes_sec": 5})]))
        scenario.restart()
        shared.write(scenario)
        with pytest.raises(client.ClientError):
            cli.Host.getAllVmStats()  # the restart killed the connection
        cli = client.connect("localhost")
        assert [vm["vmId"] for vm in cli.Host.getAllVmStats()] == ["a", "b"]
    lines = (tmp_path / JOURNAL).read_text().splitlines()
    assert [json.loads(line)["outcome"] for line in lines] == ["ok", "refused", "ok"]


# ## The README's walk-through: the double and momd started by hand from the checkout


@pytest.mark.slow
def test_the_walk_through_double_and_momd_from_a_checkout(tmp_path):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(root, "examples", "momd-vdsm.conf"), encoding="utf-8") as handle:
        text = handle.read()
    # the example as written, but its socket under tmp_path (not the checkout's run/)
    config = tmp_path / "momd-vdsm.conf"
    config.write_text(text.replace("rpc-port: run/mom-vdsm.sock", f"rpc-port: {tmp_path / 'mom-vdsm.sock'}"))
    directory = str(tmp_path / "double")
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    double_out, momd_out = tmp_path / "double.out", tmp_path / "momd.out"
    with open(double_out, "w") as out_double, open(momd_out, "w") as out_momd:
        double = subprocess.Popen(
            [sys.executable, "-m", "tests.vdsm_double", directory], cwd=root, env=env, stdout=out_double, stderr=out_double
        )
        try:
            wait_for(lambda: os.path.exists(os.path.join(directory, "scenario.json")), what="the double's scenario")
            momd = subprocess.Popen(
                [sys.executable, "-m", "mom.cli.momd", "-c", str(config)],
                cwd=root, env=dict(env, MOM_VDSM_DOUBLE_DIR=directory), stdout=out_momd, stderr=out_momd,
            )
            try:
                # 04-cputune: vm-busy's 50 % CPU limit becomes a quota, through the double
                wait_for(
                    lambda: 'VM.setCpuTuneQuota {"vmID": "5a4b1c7e-0000-4000-8000-000000000001", "quota": 50000} -> ok'
                    in double_out.read_text(),
                    timeout=30,
                    what=lambda: f"momd's first control\n{double_out.read_text()}\n{momd_out.read_text()}",
                )
            finally:
                momd.terminate()
                assert momd.wait(timeout=20) == 0
        finally:
            double.terminate()
            double.wait(timeout=20)
    log = momd_out.read_text()
    assert "using tests.vdsm_double.client instead of vdsm.client" in log
    assert "Loaded policy '05-iotune'" in log  # policy-dir: vdsm, the shipped set by name
