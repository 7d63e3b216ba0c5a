"""Controllers: Balloon and IoTune through libvirt's test driver, KSM on the real sysfs."""

from __future__ import annotations

import logging
import time

import libvirt
import pytest

from mom.config import Settings
from mom.offline import entity_from_spec
from mom.plugins.collectors.host_ksm import HostKSM
from mom.plugins.controllers.balloon import Balloon
from mom.plugins.controllers.cpu_tune import CpuTune
from mom.plugins.controllers.io_tune import IoTune, changed_disks
from mom.plugins.controllers.ksm import KSM
from mom.plugins.hypervisors.base import HypervisorInterface
from tests.helpers import ksm_sysfs_guard


def guest(name, uuid, stats, **extra):
    return entity_from_spec({"name": name, "properties": {"uuid": uuid}, "stats": [stats], **extra})


class Recorder(HypervisorInterface):
    """Records the calls controllers make (the test driver has no vcpu_quota)."""

    def __init__(self):
        self.calls = []

    def setVmCpuTune(self, uuid, quota, period):
        self.calls.append(("setVmCpuTune", uuid, quota, period))

    def setVmIoTune(self, uuid, tunables):
        self.calls.append(("setVmIoTune", uuid, tunables))

    def ksmTune(self, params):
        self.calls.append(("ksmTune", params))


def test_balloon_sets_targets_and_isolates_failures(iface, test_host, caplog):
    (name0, uuid0), (name1, uuid1), (name2, uuid2) = test_host[1]
    # what the floors read (tests/plugins/test_balloon_floors.py covers them); here they
    # leave these targets alone
    sizes = {"balloon_cur": 2097152, "balloon_max": 4194304, "mem_available": 2097152, "mem_unused": 1048576}
    guests = [
        guest(name0, uuid0, sizes),
        guest("ghost", "00000000-0000-0000-0000-000000000000", dict(sizes, balloon_cur=1)),  # vanished
        guest(name1, uuid1, sizes),
        guest(name2, uuid2, sizes),
    ]
    guests[0].Control("balloon_target", 1500000.7)
    guests[1].Control("balloon_target", 1000)
    guests[2].Control("balloon_target", 3000000)
    settings = Settings(balloon_max_change_percent=100)
    controller = Balloon({"hypervisor_iface": iface, "settings": settings})
    with caplog.at_level(logging.INFO, logger="mom"):
        controller.process(None, guests)
    assert iface.getVmBalloonInfo(uuid0)["balloon_cur"] == 1500000  # int()
    assert iface.getVmBalloonInfo(uuid1)["balloon_cur"] == 3000000
    assert iface.getVmBalloonInfo(uuid2)["balloon_cur"] == 2097152  # no control, no call
    messages = [r.getMessage() for r in caplog.records]
    assert f"Ballooning guest:{name0} from 2097152 to 1500000" in messages
    assert any("Balloon failed for guest ghost: HypervisorInterfaceError" in m for m in messages)


def test_cpu_tune_sends_both_values_when_one_changes():
    recorder = Recorder()
    same = guest("a", "ua", {"vcpu_quota": 100, "vcpu_period": 1000})
    same.Control("vcpu_quota", 100)
    changed = guest("b", "ub", {"vcpu_quota": 100, "vcpu_period": 1000})
    changed.Control("vcpu_period", 2000.0)
    CpuTune({"hypervisor_iface": recorder}).process(None, [same, changed])
    assert recorder.calls == [("setVmCpuTune", "ub", 100, 2000)]


def test_cpu_tune_on_the_test_driver_logs_the_guest(iface, test_host, caplog):
    name, uuid = test_host[1][0]
    entity = guest(name, uuid, {"vcpu_quota": 0, "vcpu_period": 0})
    entity.Control("vcpu_quota", 50000)
    with caplog.at_level(logging.ERROR, logger="mom"):
        CpuTune({"hypervisor_iface": iface}).process(None, [entity])
    assert any(f"CpuTune failed for guest {name}" in r.getMessage() for r in caplog.records)


def io_guest():
    return guest(
        "g",
        "ug",
        {},
        io_tune=[
            {
                "name": "vda",
                "path": "/a",
                "guaranteed": {},
                "maximum": {"total_bytes_sec": 9},
                "current": {"total_bytes_sec": 0},
            },
            {"name": "vdb", "path": "/b", "guaranteed": {}, "maximum": {}, "current": {"total_bytes_sec": 0}},
        ],
    )


def test_io_tune_sends_changed_disks_only():
    recorder = Recorder()
    entity = io_guest()
    IoTune({"hypervisor_iface": recorder}).process(None, [entity])
    assert recorder.calls == []
    entity.io_tune[0].setTotalBytesSec(9)
    IoTune({"hypervisor_iface": recorder}).process(None, [entity])
    assert recorder.calls == [("setVmIoTune", "ug", [{"name": "vda", "path": "/a", "ioTune": {"total_bytes_sec": 9}}])]


def test_io_tune_skips_guests_without_io_data():
    recorder = Recorder()
    IoTune({"hypervisor_iface": recorder}).process(None, [guest("g", "u", {"mem_free": 1})])
    assert recorder.calls == []


def test_changed_disks_compares_limits_whatever_shape_current_has():
    """The collector keeps state dicts {name, path, ioTune} in io_tune_current; offline
    entities keep bare limit dicts.  mom-policy eval and the controller share this."""
    from mom.plugins.collectors.guest_io_tune import match_io_tunes

    policies = [{"name": "vda", "path": "/a", "maximum": {}}, {"name": "vdb", "path": "/b", "maximum": {}}]
    states = [{"name": n, "path": p, "ioTune": {"total_bytes_sec": 0}} for n, p in (("vda", "/a"), ("vdb", "/b"))]
    collected = match_io_tunes(policies, states)
    entity = guest("g", "ug", {})
    entity.io_tune, entity.io_tune_current = collected["io_tune"], collected["io_tune_current"]
    assert changed_disks(entity) == []
    entity.io_tune[1].setTotalBytesSec(5)
    assert changed_disks(entity) == [{"name": "vdb", "path": "/b", "ioTune": {"total_bytes_sec": 5}}]
    offline = io_guest()
    assert changed_disks(offline) == []
    offline.io_tune[0].setTotalBytesSec(9)
    assert changed_disks(offline) == [{"name": "vda", "path": "/a", "ioTune": {"total_bytes_sec": 9}}]
    assert changed_disks(guest("g", "u", {"mem_free": 1})) is None


def test_io_tune_through_libvirt(iface, test_host):
    name, uuid = test_host[1][0]
    domain = iface.conn.lookupByUUIDString(uuid)
    domain.setBlockIoTune("vda", {"total_bytes_sec_max": 10**9}, libvirt.VIR_DOMAIN_AFFECT_LIVE)
    from mom.plugins.collectors.guest_io_tune import match_io_tunes

    collected = match_io_tunes(
        [{"name": "vda", "path": "/images/vm0000.img", "guaranteed": {}, "maximum": {"total_bytes_sec": 7000}}],
        iface.getVmIoTune(uuid),
    )
    entity = guest(name, uuid, {})
    entity.io_tune, entity.io_tune_current = collected["io_tune"], collected["io_tune_current"]
    entity.io_tune[0].setTotalBytesSec(entity.io_tune[0].maximum.total_bytes_sec)
    IoTune({"hypervisor_iface": iface}).process(None, [entity])
    assert iface.getVmIoTune(uuid)[0]["ioTune"]["total_bytes_sec"] == 7000


# ## KSM


class HostMonitorStub:
    """What the KSM controller checks: the host monitor's collectors."""

    def __init__(self, collectors):
        self.collectors = collectors


def host_entity(sample, **controls):
    entity = entity_from_spec({"name": "host", "stats": [sample]})
    for key, value in controls.items():
        entity.Control(key, value)
    return entity


def test_ksm_needs_the_host_ksm_collector():
    with pytest.raises(RuntimeError, match="KSM controller in use but HostKSM collector is not enabled"):
        KSM({"host_monitor": HostMonitorStub([]), "hypervisor_iface": Recorder()})


def test_ksm_sends_only_changes_in_one_call():
    recorder = Recorder()
    controller = KSM({"host_monitor": HostMonitorStub([HostKSM({})]), "hypervisor_iface": recorder})
    host = host_entity(
        {"ksm_run": 0, "ksm_pages_to_scan": 100, "ksm_sleep_millisecs": 20, "ksm_merge_across_nodes": 1},
        ksm_run=1,
        ksm_pages_to_scan=100.0,
        ksm_sleep_millisecs="30",
    )
    controller.process(host, [])
    # pages_to_scan 100.0 == 100: unchanged, not sent; values go through int()
    assert recorder.calls == [("ksmTune", {"run": 1, "sleep_millisecs": 30})]
    controller.process(host_entity({"ksm_run": 1}, ksm_run=1), [])
    assert len(recorder.calls) == 1  # nothing changed: no call


def test_ksm_controller_writes_the_real_sysfs(iface, caplog):
    """KSM knobs written for real through the libvirt interface, then restored."""
    with ksm_sysfs_guard() as sysfs:
        if sysfs.advisor_active():
            sysfs.write("advisor_mode", "none")
        collector = HostKSM({"interval": 1})
        controller = KSM({"host_monitor": HostMonitorStub([collector]), "hypervisor_iface": iface})
        assert controller.sysfs is iface.ksm_sysfs  # the knobs it writes are where it reads the advisor
        before = collector.collect()
        target_scan = 137 if before["ksm_pages_to_scan"] != 137 else 139
        target_sleep = 43 if before["ksm_sleep_millisecs"] != 43 else 47
        host = host_entity(
            before, ksm_run=before["ksm_run"], ksm_pages_to_scan=target_scan, ksm_sleep_millisecs=target_sleep
        )
        with caplog.at_level(logging.INFO, logger="mom"):
            controller.process(host, [])
        after = collector.collect()
        assert after["ksm_pages_to_scan"] == target_scan
        assert after["ksm_sleep_millisecs"] == target_sleep
        assert after["ksm_run"] == before["ksm_run"]
        assert any(m.startswith("Updating KSM configuration: {") for m in caplog.messages)

        # the kernel's advisor owns pages_to_scan: the controller says so and leaves it
        if sysfs.advisor_mode() is None:
            pytest.skip("this kernel has no KSM advisor")  # (it does on this project's machines)
        sysfs.write("advisor_mode", "scan-time")
        time.sleep(0.05)
        owned = collector.collect()
        host = host_entity(
            owned, ksm_pages_to_scan=owned["ksm_pages_to_scan"] + 1, ksm_sleep_millisecs=target_sleep + 1
        )
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="mom"):
            controller.process(host, [])
            controller.process(host, [])
        said = [m for m in caplog.messages if "KSM advisor (advisor_mode=scan-time) manages pages_to_scan" in m]
        assert len(said) == 1  # once, not every cycle
        assert collector.collect()["ksm_sleep_millisecs"] == target_sleep + 1
    restored = HostKSM({"interval": 1}).collect()
    assert restored["ksm_pages_to_scan"] == before["ksm_pages_to_scan"]
    assert restored["ksm_sleep_millisecs"] == before["ksm_sleep_millisecs"]
