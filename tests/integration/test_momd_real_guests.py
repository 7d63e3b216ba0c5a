"""momd on real QEMU guests: the shipped policies, through the libvirt interface, for real.

One momd (vdsm's controllers: Balloon, KSM, CpuTune, IoTune) watches the session's three
256 MiB guests.  Pressure is declared the way vdsm does it, by replacing the
``01-parameters`` policy over RPC.  Under pressure the balloons inflate, and each guest's
own MemTotal (its serial console) drops by exactly what libvirt reports; without pressure
they deflate back to full size.  oVirt's tuning metadata on one guest becomes a vCPU
quota (in its cgroup) and block IO limits (in QEMU).  KSM, switched on by the KSM policy,
merges the guests' identical pages.  Throughout, a round costs one bulk libvirt call.
Last, libvirtd restarts under momd, which reconnects and carries on with the same monitors.

Each test puts back what it changed (the guests are shared by the whole session); momd
holds the KSM lock for its whole life, and the KSM settings are restored after it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import libvirt
import pytest

from mom.plugins.hypervisors.libvirt_domain import TUNE_NAMESPACE
from mom.policy_sets import DEFAULT_SET, shipped_set_dir
from tests.helpers import calls_delta
from tests.integration import ksm
from tests.integration import realstack as rs
from tests.integration.momd_run import RunningMomd, running_momd

pytestmark = pytest.mark.realstack

LIVE = libvirt.VIR_DOMAIN_AFFECT_LIVE
POLICIES = Path(shipped_set_dir(DEFAULT_SET))

#: host memory pressure, declared: "free below 100%" always holds; guests keep 30% free
#: (times the host's free fraction) and move in steps of 15% so the test is quick
PRESSURE = (
    "(set balloonEnabled 1) (defvar pressure_threshold 1.0)"
    " (defvar min_guest_free_percent 0.3) (defvar max_balloon_change_percent 0.15)"
)
#: no pressure: ballooning as shipped (00-defines: balloonEnabled 0), so guests grow back
NO_PRESSURE = "(defvar max_balloon_change_percent 0.15)"
#: KSM wanted: the host counts as short of memory below 100% free
KSM_WANTED = "(defvar ksm_free_percent 1.0)"

VCPU_LIMIT = 25  # percent of the host's CPUs
IO_MAXIMUM = {
    "total_bytes_sec": 10 * 2**20,
    "read_bytes_sec": 0,
    "write_bytes_sec": 0,
    "total_iops_sec": 200,
    "read_iops_sec": 0,
    "write_iops_sec": 0,
}


@pytest.fixture(scope="module")
def momd(realstack: rs.RealStack, tmp_path_factory: pytest.TempPathFactory) -> Any:
    main = {
        "sample-history-length": "5",
        "policy-dir": str(POLICIES),
        "controllers": "Balloon, KSM, CpuTune, IoTune",
        # the safety floor's default (256 MiB) is these guests' whole memory: no ballooning
        "min-guest-memory": "131072",
    }
    # momd's KSM controller writes /sys/kernel/mm/ksm: hold the lock, the advisor off (the
    # policy sets pages_to_scan), every tunable restored afterwards
    with (
        ksm.ksm_tuning(),
        running_momd(
            realstack,
            tmp_path_factory.mktemp("momd-real"),
            host="HostMemory, HostKSM, HostCpu",
            guest="GuestQemuProc, GuestMemory, GuestBalloon, GuestCpuTune, GuestIoTuneOptional",
            main=main,
        ) as running,
    ):
        yield running


def test_momd_samples_the_guests_in_one_call_per_round(momd: RunningMomd, realstack: rs.RealStack) -> None:
    stats = momd.client.getStatistics()
    assert set(stats["guests"]) == set(realstack.guests)
    for name, sample in stats["guests"].items():
        assert sample["balloon_cur"] == sample["balloon_max"] == realstack.full_kib(name)
        assert sample["balloon_min"] == 0
        # GuestMemory's mem_available is the guest's own MemTotal (balloon stats, KiB)
        assert sample["mem_available"] == realstack.wait_mem(name, lambda s: True).mem_total
        assert 0 < sample["mem_unused"] < sample["mem_available"]
        assert sample["rss"] > 0  # GuestQemuProc found the QEMU process (pages)
        assert sample["vcpu_count"] == 1 and sample["vcpu_period"] > 0 and sample["vcpu_user_limit"] == 100
    assert stats["host"]["cpu_count"] >= 1 and "ksm_pages_shared" in stats["host"]
    # a few rounds in steady state: one bulk call each, no per-guest call at all
    assert set(steady_calls(momd)) <= {"getAllDomainStats", "listDomainsID"}
    end = momd.counters()
    assert end["events"] is True and end["connected"] is True


def consistent_mem_total(stack: rs.RealStack, conn: Any, name: str, baseline: int) -> bool:
    """The guest's MemTotal is its boot MemTotal less the balloon libvirt reports, seen on
    a console line printed while the balloon did not move."""
    dom = conn.lookupByName(name)
    actual = dom.memoryStats()["actual"]
    printed = stack.wait_mem(name, lambda s: True).uptime
    sample = stack.wait_mem(name, lambda s: s.uptime > printed, timeout=10)
    if dom.memoryStats()["actual"] != actual:
        return False
    return sample.mem_total == baseline - (stack.full_kib(name) - actual)


def test_balloons_shrink_under_pressure_and_grow_back(momd: RunningMomd, realstack: rs.RealStack, conn: Any) -> None:
    baseline = {name: realstack.wait_mem(name, lambda s: True).mem_total for name in realstack.guests}
    try:
        momd.set_parameters(PRESSURE)
        for name in realstack.guests:
            dom = conn.lookupByName(name)
            momd.until(
                f"{name} inflated", lambda d=dom, n=name: d.memoryStats()["actual"] < 0.8 * realstack.full_kib(n), 60
            )
        for name in realstack.guests:
            momd.until(f"{name} MemTotal", lambda n=name: consistent_mem_total(realstack, conn, n, baseline[n]), 60)
            inflated = conn.lookupByName(name).memoryStats()["actual"]
            assert inflated < 0.8 * realstack.full_kib(name)
            assert f"Ballooning guest:{name} from" in momd.log()
        momd.set_parameters(NO_PRESSURE)
        for name in realstack.guests:
            dom = conn.lookupByName(name)
            momd.until(f"{name} deflated", lambda d=dom, n=name: d.memoryStats()["actual"] == realstack.full_kib(n), 60)
            realstack.wait_mem(name, lambda s, name=name: s.mem_total == baseline[name], timeout=30)
    finally:
        momd.set_parameters(None)
        for name in realstack.guests:
            conn.lookupByName(name).setMemory(realstack.full_kib(name))


def qemu_throttle(dom: Any) -> dict[str, int]:
    """QEMU's own view of the vda limits (QMP query-block)."""
    import libvirt_qemu

    reply = json.loads(libvirt_qemu.qemuMonitorCommand(dom, '{"execute": "query-block"}', 0))
    (inserted,) = [b["inserted"] for b in reply["return"] if "inserted" in b]
    return {"bps": inserted["bps"], "iops": inserted["iops"]}


def tune_metadata(vcpu_limit: int, maximum: dict[str, int]) -> str:
    limits = "".join(f"<{key}>{value}</{key}>" for key, value in maximum.items())
    return (
        f"<qos><vcpuLimit>{vcpu_limit}</vcpuLimit><ioTune><device name='vda'>"
        f"<guaranteed/><maximum>{limits}</maximum></device></ioTune></qos>"
    )


def test_tuning_metadata_becomes_cpu_quota_and_io_limits(momd: RunningMomd, realstack: rs.RealStack, conn: Any) -> None:
    name, other = realstack.guests[1], realstack.guests[0]
    dom, other_dom = conn.lookupByName(name), conn.lookupByName(other)
    pid = realstack.qemu_pid(name)
    before = dom.schedulerParametersFlags(LIVE)
    other_before = other_dom.schedulerParametersFlags(LIVE)
    cgroup_before = rs.vcpu_cgroup_limits(pid)
    cpus = momd.client.getStatistics()["host"]["cpu_count"]
    # 04-cputune: the guest's share of all host CPUs over one period, for its one vCPU
    quota, period = VCPU_LIMIT * 1000 * cpus, 100000
    try:
        dom.setMetadata(
            libvirt.VIR_DOMAIN_METADATA_ELEMENT, tune_metadata(VCPU_LIMIT, IO_MAXIMUM), "ovt", TUNE_NAMESPACE, LIVE
        )
        momd.until("vCPU quota set", lambda: dom.schedulerParametersFlags(LIVE)["vcpu_quota"] == quota)
        assert dom.schedulerParametersFlags(LIVE)["vcpu_period"] == period
        if cgroup_before is not None:
            assert rs.vcpu_cgroup_limits(pid) == (quota, period)
        momd.until("IO limits set", lambda: qemu_throttle(dom) == {"bps": IO_MAXIMUM["total_bytes_sec"], "iops": 200})
        assert f"Setting IO tune of guest {name}" in momd.log()
        # the guest without metadata is left as it was
        assert other_dom.schedulerParametersFlags(LIVE)["vcpu_quota"] == other_before["vcpu_quota"]
        assert qemu_throttle(other_dom) == {"bps": 0, "iops": 0}
        # no limit any more: 04-cputune lifts the quota again (-1: unlimited)
        dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, None, None, TUNE_NAMESPACE, LIVE)
        momd.until("vCPU quota lifted", lambda: dom.schedulerParametersFlags(LIVE)["vcpu_quota"] == -1)
    finally:
        dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, None, None, TUNE_NAMESPACE, LIVE)
        dom.setBlockIoTune("vda", {"total_bytes_sec": 0, "total_iops_sec": 0}, LIVE)
        dom.setSchedulerParametersFlags(
            {"vcpu_quota": before["vcpu_quota"], "vcpu_period": before["vcpu_period"]}, LIVE
        )
    assert qemu_throttle(dom) == {"bps": 0, "iops": 0}
    assert rs.vcpu_cgroup_limits(pid) == cgroup_before


def merging_pages(pid: int) -> int:
    return int(Path(f"/proc/{pid}/ksm_merging_pages").read_text())


def test_ksm_policy_merges_the_guests_pages(momd: RunningMomd, realstack: rs.RealStack) -> None:
    pids = {name: realstack.qemu_pid(name) for name in realstack.guests}
    fill_pages = {name: realstack.specs[name].fill_mib * 256 for name in realstack.guests}
    try:
        start = int(ksm.read_ksm("full_scans"))
        momd.set_parameters(KSM_WANTED)
        momd.until("KSM running", lambda: ksm.read_ksm("run") == "1")
        host_kib = momd.client.getStatistics()["host"]["mem_available"]
        # 03-ksm: 10 ms per 16 GiB of host memory, at least 10 ms
        momd.until(
            "KSM sleep set", lambda: int(ksm.read_ksm("sleep_millisecs")) == int(max(10, 10 * 16777216 / host_kib))
        )
        # pages merge from the second full scan on
        momd.until("two full KSM scans", lambda: int(ksm.read_ksm("full_scans")) >= start + 2, 120)
        momd.until("fill pages merged", lambda: all(merging_pages(pids[n]) >= 0.9 * fill_pages[n] for n in pids), 60)
        assert "Updating KSM configuration" in momd.log()
        assert int(ksm.read_ksm("pages_to_scan")) > 64  # boosted while memory is "short"
        # the guests' counters as momd sees them
        momd.until("momd sees sharing", lambda: momd.client.getStatistics()["host"]["ksm_pages_sharing"] > 0)
    finally:
        momd.set_parameters(None)
    # not needed any more: momd stops KSM (merged pages stay until the fixture unmerges)
    momd.until("KSM stopped", lambda: ksm.read_ksm("run") == "0")


def steady_calls(momd: RunningMomd, rounds: int = 3) -> dict[str, int]:
    """libvirt calls by name over a few rounds; asserts one bulk call per round."""
    start = momd.counters()
    momd.until(f"{rounds} rounds", lambda: momd.counters()["rounds"] >= start["rounds"] + rounds)
    end = momd.counters()
    made = calls_delta(start["calls_by_name"], end["calls_by_name"])
    assert made["getAllDomainStats"] == end["rounds"] - start["rounds"], made
    return made


def test_momd_reconnects_when_libvirtd_restarts(momd: RunningMomd, realstack: rs.RealStack) -> None:
    before = momd.counters()
    monitored = momd.log().count("Monitoring guest")
    try:
        realstack.restart_libvirtd()
    except rs.StackUnavailable as why:
        pytest.skip(str(why))

    def reconnected() -> bool:
        counters = momd.counters()
        return counters["reconnects"] > before["reconnects"] and counters["connected"]

    momd.until("momd reconnected", reconnected, 60)
    momd.until("guests collected again", lambda: sorted(momd.client.getActiveGuests()) == sorted(realstack.guests))
    log = momd.log()
    assert "libvirt connection lost" in log and "connected to qemu:///system again" in log
    # the same monitors carried on: none dropped, none created anew
    assert log.count("Monitoring guest") == monitored and " is gone" not in log
    assert momd.counters()["events"] is True  # registered again on the new connection
    assert set(steady_calls(momd)) <= {"getAllDomainStats", "listDomainsID"}
    # and the controllers act through the new connection
    conn = realstack.connection()
    try:
        momd.set_parameters(PRESSURE)
        for name in realstack.guests:
            dom = conn.lookupByName(name)
            momd.until(f"{name} inflated", lambda d=dom, n=name: d.memoryStats()["actual"] < realstack.full_kib(n), 60)
    finally:
        momd.set_parameters(None)
    for name in realstack.guests:
        dom = conn.lookupByName(name)
        momd.until(f"{name} deflated", lambda d=dom, n=name: d.memoryStats()["actual"] == realstack.full_kib(n), 60)
