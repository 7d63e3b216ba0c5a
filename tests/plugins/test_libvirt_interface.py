"""The libvirt hypervisor interface on libvirt's in-process test driver."""

from __future__ import annotations

import libvirt
import pytest

from mom.errors import HypervisorInterfaceError
from mom.plugins.hypervisors.libvirt import TUNE_NAMESPACE
from tests.helpers import libvirt_test_host

QOS = (
    "<qos><vcpuLimit>40</vcpuLimit><ioTune>"
    "<device name='vda' path='/images/vm0000.img'>"
    "<guaranteed><total_bytes_sec>1000</total_bytes_sec></guaranteed>"
    "<maximum><total_bytes_sec>5000</total_bytes_sec><read_iops_sec>70</read_iops_sec></maximum>"
    "</device></ioTune></qos>"
)


def test_lists_and_describes_guests(iface, test_host):
    _, guests = test_host
    ids = iface.getVmList()
    assert sorted(ids) == [1, 2, 3]
    infos = [iface.getVmInfo(vm_id) for vm_id in ids]
    assert sorted((info["name"], info["uuid"]) for info in infos) == sorted(guests)
    # the test driver runs no QEMU process: no pid, found without running ps
    assert all(info["pid"] is None for info in infos)


def test_vanished_guest_gives_none(iface):
    assert iface.getVmInfo(999) is None
    assert iface.getVmBalloonInfo("00000000-0000-0000-0000-000000000000") is None


def test_memory_stats_and_balloon(iface, test_host):
    uuid = test_host[1][0][1]
    iface.startVmMemoryStats(uuid)
    stats = iface.getVmMemoryStats(uuid)
    assert set(stats) == iface.getStatsFields()
    assert stats["mem_available"] == 2 * 1024 * 1024  # the test driver derives it from currentMemory
    assert iface.getVmBalloonInfo(uuid) == {"balloon_max": 4194304, "balloon_cur": 2097152, "balloon_min": 0}
    iface.setVmBalloonTarget(uuid, 1048576)
    assert iface.getVmBalloonInfo(uuid)["balloon_cur"] == 1048576
    assert iface.getVmMemoryStats(uuid)["mem_available"] == 1048576


def test_balloon_min_from_memtune(tmp_path, iface_for):
    path = tmp_path / "h.xml"
    libvirt_test_host(str(path), 1)
    text = path.read_text().replace("<vcpu", "<memtune><min_guarantee unit='KiB'>524288</min_guarantee></memtune><vcpu")
    path.write_text(text)
    iface = iface_for(f"test://{path}")
    uuid = iface.getVmInfo(iface.getVmList()[0])["uuid"]
    assert iface.getVmBalloonInfo(uuid)["balloon_min"] == 524288


def test_cpu_tune_info(tmp_path, iface_for):
    path = tmp_path / "h.xml"
    libvirt_test_host(
        str(path),
        1,
        metadata=f"<ovirt-tune:qos xmlns:ovirt-tune='{TUNE_NAMESPACE}'>"
        "<ovirt-tune:vcpuLimit>40</ovirt-tune:vcpuLimit></ovirt-tune:qos>",
    )
    iface = iface_for(f"test://{path}")
    uuid = iface.getVmInfo(iface.getVmList()[0])["uuid"]
    info = iface.getVmCpuTuneInfo(uuid)
    # the test driver has no vcpu_quota/period: 0, as upstream maps None
    assert (info["vcpu_user_limit"], info["vcpu_quota"], info["vcpu_period"], info["vcpu_count"]) == (40, 0, 0, 2)
    # an int, not upstream's string
    assert isinstance(info["vcpu_user_limit"], int)


def test_cpu_tune_default_limit_and_failed_set(iface, test_host):
    uuid = test_host[1][0][1]
    assert iface.getVmCpuTuneInfo(uuid)["vcpu_user_limit"] == 100
    # the test driver rejects vcpu_quota: an action error names the call
    with pytest.raises(HypervisorInterfaceError, match="setSchedulerParameters.*vcpu_quota"):
        iface.setVmCpuTune(uuid, 50000, 100000)


def test_io_tune_policy_state_and_set(tmp_path, iface_for):
    path = tmp_path / "h.xml"
    libvirt_test_host(str(path), 1, metadata=QOS.replace("<qos>", f"<qos xmlns='{TUNE_NAMESPACE}'>"))
    iface = iface_for(f"test://{path}")
    uuid = iface.getVmInfo(iface.getVmList()[0])["uuid"]
    assert iface.getVmIoTunePolicy(uuid) == [
        {
            "name": "vda",
            "path": "/images/vm0000.img",
            "guaranteed": {"total_bytes_sec": 1000},
            "maximum": {"total_bytes_sec": 5000, "read_iops_sec": 70},
        }
    ]
    state = iface.getVmIoTune(uuid)
    assert state[0]["name"] == "vda" and state[0]["path"] == "/images/vm0000.img"
    assert set(state[0]["ioTune"].values()) == {0}
    # the test driver wants a *_max at least as high as the limit: give it one first
    iface.conn.lookupByUUIDString(uuid).setBlockIoTune(
        "vda", {"total_bytes_sec_max": 10**9}, libvirt.VIR_DOMAIN_AFFECT_LIVE
    )
    iface.setVmIoTune(uuid, [{"name": "vda", "path": "/images/vm0000.img", "ioTune": {"total_bytes_sec": 5000}}])
    assert iface.getVmIoTune(uuid)[0]["ioTune"]["total_bytes_sec"] == 5000


def test_no_io_policy_is_an_empty_list(iface, test_host):
    assert iface.getVmIoTunePolicy(test_host[1][0][1]) == []


def test_agent_command_unsupported_by_the_test_driver(iface, test_host):
    with pytest.raises(HypervisorInterfaceError, match="qemuAgentCommand"):
        iface.qemuAgentCommand(test_host[1][0][1], '{"execute": "guest-ping"}')


def test_unreachable_uri_leaves_no_connection(tmp_path, iface_for):
    iface = iface_for(f"test://{tmp_path}/missing.xml")
    assert iface.conn is None
    assert iface.getVmList() is None  # skip this pass; no exception
    assert iface.getVmInfo(1) is None


def test_lost_connection_is_reopened(iface, caplog):
    iface.conn.close()  # the connection breaks under the interface
    with caplog.at_level("WARNING", logger="mom"):
        assert iface.getVmList() is None  # this pass is skipped...
    assert "libvirt connection lost" in caplog.text
    assert sorted(iface.getVmList()) == [1, 2, 3]  # ...and the next one works again
