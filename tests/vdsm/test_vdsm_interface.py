"""The vdsm hypervisor interfaces against the vdsm double: fields, units, verbs, caching, failures."""

from __future__ import annotations

import configparser
import logging
import re
import subprocess
import sys
import threading

import pytest

from mom.errors import ConfigError, HypervisorInterfaceError, PluginNotFoundError
from mom.plugins import registry
from mom.plugins.hypervisors.vdsm_client import (
    VdsmSettings,
    load_client_library,
)
from mom.plugins.hypervisors.vdsm_connection import CallFailed
from mom.plugins.hypervisors.vdsm_jsonrpc_client import IO_TUNE_TTL, STATS_TTL
from mom.plugins.hypervisors.vdsm_jsonrpc_legacy import VdsmJsonRpcBulkInterface, VdsmJsonRpcInterface
from tests.vdsm.conftest import UUID_1, UUID_2, UUID_DOWN
from tests.vdsm_double import Vm, memory_stats

# ## What the interface reads


def test_the_guests_are_the_vms_that_are_up(iface):
    assert iface.getVmList() == [UUID_1, UUID_2]


def test_vm_info_has_vdsms_name_and_pid(iface):
    assert iface.getVmInfo(UUID_1) == {"uuid": UUID_1, "name": "vm1", "pid": "4242"}  # the pid as vdsm sent it
    with pytest.raises(HypervisorInterfaceError, match="^VM no-such-vm does not exist$"):
        iface.getVmInfo("no-such-vm")
    assert UUID_DOWN not in iface.getVmList()  # listed by vdsm, but not up


def test_memory_stats_are_upstreams_fields_in_kib_as_ints(iface):
    stats = iface.getVmMemoryStats(UUID_1)
    assert stats == {
        "mem_available": 1572864,  # memoryStats.mem_total (a string in vdsm's answer)
        "mem_unused": 262144,
        "mem_free": 262144,
        "major_fault": 5,
        "minor_fault": 40,  # pageflt (45) - majflt (5)
        "swap_in": 3,
        "swap_out": 4,
        "swap_total": 0,  # current vdsm does not report swap: upstream's default
        "swap_usage": 0,
    }
    assert all(type(value) is int for value in stats.values())


def test_the_old_guest_agents_swap_numbers_are_passed_on(make_iface, double):
    double.vm(UUID_1).memory_stats = memory_stats(1000000, 1000, swap_total=2097152, swap_usage=4096)
    stats = make_iface().getVmMemoryStats(UUID_1)
    assert (stats["swap_total"], stats["swap_usage"]) == (2097152, 4096)


def test_memory_stats_errors_say_what_is_missing(make_iface, double):
    double.vm(UUID_1).mem_usage = 0  # vdsm's '0': no guest agent
    double.vm(UUID_2).mem_usage = 37  # an agent, but no detailed statistics
    iface = make_iface()
    with pytest.raises(HypervisorInterfaceError, match="^The ovirt-guest-agent is not active$"):
        iface.getVmMemoryStats(UUID_1)
    with pytest.raises(
        HypervisorInterfaceError, match="^Detailed guest memory stats are not available, please upgrade guest agent$"
    ):
        iface.getVmMemoryStats(UUID_2)
    with pytest.raises(HypervisorInterfaceError, match="^VM gone does not exist$"):
        iface.getVmMemoryStats("gone")


def test_balloon_info_is_three_ints_or_none_before_vdsm_has_it(iface):
    assert iface.getVmBalloonInfo(UUID_1) == {"balloon_max": 2097152, "balloon_min": 524288, "balloon_cur": 1572864}
    assert iface.getVmBalloonInfo(UUID_2) is None  # vdsm's balloonInfo: {}


def test_cpu_tune_info_with_upstreams_defaults(make_iface, double):
    double.vm(UUID_1).vcpu_user_limit = None  # not reported: 100
    iface = make_iface()
    assert iface.getVmCpuTuneInfo(UUID_1) == {
        "vcpu_user_limit": 100,
        "vcpu_quota": 50000,  # '50000' in vdsm's answer
        "vcpu_period": 100000,
        "vcpu_count": 2,
    }
    assert iface.getVmCpuTuneInfo(UUID_2) is None  # no vcpuCount yet


def test_io_tune_comes_from_one_bulk_call(iface, double):
    policy = iface.getVmIoTunePolicy(UUID_1)
    current = iface.getVmIoTune(UUID_1)
    assert policy == [
        {
            "name": "vda",
            "path": "/rhev/data-center/mnt/blockSD/sd/images/vm1-vda",
            "guaranteed": {"total_bytes_sec": 1048576, "total_iops_sec": 100},
            "maximum": {"total_bytes_sec": 10485760, "total_iops_sec": 1000},
        }
    ]
    assert current[0]["ioTune"]["total_bytes_sec"] == 0 and current[0]["name"] == "vda"
    assert iface.getVmIoTunePolicy(UUID_2) == [] and iface.getVmIoTunePolicy("gone") is None
    assert [call.verb for call in double.calls if "IoTune" in call.verb] == ["Host.getAllVmIoTunePolicies"]


def test_vdsmjsonrpc_reads_io_tune_per_vm(make_iface, double, caplog):
    with caplog.at_level(logging.INFO, logger="mom"):
        iface = make_iface(VdsmJsonRpcInterface)
    assert "hypervisor interface vdsmjsonrpc: served through vdsm.client" in caplog.text
    assert iface.getVmIoTunePolicy(UUID_1)[0]["maximum"] == {"total_bytes_sec": 10485760, "total_iops_sec": 1000}
    assert iface.getVmIoTune(UUID_1)[0]["ioTune"]["total_iops_sec"] == 0
    assert iface.getVmIoTunePolicy("gone") is None
    assert [(c.verb, c.params) for c in double.calls if "IoTune" in c.verb] == [
        ("VM.getIoTunePolicy", {"vmID": UUID_1}),
        ("VM.getIoTune", {"vmID": UUID_1}),
        ("VM.getIoTunePolicy", {"vmID": "gone"}),
    ]
    bulk = make_iface(VdsmJsonRpcBulkInterface)
    assert bulk.getVmIoTune(UUID_1) == iface.getVmIoTune(UUID_1)
    assert double.calls_of("Host.getAllVmIoTunePolicies")


# ## Caching (upstream's periods)


def test_vm_stats_are_fetched_once_per_five_seconds(iface, double, clock):
    def fetches():
        return len(double.calls_of("Host.getAllVmStats"))

    iface.getVmList()
    iface.getVmMemoryStats(UUID_1)
    iface.getVmBalloonInfo(UUID_1)
    iface.getVmCpuTuneInfo(UUID_1)
    assert fetches() == 1
    double.vm(UUID_1).balloon_cur = 1048576
    clock.advance(STATS_TTL - 0.1)
    assert iface.getVmBalloonInfo(UUID_1)["balloon_cur"] == 1572864  # still the cached answer
    clock.advance(0.2)
    assert iface.getVmBalloonInfo(UUID_1)["balloon_cur"] == 1048576
    assert fetches() == 2


def test_guests_asking_at_once_share_one_request(iface, double, clock):
    double.delays["Host.getAllVmStats"] = 0.2  # slow enough for the others to arrive meanwhile
    clock.advance(STATS_TTL)
    results = []
    threads = [threading.Thread(target=lambda: results.append(iface.getVmList())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results == [[UUID_1, UUID_2]] * 4
    assert len(double.calls_of("Host.getAllVmStats")) == 1


def test_io_tune_is_fetched_once_per_five_minutes_and_keeps_what_the_policy_set(iface, double, clock):
    current = iface.getVmIoTune(UUID_1)
    current[0]["ioTune"]["total_bytes_sec"] = 10485760  # what an IoTune setter in a policy does
    clock.advance(IO_TUNE_TTL - 1)
    assert iface.getVmIoTune(UUID_1)[0]["ioTune"]["total_bytes_sec"] == 10485760  # upstream: the cache itself
    clock.advance(2)
    assert iface.getVmIoTune(UUID_1)[0]["ioTune"]["total_bytes_sec"] == 0  # vdsm's answer again
    assert len(double.calls_of("Host.getAllVmIoTunePolicies")) == 2


def test_a_vdsm_error_is_cached_like_an_answer_a_timeout_only_briefly(make_iface, double, clock):
    iface = make_iface(request_timeout="0.05")
    double.server_errors["Host.getAllVmIoTunePolicies"] = [16, "Unexpected exception"]
    assert iface.getVmIoTune(UUID_1) is None
    del double.server_errors["Host.getAllVmIoTunePolicies"]
    clock.advance(60)
    assert iface.getVmIoTune(UUID_1) is None  # upstream kept vdsm's error for the whole 300 s
    clock.advance(IO_TUNE_TTL)
    assert iface.getVmIoTune(UUID_1) is not None
    double.delays["Host.getAllVmStats"] = 0.1  # past the 0.05 s request timeout
    clock.advance(STATS_TTL)
    assert iface.getVmList() is None
    assert iface.getVmList() is None  # the failure is reused for this period: one slow request, not one per guest
    assert len(double.calls_of("Host.getAllVmStats", outcome="timeout")) == 1
    del double.delays["Host.getAllVmStats"]
    clock.advance(STATS_TTL)
    assert iface.getVmList() == [UUID_1, UUID_2]


# ## Actions: upstream's verbs and arguments


def test_actions_send_upstreams_verbs_and_keyword_arguments(iface, double):
    tunables = [{"name": "vda", "path": "/rhev/data-center/mnt/blockSD/sd/images/vm1-vda",
                 "ioTune": {"total_bytes_sec": 10485760, "total_iops_sec": 1000}}]  # fmt: skip
    iface.setVmBalloonTarget(UUID_1, 1048576)
    iface.setVmCpuTune(UUID_1, 25000, 100000)
    iface.setVmIoTune(UUID_1, tunables)
    iface.ksmTune({"run": 1, "pages_to_scan": 64})
    sent = [(call.verb, call.params) for call in double.calls if call.verb.split(".")[1].startswith("set")]
    assert sent == [
        ("VM.setBalloonTarget", {"vmID": UUID_1, "target": 1048576}),
        ("VM.setCpuTuneQuota", {"vmID": UUID_1, "quota": 25000}),
        ("VM.setCpuTunePeriod", {"vmID": UUID_1, "period": 100000}),
        ("VM.setIoTune", {"vmID": UUID_1, "tunables": tunables}),
        ("Host.setKsmTune", {"tuningParams": {"run": 1, "pages_to_scan": 64}}),
    ]
    vm = double.vm(UUID_1)
    assert (vm.balloon_target, vm.vcpu_quota, vm.disks[0].io_tune["total_iops_sec"]) == (1048576, 25000, 1000)
    assert double.ksm["run"] == 1


def test_an_action_on_a_vm_that_vanished_is_logged_and_the_caller_goes_on(iface, double, caplog):
    iface.getVmList()
    double.remove_vm(UUID_1)  # destroyed between the list and the control
    with caplog.at_level(logging.WARNING, logger="mom"):
        iface.setVmBalloonTarget(UUID_1, 1048576)
        iface.setVmCpuTune(UUID_1, 25000, 100000)
        iface.setVmBalloonTarget(UUID_2, 524288)
    assert (
        f"VM.setBalloonTarget(vmID='{UUID_1}', target=1048576) failed: "
        f"(code=1, message=Virtual machine does not exist: {{'vmId': '{UUID_1}'}})" in caplog.text
    )
    assert "VM.setCpuTunePeriod" in caplog.text  # the period is still tried after the quota failed
    assert double.calls_of("VM.setBalloonTarget")[-1].params == {"vmID": UUID_2, "target": 524288}


# ## vdsm down, restarting, recovering, slow


def test_vdsm_down_when_mom_starts_is_retried_not_fatal(make_iface, double, clock, caplog):
    double.stop()
    with caplog.at_level(logging.DEBUG, logger="mom"):
        iface = make_iface()  # no exception: MOM starts without vdsm
        assert iface.getVmList() is None  # within the back-off: no new attempt
        assert len(double.connections) == 1
        double.start()
        clock.advance(STATS_TTL)  # past the back-off and the cached failure
        assert iface.getVmList() == [UUID_1, UUID_2]
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == [  # once per outage, in upstream's words
        (
            "Cannot connect to VDSM. This can happen when VDSM is starting. Error: Connection to localhost:54321 "
            "with use_tls=True, timeout=60.0 failed: [Errno 111] Connection refused"
        )
    ]
    assert "Connecting to VDSM at localhost:54321 again in 1 s, then at most every 10 s" in caplog.text
    assert caplog.records[-1].getMessage() == "Connected to VDSM at localhost:54321"
    assert len(double.connections) == 2


def test_the_reconnect_back_off_doubles_up_to_ten_seconds(make_iface, double, clock):
    double.stop()
    iface = make_iface()
    attempts = [clock.now]
    for _ in range(120):
        clock.advance(0.5)
        before = len(double.connections)
        with pytest.raises(CallFailed) as failure:
            iface.connection.call("Host.getAllVmStats")
        assert failure.value.kind == "connection"
        if len(double.connections) > before:
            attempts.append(clock.now)
    gaps = [b - a for a, b in zip(attempts, attempts[1:])]
    assert gaps[:6] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_vdsm_restarting_mid_run_costs_nothing_once_it_is_back(iface, double, clock, caplog):
    assert iface.getVmList() == [UUID_1, UUID_2]
    double.restart()
    clock.advance(STATS_TTL)
    with caplog.at_level(logging.INFO, logger="mom"):
        assert iface.getVmList() == [UUID_1, UUID_2]  # the dead connection is replaced, the request sent again
    assert "Lost the connection to VDSM at localhost:54321 (Host.getAllVmStats: " in caplog.text
    assert "Connection reset by peer); reconnecting" in caplog.text
    assert "Connected to VDSM at localhost:54321 again" in caplog.text
    assert [call.outcome for call in double.calls_of("Host.getAllVmStats", None)] == ["ok", "refused", "ok"]


def test_vdsm_stopping_mid_run_logs_upstreams_message_and_the_loop_goes_on(iface, double, clock, caplog):
    assert iface.getVmList() == [UUID_1, UUID_2]
    double.stop()
    clock.advance(STATS_TTL)
    with caplog.at_level(logging.WARNING, logger="mom"):
        assert iface.getVmList() is None
        iface.setVmBalloonTarget(UUID_1, 1048576)  # within the back-off: not even tried
        iface.ksmTune({"run": 0})
    assert "Lost the connection to VDSM" in caplog.text
    assert "Cannot connect to VDSM. This can happen when VDSM is starting." in caplog.text
    assert not double.calls_of("VM.setBalloonTarget", None)
    double.start()
    clock.advance(STATS_TTL)
    iface.setVmBalloonTarget(UUID_1, 1048576)
    assert double.calls_of("VM.setBalloonTarget")[0].params == {"vmID": UUID_1, "target": 1048576}


def test_vdsm_recovering_after_start_answers_code_99(iface, double, clock, caplog):
    double.restart(recovering=True)
    clock.advance(STATS_TTL)
    with caplog.at_level(logging.WARNING, logger="mom"):
        assert iface.getVmList() is None  # the new connection's ping went through, the query did not
    assert "Host.getAllVmStats() failed: (code=99, message=Recovering from crash or Initializing)" in caplog.text
    double.recovering = False
    clock.advance(STATS_TTL)
    assert iface.getVmList() == [UUID_1, UUID_2]


def test_a_slow_answer_past_request_timeout_is_a_missing_value(make_iface, double, clock, caplog):
    iface = make_iface(request_timeout="0.05")
    double.delays["*"] = 0.2
    clock.advance(STATS_TTL)
    with caplog.at_level(logging.WARNING, logger="mom"):
        assert iface.getVmList() is None
        with pytest.raises(HypervisorInterfaceError, match="no VM statistics from vdsm: Host.getAllVmStats: no answer"):
            iface.getVmBalloonInfo(UUID_1)
        iface.setVmBalloonTarget(UUID_1, 1048576)
    assert "Host.getAllVmStats() failed: no answer within 0.05 s" in caplog.text
    assert f"VM.setBalloonTarget(vmID='{UUID_1}', target=1048576) failed: no answer within 0.05 s" in caplog.text
    del double.delays["*"]
    clock.advance(STATS_TTL)
    assert iface.getVmList() == [UUID_1, UUID_2]
    assert len(double.connections) == 1  # a timeout keeps the connection


# ## Configuration and the client library


def test_vdsm_section_keys_reach_connect(make_iface, double):
    make_iface(host="127.0.0.1", port="54322", request_timeout="7.5", pki_dir="/etc/pki/vdsm")
    assert double.connections[-1] == ("127.0.0.1", 54322, True, 7.5)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("port", "vdsm", r"\[vdsm\] port = 'vdsm': expected a TCP port"),
        ("port", "0", r"\[vdsm\] port = '0'"),
        ("request-timeout", "-1", r"\[vdsm\] request-timeout = '-1': expected a positive number of seconds"),
        ("request-timeout", "nan", "request-timeout = 'nan'"),
    ],
)
def test_bad_vdsm_values_are_config_errors(key, value, message):
    config = configparser.ConfigParser()
    config.read_dict({"vdsm": {key: value}})
    with pytest.raises(ConfigError, match=message):
        VdsmSettings.from_config(config)


def test_defaults_without_a_vdsm_section():
    assert VdsmSettings.from_config(configparser.ConfigParser()) == VdsmSettings("localhost", 54321, 60.0, "")


def test_a_client_module_replaces_vdsm_client_with_a_warning(caplog):
    double_module = "tests.vdsm_double.client"
    with caplog.at_level(logging.WARNING, logger="mom"):
        library = load_client_library(VdsmSettings(client_module=double_module))
        assert library.name == double_module
        assert "using tests.vdsm_double.client instead of vdsm.client ([vdsm] client-module)" in caplog.text
        caplog.clear()
        for settings in (VdsmSettings(), VdsmSettings(client_module="vdsm.client")):
            with pytest.raises(PluginNotFoundError, match=r"vdsm's client library \(vdsm.client\) cannot be imported"):
                load_client_library(settings)
        assert caplog.text == ""


def test_a_client_module_must_have_vdsm_clients_surface():
    with pytest.raises(PluginNotFoundError, match="'json' lacks connect, Error, ServerError"):
        load_client_library(VdsmSettings(client_module="json"))
    with pytest.raises(PluginNotFoundError, match="client-module 'no.such.module' cannot be imported"):
        load_client_library(VdsmSettings(client_module="no.such.module"))


def test_every_vdsm_name_loads_and_the_impossible_ones_say_why():
    assert registry.load("hypervisor", "VdsmJsonRpcClient") is registry.load("hypervisor", "vdsmjsonrpcclient")
    for name, reason in (
        ("vdsm", "ran MOM inside vdsm's own process"),
        ("vdsmxmlrpc", "used vdsm's XML-RPC API (vdsm.vdscli)"),
        ("vdsmxmlrpcbulk", "used vdsm's XML-RPC API (vdsm.vdscli)"),
    ):
        with pytest.raises(PluginNotFoundError, match=rf"'{name}' {re.escape(reason)}.*use 'vdsmjsonrpcclient'"):
            registry.load("hypervisor", name)(None)
    for name in ("vdsmjsonrpc", "vdsmjsonrpcbulk"):
        with pytest.raises(PluginNotFoundError, match=r"\(vdsm.client\) cannot be imported"):
            registry.load("hypervisor", name)(None)


def test_upstreams_module_paths_and_a_light_import_mom(iface):
    from mom.HypervisorInterfaces.vdsmjsonrpcclientInterface import VdsmJsonRpcClientInterface, instance
    from mom.HypervisorInterfaces.vdsmRpcBase import VdsmRpcBase

    assert isinstance(iface, VdsmRpcBase) and isinstance(iface, VdsmJsonRpcClientInterface)
    assert instance is registry.load("hypervisor", "vdsmjsonrpcclient")
    code = "import sys, mom; print(sorted(m for m in sys.modules if 'vdsm' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"  # as upstream: `import mom` loads no concrete hypervisor interface


def test_numbers_vdsm_renders_as_float_strings_are_read(make_iface, double):
    double.add_vm(Vm("f", "vm-f", vcpu_count=4, vcpu_user_limit=100))
    iface = make_iface()
    stats = iface._getAllVmStats().value["f"]
    stats["vcpuQuota"] = "2500.00"  # convertToStr renders a float this way
    assert iface.getVmCpuTuneInfo("f")["vcpu_quota"] == 2500
    stats["vcpuQuota"] = "lots"
    with pytest.raises(HypervisorInterfaceError, match="vdsm reported vcpuQuota of VM f = 'lots', not a number"):
        iface.getVmCpuTuneInfo("f")
