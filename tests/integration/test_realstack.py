"""The real-guest stack works: libvirt's tuning APIs act on real QEMU guests.

What momd's controllers and collectors will rely on, checked with libvirt-python alone:
the balloon really changes the guest's own MemTotal (read from its serial console),
the balloon stats come from inside the guest, vCPU quota/period reach the cgroup, block IO
limits reach QEMU, bulk stats carry balloon data, and KSM merges the guests' identical pages.
Each test puts back what it changed: the guests are shared by the whole session.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import libvirt
import pytest

from tests.helpers import ksm_lock, wait_for
from tests.integration import ksm
from tests.integration import realstack as rs

pytestmark = pytest.mark.realstack

LIVE = libvirt.VIR_DOMAIN_AFFECT_LIVE
KIB_PER_MIB = 1024


def full_memory_mib(stack: rs.RealStack, name: str) -> int:
    return stack.specs[name].memory_mib


def test_guests_boot_and_report_their_memory(realstack: rs.RealStack, conn: Any) -> None:
    assert realstack.uri == "qemu:///system"
    assert len(realstack.guests) == 3
    for name in realstack.guests:
        spec = realstack.specs[name]
        assert conn.lookupByName(name).isActive()
        log = realstack.serial_log(name).read_text(errors="replace")
        assert f"FILLED {spec.fill_mib} MiB" in log
        assert "GUEST-READY" in log
        sample = realstack.wait_mem(name, lambda s: True)
        # The kernel keeps ~45 MiB of a 256 MiB guest for itself; the rest is MemTotal.
        assert spec.memory_mib * KIB_PER_MIB // 2 < sample.mem_total < spec.memory_mib * KIB_PER_MIB
        assert 0 < sample.mem_free < sample.mem_total
        assert 0 < sample.mem_available < sample.mem_total


def test_domain_type_follows_the_host(realstack: rs.RealStack, conn: Any) -> None:
    # Independent restatement of scripts/realstack/lib.sh's rule: KVM only with vmx/svm and
    # no PVM hypervisor behind /dev/kvm, else TCG (libvirt type 'qemu').
    hardware = any(flag in ("vmx", "svm") for flag in Path("/proc/cpuinfo").read_text().split())
    kvm_usable = Path("/dev/kvm").exists() and hardware and not Path("/sys/module/kvm_pvm").exists()
    expected = os.environ.get("MOM_REALSTACK_VIRT", "auto")
    if expected == "auto":
        expected = "kvm" if kvm_usable else "qemu"
    assert realstack.virt_type == expected
    for name in realstack.guests:
        xml = conn.lookupByName(name).XMLDesc(0)
        assert f"<domain type='{expected}'" in xml
        assert ("<tb-cache unit='KiB'>32768</tb-cache>" in xml) == (expected == "qemu")


def fresh_stats(dom: Any, since: float) -> dict[str, int]:
    """memoryStats() from a stats update the guest sent after host time SINCE."""

    def probe() -> dict[str, int] | None:
        stats = dom.memoryStats()
        return stats if stats["last_update"] > since else None

    return wait_for(probe, step=0.2, what=f"{dom.name()} stats after {since:.0f}")


def test_memory_stats_come_from_inside_the_guest(realstack: rs.RealStack, conn: Any) -> None:
    since = time.time()
    for name in realstack.guests:
        dom = conn.lookupByName(name)
        stats = fresh_stats(dom, since)
        assert stats["actual"] == full_memory_mib(realstack, name) * KIB_PER_MIB
        assert {"available", "unused", "usable", "last_update", "rss"} <= set(stats)
        sample = realstack.latest_mem(name)
        assert sample is not None
        # 'available' is the guest's totalram: exactly the MemTotal it prints itself.
        assert stats["available"] == sample.mem_total
        # 'unused' is its MemFree, sampled at another moment (the MEM loop forks a little).
        assert abs(stats["unused"] - sample.mem_free) < 8 * KIB_PER_MIB
        assert 0 < stats["usable"] <= stats["available"] < stats["actual"]
        assert stats["rss"] > 0


def test_stats_are_refreshed_every_period(realstack: rs.RealStack, conn: Any) -> None:
    name = realstack.guests[0]
    dom = conn.lookupByName(name)
    first = dom.memoryStats()["last_update"]
    period = realstack.specs[name].stats_period
    later = wait_for(lambda: dom.memoryStats()["last_update"] > first, 4 * period, 0.2, what="a newer last_update")
    assert later


def expect_inflated(stack: rs.RealStack, dom: Any, mib: int, mem_total: int) -> None:
    """Wait until DOM's balloon leaves it MIB MiB and the guest reports MEM_TOTAL kB."""
    name = dom.name()
    wait_for(lambda: dom.memoryStats()["actual"] == mib * KIB_PER_MIB, step=0.2, what=f"{name} balloon at {mib} MiB")
    # info() follows later: libvirt learns it from QEMU's BALLOON_CHANGE events, which
    # QEMU rate-limits to one a second; memoryStats() asks QEMU directly.
    wait_for(lambda: dom.info()[2] == mib * KIB_PER_MIB, step=0.2, what=f"{name} info() at {mib} MiB")
    # Each inflated page leaves the guest's MemTotal: the change is exactly the balloon's.
    sample = stack.wait_mem(name, lambda s: s.mem_total == mem_total)
    assert 0 < sample.mem_free < sample.mem_total
    wait_for(lambda: dom.memoryStats()["available"] == mem_total, step=0.2, what=f"{name} stats 'available'")


def test_balloon_inflates_and_deflates_inside_the_guests(realstack: rs.RealStack, conn: Any) -> None:
    first, second, untouched = realstack.guests
    targets = {first: 192, second: 160}  # MiB, well above the guests' ~70 MiB working set
    full = {name: full_memory_mib(realstack, name) for name in realstack.guests}
    baseline = {name: realstack.wait_mem(name, lambda s: True).mem_total for name in realstack.guests}
    try:
        for name, mib in targets.items():
            conn.lookupByName(name).setMemory(mib * KIB_PER_MIB)
        for name, mib in targets.items():
            expect_inflated(realstack, conn.lookupByName(name), mib, baseline[name] - (full[name] - mib) * KIB_PER_MIB)
        # The third guest was left alone: a fresh line from it still shows its full memory.
        now = realstack.wait_mem(untouched, lambda s: True).uptime
        assert realstack.wait_mem(untouched, lambda s: s.uptime > now).mem_total == baseline[untouched]
        assert conn.lookupByName(untouched).memoryStats()["actual"] == full[untouched] * KIB_PER_MIB

        for name in targets:
            conn.lookupByName(name).setMemory(full[name] * KIB_PER_MIB)
        for name in targets:
            expect_inflated(realstack, conn.lookupByName(name), full[name], baseline[name])
    finally:
        for name in targets:
            conn.lookupByName(name).setMemory(full[name] * KIB_PER_MIB)


def test_vcpu_quota_and_period_set_live(realstack: rs.RealStack, conn: Any) -> None:
    dom = conn.lookupByName(realstack.guests[0])
    before = dom.schedulerParametersFlags(LIVE)
    assert {"vcpu_quota", "vcpu_period"} <= set(before)
    try:
        dom.setSchedulerParametersFlags({"vcpu_quota": 25000, "vcpu_period": 100000}, LIVE)
        after = dom.schedulerParametersFlags(LIVE)
        assert (after["vcpu_quota"], after["vcpu_period"]) == (25000, 100000)
        dom.setSchedulerParametersFlags({"vcpu_quota": 50000, "vcpu_period": 200000}, LIVE)
        after = dom.schedulerParametersFlags(LIVE)
        assert (after["vcpu_quota"], after["vcpu_period"]) == (50000, 200000)
    finally:
        dom.setSchedulerParametersFlags(
            {"vcpu_quota": before["vcpu_quota"], "vcpu_period": before["vcpu_period"]}, LIVE
        )
    restored = dom.schedulerParametersFlags(LIVE)
    assert (restored["vcpu_quota"], restored["vcpu_period"]) == (before["vcpu_quota"], before["vcpu_period"])


def test_vcpu_quota_reaches_the_cgroup(realstack: rs.RealStack, conn: Any) -> None:
    name = realstack.guests[1]
    dom = conn.lookupByName(name)
    pid = realstack.qemu_pid(name)
    before = rs.vcpu_cgroup_limits(pid)
    if before is None:
        pytest.skip(f"no cpu cgroup of {name}'s vCPU is visible here (/proc/{pid}/cgroup)")
    saved = dom.schedulerParametersFlags(LIVE)
    try:
        dom.setSchedulerParametersFlags({"vcpu_quota": 30000, "vcpu_period": 100000}, LIVE)
        assert rs.vcpu_cgroup_limits(pid) == (30000, 100000)
    finally:
        dom.setSchedulerParametersFlags({"vcpu_quota": saved["vcpu_quota"], "vcpu_period": saved["vcpu_period"]}, LIVE)
    assert rs.vcpu_cgroup_limits(pid) == before


def qemu_throttle(dom: Any) -> dict[str, int]:
    """QEMU's own view of the vda limits (QMP query-block), independent of libvirt's bookkeeping."""
    import libvirt_qemu

    reply = json.loads(libvirt_qemu.qemuMonitorCommand(dom, '{"execute": "query-block"}', 0))
    (inserted,) = [b["inserted"] for b in reply["return"] if "inserted" in b]
    return {"bps": inserted["bps"], "iops": inserted["iops"]}


def test_block_io_tune_set_live(realstack: rs.RealStack, conn: Any) -> None:
    dom = conn.lookupByName(realstack.guests[1])
    assert qemu_throttle(dom) == {"bps": 0, "iops": 0}
    try:
        dom.setBlockIoTune("vda", {"total_bytes_sec": 10 * 2**20, "total_iops_sec": 200}, LIVE)
        tune = dom.blockIoTune("vda", LIVE)
        assert (tune["total_bytes_sec"], tune["total_iops_sec"]) == (10 * 2**20, 200)
        assert qemu_throttle(dom) == {"bps": 10 * 2**20, "iops": 200}
    finally:
        dom.setBlockIoTune("vda", {"total_bytes_sec": 0, "total_iops_sec": 0}, LIVE)
    assert qemu_throttle(dom) == {"bps": 0, "iops": 0}


def test_all_domain_stats_balloon_group(realstack: rs.RealStack, conn: Any) -> None:
    records = conn.getAllDomainStats(libvirt.VIR_DOMAIN_STATS_BALLOON, libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE)
    ours = {dom.name(): stats for dom, stats in records if dom.name() in realstack.guests}
    assert set(ours) == set(realstack.guests)
    for name, stats in ours.items():
        full = full_memory_mib(realstack, name) * KIB_PER_MIB
        assert stats["balloon.current"] == stats["balloon.maximum"] == full
        sample = realstack.latest_mem(name)
        assert sample is not None and stats["balloon.available"] == sample.mem_total
        assert 0 < stats["balloon.unused"] < stats["balloon.available"]
        assert 0 < stats["balloon.usable"] <= stats["balloon.available"]
        assert stats["balloon.rss"] > 0
        # libvirt stamps the guest's stats with host wall-clock seconds
        assert abs(stats["balloon.last-update"] - time.time()) < 60


def merging_pages(pid: int) -> int:
    return int(Path(f"/proc/{pid}/ksm_merging_pages").read_text())


def test_ksm_merges_identical_guest_pages(realstack: rs.RealStack) -> None:
    pids = {name: realstack.qemu_pid(name) for name in realstack.guests}
    # Every guest filled fill_mib MiB of tmpfs with one and the same page.
    fill_pages = {name: realstack.specs[name].fill_mib * 256 for name in realstack.guests}
    with ksm_lock():
        before = ksm.ksm_settings()
        with ksm.ksm_tuning(lock=False, pages_to_scan=5000, sleep_millisecs=20, run=1):
            start = int(ksm.read_ksm("full_scans"))
            # Pages merge from the second full scan on (the first only records checksums).
            wait_for(lambda: int(ksm.read_ksm("full_scans")) >= start + 2, 90, 0.2, what="two full KSM scans")
            wait_for(
                lambda: all(merging_pages(pids[n]) >= 0.9 * fill_pages[n] for n in pids),
                30,
                0.2,
                what="the fill pages merged",
            )
            # host-wide: the shared pages plus the mappings that point to them
            merged = int(ksm.read_ksm("pages_shared")) + int(ksm.read_ksm("pages_sharing"))
            assert merged >= 0.9 * sum(fill_pages.values())
        assert ksm.ksm_settings() == before
    if before["run"] == "0":
        assert all(merging_pages(pid) == 0 for pid in pids.values())  # unmerged on the way out


def test_a_guest_that_dies_while_booting_is_reported(realstack: rs.RealStack, conn: Any) -> None:
    # Its own stack (own prefix) on the session's libvirtd: it neither sees the session's
    # guests nor stops the daemon when closed.
    doomed = rs.RealStack(prefix=f"{rs.DEFAULT_PREFIX}doomed-")
    try:
        # 24 MiB is too little to even start the kernel (below ~80 MiB this guest resets at
        # once); on_reboot=destroy ends the domain, and the wait must say so, not time out.
        name = f"{doomed.prefix}g1"
        with pytest.raises(rs.StackError, match=f"guest {name} stopped before GUEST-READY") as raised:
            doomed.start_guests([rs.GuestSpec(name, memory_mib=24)], timeout=120)
        # The report carries the ends of both logs (here: libvirt recording the shutdown).
        assert str(doomed.serial_log(name)) in str(raised.value)
        assert "shutting down" in str(raised.value)
    finally:
        doomed.close()
    assert not [d for d in conn.listAllDomains() if d.name().startswith(doomed.prefix)]  # undefined too
    assert all(conn.lookupByName(name).isActive() for name in realstack.guests)  # libvirtd still serves
