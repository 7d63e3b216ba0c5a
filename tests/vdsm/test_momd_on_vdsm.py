"""momd as vdsm runs it (vdsm's mom.conf.in, its six policies) against the vdsm double, end to end.

A real momd process: statistics collected through ``vdsmjsonrpcclient``, the policies
evaluated, balloon/CPU/IO/KSM calls received with upstream's arguments for guests
under memory pressure and without, vdsm's MomClient calls answered over the socket;
then vdsm down at start, restarting, a VM vanishing and slow answers, none of which
stops the loop or loses the policy and its parameters.
"""

from __future__ import annotations

import re
import time

import pytest

from tests.helpers import ksm_sysfs_guard, wait_for
from tests.rpc.test_vdsm_client import vdsm_client
from tests.vdsm.vdsm_host import POLICIES, MomOnVdsm
from tests.vdsm.vdsm_side import PAGE_SIZE, VdsmMomClient
from tests.vdsm_double import Disk, VdsmDouble, Vm, memory_stats

pytestmark = pytest.mark.slow

PRESSURE, RELAXED, FULL, DOWN, VANISHING = (f"5a4b1c7e-0000-4000-8000-00000000000{n}" for n in range(1, 6))
VDA = "/rhev/data-center/mnt/blockSD/0134d8d9/images/vda"
MAXIMUM = {"total_bytes_sec": 10485760, "read_bytes_sec": 0, "write_bytes_sec": 0,
           "total_iops_sec": 1000, "read_iops_sec": 0, "write_iops_sec": 0}  # fmt: skip
GUARANTEED = {key: value // 2 for key, value in MAXIMUM.items()}
UNLIMITED = dict.fromkeys(MAXIMUM, 0)


def host_cpus() -> int:
    """What HostCpu reports: the processor lines of /proc/cpuinfo."""
    with open("/proc/cpuinfo", encoding="ascii", errors="replace") as handle:
        return len(re.findall(r"^processor.*:.*", handle.read(), re.M))


def host_free_fraction() -> float:
    """HostMemory's mem_free / mem_available (MemFree + Buffers + Cached over MemTotal)."""
    with open("/proc/meminfo", encoding="ascii") as handle:
        values = {line.split(":")[0]: int(line.split()[1]) for line in handle if len(line.split()) >= 2}
    return (values["MemFree"] + values["Buffers"] + values["Cached"]) / values["MemTotal"]


def guests() -> list[Vm]:
    """A guest short of memory, a relaxed one, one at its maximum, and one that is down.

    pressure: uses all its 1000000 KiB; limited to 50 % CPU; a disk with an IO policy
    and no limits yet.  relaxed: 980000 KiB unused, ballooned to half its memory, its
    CPU limit lifted.  full: at its maximum, nothing to change.
    """
    return [
        Vm(PRESSURE, "vm-pressure", pid=3001, memory_kib=1060000, balloon_cur=1000000, balloon_min=500000,
           memory_stats=memory_stats(1000000, 0, majflt=2, minflt=30),
           vcpu_count=2, vcpu_user_limit=50, vcpu_quota=-1, vcpu_period=100000,
           disks=[Disk("vda", VDA, io_tune=dict(UNLIMITED), guaranteed=GUARANTEED, maximum=MAXIMUM)]),
        Vm(RELAXED, "vm-relaxed", pid=3002, memory_kib=2000000, balloon_cur=1000000, balloon_min=500000,
           memory_stats=memory_stats(1000000, 980000), vcpu_count=2, vcpu_user_limit=100, vcpu_quota=50000),
        Vm(FULL, "vm-full", pid=3003, memory_kib=1000000, balloon_min=500000,
           memory_stats=memory_stats(1000000, 500000, swap_in=1, swap_out=2, majflt=3, minflt=4), vcpu_count=1,
           disks=[Disk("vda", VDA, io_tune=dict(MAXIMUM), guaranteed=GUARANTEED, maximum=MAXIMUM)]),
        Vm(DOWN, "vm-down", status="Down"),
    ]  # fmt: skip


def upstream_first_calls(cpus: int) -> dict[str, list]:
    """What vdsm's policies (02-balloon, 04-cputune, 05-iotune) make the controllers send first.

    - pressure: nothing unused, so the balloon policy wants its used memory plus the
      host's free share (> 6 %) on top: more than its 1060000 KiB, so the maximum;
      CPU quota = 50 % of 100000 us x host CPUs over 2 vCPUs; IO limits = the maximum.
    - relaxed: the policy grows the balloon by 5 % (balloon_cur x (1 + 0.05)); its
      limit is lifted: quota -1 (and the unchanged period, sent with it).
    """
    return {
        "VM.setBalloonTarget": [
            {"vmID": PRESSURE, "target": 1060000},
            {"vmID": RELAXED, "target": int(1000000 * (1 + 0.05))},
        ],
        "VM.setCpuTuneQuota": [
            {"vmID": PRESSURE, "quota": int(50 / 100.0 * (100000 * cpus) / 2)},
            {"vmID": RELAXED, "quota": -1},
        ],
        "VM.setCpuTunePeriod": [{"vmID": PRESSURE, "period": 100000}, {"vmID": RELAXED, "period": 100000}],
        "VM.setIoTune": [{"vmID": PRESSURE, "tunables": [{"name": "vda", "path": VDA, "ioTune": MAXIMUM}]}],
    }


def first_calls(mom: MomOnVdsm, verb: str) -> dict[str, dict]:
    """The first ``verb`` call for each VM."""
    firsts: dict[str, dict] = {}
    for call in mom.calls(verb):
        firsts.setdefault(call["params"]["vmID"], call["params"])
    return firsts


def ksm_expectation(sysfs) -> tuple[dict[str, bool], dict[str, int]]:
    """Parameters that differ from the host's KSM state, and the Host.setKsmTune 03-ksm then implies.

    On a host without memory pressure 03-ksm keeps KSM off (run 0, or 2 to unmerge shared
    pages whose merging mode must change) and, once no page is shared, sets
    merge_across_nodes to the ksmMergeAcrossNodes parameter.
    """
    shared, run, merge = (sysfs.read_int(key) for key in ("pages_shared", "run", "merge_across_nodes"))
    wanted_merge = 1 - merge
    action = 2 if shared > 0 and merge != wanted_merge else 0
    tune = {}
    if action != run:
        tune["run"] = action
    if shared == 0:
        tune["merge_across_nodes"] = wanted_merge
    return {"balloonEnabled": True, "ksmEnabled": True, "ksmMergeAcrossNodes": bool(wanted_merge)}, tune


def test_momd_from_vdsms_mom_conf_runs_vdsms_policies_through_vdsm(tmp_path_factory):
    assert host_free_fraction() > 0.25, "this test expects a host that is not short of memory itself"
    mom = MomOnVdsm(tmp_path_factory.mktemp("vdsm-host"), VdsmDouble(guests())).start()
    try:
        vdsm = VdsmMomClient(mom.sock)
        wait_for(lambda: vdsm.getStatus() == "active", timeout=30)

        # balloon, CPU and IO calls with upstream's arguments; none for vm-full or vm-down
        expected = upstream_first_calls(host_cpus())
        for verb, calls in expected.items():
            for params in calls:
                mom.wait_for_call(verb, lambda p, vm=params["vmID"]: p["vmID"] == vm)
        for verb, calls in expected.items():
            assert first_calls(mom, verb) == {params["vmID"]: params for params in calls}, verb

        # the statistics collected, as upstream reports them to policies and over RPC
        stats = vdsm_client(mom.sock).getStatistics()
        assert set(stats["guests"]) == {"vm-pressure", "vm-relaxed", "vm-full"}
        full = stats["guests"]["vm-full"]
        assert {key: value for key, value in full.items() if not key.startswith("io_tune")} == {
            "mem_available": 1000000, "mem_unused": 500000, "mem_free": 500000, "major_fault": 3, "minor_fault": 4,
            "swap_in": 1, "swap_out": 2, "swap_total": 0, "swap_usage": 0,
            "balloon_cur": 1000000, "balloon_max": 1000000, "balloon_min": 500000,
            "vcpu_quota": -1, "vcpu_period": 100000, "vcpu_user_limit": 100, "vcpu_count": 1,
        }  # fmt: skip
        assert full["io_tune_current"] == [{"name": "vda", "path": VDA, "ioTune": MAXIMUM}]
        assert (full["io_tune"][0]["maximum"], full["io_tune"][0]["guaranteed"]) == (MAXIMUM, GUARANTEED)
        assert sorted(vdsm_client(mom.sock).getNamedPolicies()) == sorted(POLICIES)

        # vdsm's MomClient: KSM statistics and policy parameters
        with ksm_sysfs_guard() as sysfs:  # nobody changes KSM while its numbers are compared

            def ksm_now() -> dict:
                run = sysfs.read_int("run")
                return {
                    "ksmState": bool(run),
                    "ksmPages": sysfs.read_int("pages_to_scan"),
                    "ksmMergeAcrossNodes": bool(sysfs.read_int("merge_across_nodes")),
                    "memShared": sysfs.read_int("pages_sharing") * PAGE_SIZE // 2**20,
                }

            def ksm_matches() -> bool:
                got = vdsm.getKsmStats()
                return isinstance(got.pop("ksmCpu"), int) and got == ksm_now()

            wait_for(ksm_matches, timeout=10)  # one host sample after the lock was taken
            parameters, tune = ksm_expectation(sysfs)
            sent = vdsm.setPolicyParameters(parameters)
            assert sent == "\n".join(f"(set {key} {value!r})" for key, value in parameters.items())
            assert vdsm_client(mom.sock).getNamedPolicies()["01-parameters"] == sent
            assert tune, "the host's KSM state already matches: nothing to observe"
            mom.wait_for_call("Host.setKsmTune", {"tuningParams": tune})
        log = mom.log()
        assert "Unexpected error when evaluating policy" not in log and "Traceback" not in log
    finally:
        assert mom.stop() == 0, mom.log()


def failure_guests() -> list[Vm]:
    """The guests above, so that every phase shows whether MOM still acts.

    vm-relaxed's balloon never follows its target: a balloon call every cycle.
    vm-pressure's quota is 77000 in each scenario published: with the parameter
    cpuTuneEnabled False, 04-cputune resets it to -1 after every publication.
    vm-vanishing (a second vm-relaxed) is destroyed in the middle.
    """
    vms = guests()
    vms[0].vcpu_quota = 77000
    vms[1].balloon_follows_target = False
    vms.append(
        Vm(VANISHING, "vm-vanishing", pid=3005, memory_kib=2000000, balloon_cur=1000000, balloon_min=500000,
           memory_stats=memory_stats(1000000, 980000), vcpu_count=2, balloon_follows_target=False)
    )  # fmt: skip
    return vms


def test_vdsm_down_restarting_vanishing_and_slow_never_stop_momd(tmp_path_factory):
    double = VdsmDouble(failure_guests())
    double.stop()  # vdsm is down when momd starts
    mom = MomOnVdsm(tmp_path_factory.mktemp("vdsm-host"), double, request_timeout="1").start()

    def publish() -> float:
        since = time.time()
        mom.publish()
        return since

    def still_acting(since: float) -> None:
        mom.wait_for_call("VM.setBalloonTarget", lambda p: p["vmID"] == RELAXED, after=since)
        mom.wait_for_call("VM.setCpuTuneQuota", {"vmID": PRESSURE, "quota": -1}, after=since)  # the parameters hold

    def policy_intact() -> None:
        named = vdsm_client(mom.sock).getNamedPolicies()
        assert sorted(named) == sorted(POLICIES) and named["01-parameters"] == parameters

    try:
        wait_for(lambda: "Cannot connect to VDSM. This can happen when VDSM is starting. Error: " in mom.log())
        vdsm = VdsmMomClient(mom.sock)
        wait_for(lambda: vdsm.getStatus() == "active", timeout=30)  # MOM runs without vdsm
        parameters = vdsm.setPolicyParameters({"balloonEnabled": True, "cpuTuneEnabled": False, "ioTuneEnabled": False})

        # vdsm comes up: MOM connects and acts, with vdsm's parameters in effect
        double.start()
        since = publish()
        still_acting(since)
        reset = {"vmID": FULL, "tunables": [{"name": "vda", "path": VDA, "ioTune": UNLIMITED}]}
        mom.wait_for_call("VM.setIoTune", reset)  # 05-iotune with ioTuneEnabled False
        assert "Connected to VDSM at 127.0.0.1:54321" in mom.log()  # [vdsm] host and port of vdsm's mom.conf

        # vdsm restarts, answers code 99 while it recovers, then is back
        double.restart(recovering=True)
        publish()
        wait_for(lambda: "code=99, message=Recovering from crash or Initializing" in mom.log(), timeout=30)
        double.recovering = False
        still_acting(publish())
        assert "Lost the connection to VDSM at 127.0.0.1:54321" in mom.log()
        policy_intact()

        # a VM is destroyed between vdsm's list (MOM keeps it 5 s) and MOM's control
        fetched = len(mom.calls("Host.getAllVmStats"))
        wait_for(lambda: len(mom.calls("Host.getAllVmStats")) > fetched, timeout=30)  # a fresh list: 5 s ahead
        double.remove_vm(VANISHING)
        since = publish()
        gone = re.compile(
            rf"VM.setBalloonTarget\(vmID='{VANISHING}', target=\d+\) failed: "
            r"\(code=1, message=Virtual machine does not exist"
        )
        wait_for(lambda: gone.search(mom.log()), timeout=30)
        wait_for(lambda: "Guest vm-vanishing is gone" in mom.log(), timeout=30)
        still_acting(since)

        # answers slower than [vdsm] request-timeout (1 s)
        double.delays["Host.getAllVmStats"] = 1.5
        publish()
        wait_for(lambda: "Host.getAllVmStats() failed: no answer within 1 s" in mom.log(), timeout=30)
        del double.delays["Host.getAllVmStats"]
        still_acting(publish())
        policy_intact()

        assert mom.alive()
        log = mom.log()
        assert "has exited" not in log and "Traceback" not in log
        assert "Unexpected error when evaluating policy" not in log
    finally:
        assert mom.stop() == 0, mom.log()
