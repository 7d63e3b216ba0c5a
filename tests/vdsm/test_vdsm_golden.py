"""Upstream's recorded decisions for vdsm's policies, collected and applied through vdsm's API.

The golden file (../shared/data/golden/vdsm-policies-500.json) holds 500 guests' 10-sample
histories and what upstream MOM decided for them in five host scenarios.  Here the
guests live in the vdsm double, in vdsm's shapes; vdsm's guest collectors read them
through ``vdsmjsonrpcclient`` for ten rounds; the six policies run; the controllers act
through the interface; and the double must have received exactly the calls upstream's
decisions imply (spec section 8), with upstream's arguments.

Guests whose recorded history has no CPU tune data (72 of 500) are left out: vdsm
always reports it, so no vdsm host produces such a history.
"""

from __future__ import annotations

import uuid as uuid_module
from typing import Any

import pytest

from mom.config import new_parser, validate
from mom.plugins.controllers.balloon import Balloon
from mom.plugins.controllers.balloon_floors import FloorSettings, GuestSizes, check_target, clamp_target, used_memory
from mom.plugins.controllers.cpu_tune import CpuTune
from mom.plugins.controllers.io_tune import IoTune
from mom.plugins.controllers.ksm import KSM
from mom.plugins.hypervisors.vdsm_client import ClientLibrary
from mom.plugins.hypervisors.vdsm_jsonrpc_client import STATS_TTL, VdsmJsonRpcClientInterface
from mom.plugins.ksm_sysfs import KsmSysfs
from mom.runtime.guest_monitor import GuestMonitor
from tests.compat import golden
from tests.helpers import Clock
from tests.vdsm_double import Disk, VdsmDouble, Vm, client, install, memory_stats

GUEST_COLLECTORS = "GuestMemoryOptional, GuestBalloonOptional, GuestCpuTune, GuestIoTuneOptional"
MEMORY = (
    "mem_available",
    "mem_unused",
    "major_fault",
    "minor_fault",
    "swap_in",
    "swap_out",
    "swap_total",
    "swap_usage",
)
CPU = ("vcpu_quota", "vcpu_period", "vcpu_user_limit", "vcpu_count")
BALLOON = ("balloon_cur", "balloon_max", "balloon_min")
SCENARIOS = sorted(golden.load()["scenarios"])


def uuid_of(name: str) -> str:
    return str(uuid_module.uuid5(uuid_module.NAMESPACE_URL, f"mom-golden/{name}"))


def representable(guest: dict[str, Any]) -> bool:
    return all(sample[key] is not None for sample in guest["stats"] for key in CPU)


def apply_sample(vm: Vm, sample: dict[str, Any]) -> None:
    """What vdsm would report for one recorded sample."""
    vm.memory_kib = sample["balloon_max"]
    vm.balloon_cur = vm.balloon_target = sample["balloon_cur"]
    vm.balloon_min = sample["balloon_min"]
    if sample["mem_available"] is None:  # no guest statistics in this sample
        vm.memory_stats = None
        vm.mem_usage = 0
    else:
        vm.memory_stats = memory_stats(
            sample["mem_available"],
            sample["mem_unused"],
            swap_in=sample["swap_in"],
            swap_out=sample["swap_out"],
            majflt=sample["major_fault"],
            minflt=sample["minor_fault"],
            swap_total=sample["swap_total"],
            swap_usage=sample["swap_usage"],
        )
        vm.mem_usage = 50
    vm.vcpu_count = int(sample["vcpu_count"])
    vm.vcpu_quota = int(sample["vcpu_quota"])
    vm.vcpu_period = int(sample["vcpu_period"])
    vm.vcpu_user_limit = int(sample["vcpu_user_limit"])


def vm_of(guest: dict[str, Any]) -> Vm:
    disks = [
        Disk(t["name"], t["path"], io_tune=dict(t["current"]), guaranteed=dict(t["guaranteed"]),
             maximum=dict(t["maximum"]))
        for t in guest["io_tune"] or ()
    ]  # fmt: skip
    vm = Vm(uuid_of(guest["name"]), guest["name"], pid=None, disks=disks)
    apply_sample(vm, guest["stats"][0])
    return vm


def floored(target: Any, sample: dict[str, Any]) -> int:
    """Upstream's balloon target after this project's safety floors (README "Safety floors";
    mom/plugins/controllers/balloon_floors.py, tested in tests/plugins/test_balloon_floors.py),
    for the guest's newest sample as the Balloon controller sees it."""
    sizes = GuestSizes(sample["balloon_cur"], sample["balloon_max"], sample["balloon_min"], used=used_memory(sample))
    return clamp_target(check_target(target), sizes, FloorSettings()).target


def expected_calls(
    expected: dict[str, Any],
    guests: list[dict[str, Any]],
    host_stats: dict[str, Any],
    samples: dict[str, dict[str, Any]],
) -> list[Any]:
    """The vdsm calls upstream's decisions imply, in controller order (Balloon, CpuTune, IoTune, KSM);
    balloon targets through the safety floors (``samples``: each guest's newest stored sample)."""
    rows = {row["name"]: row for row in expected["guests"]}
    balloon, cpu, io = [], [], []
    for guest in guests:
        row, last, uuid = rows[guest["name"]], guest["stats"][-1], uuid_of(guest["name"])
        controls = row["controls"]
        if controls.get("balloon_target") is not None:
            target = floored(controls["balloon_target"], samples[guest["name"]])
            balloon.append(("VM.setBalloonTarget", {"vmID": uuid, "target": target}))
        quota, period = controls.get("vcpu_quota"), controls.get("vcpu_period")
        if (quota is not None and quota != last["vcpu_quota"]) or (
            period is not None and period != last["vcpu_period"]
        ):
            quota = last["vcpu_quota"] if quota is None else quota
            period = last["vcpu_period"] if period is None else period
            cpu.append(("VM.setCpuTuneQuota", {"vmID": uuid, "quota": int(quota)}))
            cpu.append(("VM.setCpuTunePeriod", {"vmID": uuid, "period": int(period)}))
        if row["io_tune"]:
            changed = [
                {"name": tune["name"], "path": tune["path"], "ioTune": after["after"]}
                for tune, after in zip(guest["io_tune"], row["io_tune"])
                if after["after"] != tune["current"]
            ]
            if changed:
                io.append(("VM.setIoTune", {"vmID": uuid, "tunables": changed}))
    ksm = {
        control[len("ksm_") :]: int(value)
        for control, value in expected["host_controls"].items()
        if int(value) != host_stats[control]
    }
    return balloon + cpu + io + ([("Host.setKsmTune", {"tuningParams": ksm})] if ksm else [])


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_upstreams_decisions_reach_vdsm_with_upstreams_arguments(impl, scenario, tmp_path):
    data = golden.load()
    expected = data["scenarios"][scenario]
    guests = [guest for guest in data["guests"] if representable(guest)]
    vms = {guest["name"]: vm_of(guest) for guest in guests}
    double = VdsmDouble(vms.values())
    clock = Clock()
    config = new_parser()
    config.set("guest", "collectors", GUEST_COLLECTORS)
    config.add_section("__int__")
    config.set("__int__", "plot-subdir", "")
    settings = validate(config)[0]
    with install(double):
        iface = VdsmJsonRpcClientInterface(config, library=ClientLibrary.from_module(client), clock=clock)
        assert sorted(iface.getVmList()) == sorted(vm.vm_id for vm in vms.values())
        monitors = [GuestMonitor(config, iface.getVmInfo(vms[g["name"]].vm_id), iface, settings) for g in guests]
        for index in range(len(guests[0]["stats"])):  # ten collection rounds, one recorded sample each
            for guest in guests:
                apply_sample(vms[guest["name"]], guest["stats"][index])
            clock.advance(STATS_TTL)
            for monitor in monitors:
                monitor.collect()

        # what the collectors stored is what upstream's policies saw
        for guest, monitor in zip(guests, monitors):
            assert monitor.isReady(), guest["name"]
            stored, recorded = monitor.statistics[-1], guest["stats"][-1]
            assert {k: stored[k] for k in MEMORY + CPU + BALLOON} == {k: recorded[k] for k in MEMORY + CPU + BALLOON}
            assert all(type(stored[k]) is int for k in CPU + BALLOON)

        host = golden.host(expected["host"])
        entities = [monitor.interrogate() for monitor in monitors]
        store = golden.policies(expected["parameters_policy"], implementation=impl)
        assert store.evaluate(host, entities) is expected["evaluate_ok"] is True
        properties = {"hypervisor_iface": iface, "host_monitor": None, "guest_manager": None}
        first_call = len(double.calls)
        for controller in (
            Balloon(properties),
            CpuTune(properties),
            IoTune(properties),
            KSM(properties, sysfs=KsmSysfs(str(tmp_path))),  # no kernel KSM advisor
        ):
            controller.process(host, entities)
        iface.close()

    sent = [(call.verb, call.params) for call in double.calls[first_call:]]
    samples = {guest["name"]: monitor.statistics[-1] for guest, monitor in zip(guests, monitors)}
    want = expected_calls(expected, guests, expected["host"]["stats"][-1], samples)
    assert [call.outcome for call in double.calls[first_call:]] == ["ok"] * len(sent)
    assert len(sent) == len(want), (len(sent), len(want))
    mismatches = [(got, wanted) for got, wanted in zip(sent, want) if got != wanted]
    assert not mismatches, f"{len(mismatches)} calls differ, first: {mismatches[0]}"
    assert {verb for verb, _ in want} >= {"VM.setBalloonTarget", "VM.setCpuTuneQuota"}
