"""The SLA set's 04-07 on both implementations: shares, caps under contention, vdsm's
CPU limits unchanged, IO weights and caps under pressure, bandwidth, NUMA placement."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mom.sla.classes import DEFAULT_CLASSES
from tests.resources.policy_rig import SLA_SET, VDSM_SET, evaluate, guest, host, store

CLASSES = ("platinum", "gold", "standard", "compute", "vapor")


def test_mom_policy_check_passes_strict():
    done = subprocess.run(
        [sys.executable, "-m", "mom.cli.policy", "check", "--strict", "sla"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert {p.name for p in SLA_SET.glob("0[4-7]-*.policy")} == {
        "04-cputune.policy",
        "05-iotune.policy",
        "06-network.policy",
        "07-numa.policy",
    }


def test_every_guest_gets_its_class_shares_and_no_quota_without_contention(impl):
    guests = [guest(name, name) for name in CLASSES]
    controls = evaluate(impl, host(), guests)
    for name in CLASSES:
        assert controls[name]["cpu_shares"] == DEFAULT_CLASSES[name].cpu_shares
        assert controls[name]["vcpu_quota"] == -1
    assert controls["platinum"]["cpu_shares"] == controls["compute"]["cpu_shares"] == 2048
    assert controls["vapor"]["cpu_shares"] < controls["standard"]["cpu_shares"] < controls["gold"]["cpu_shares"]


@pytest.mark.parametrize("signal", [{"cpu_busy": 0.97}, {"cpu_some_avg10": 60.0}])
def test_contention_caps_standard_and_vapor_never_platinum_gold_compute(impl, signal):
    # 4 host CPUs: platinum (2 vCPUs, all promised) + compute (2) reserve all 4 CPUs, so the
    # capped classes get no spare CPU and fall to the minimum cap (5 % of a CPU)
    guests = [guest(name, name) for name in CLASSES]
    controls = evaluate(impl, host(**signal), guests)
    for name in ("platinum", "gold", "compute"):
        assert controls[name]["vcpu_quota"] == -1, name
    assert controls["standard"]["vcpu_quota"] == controls["vapor"]["vcpu_quota"] == pytest.approx(5000)


def test_spare_cpus_are_shared_within_each_class_cap(impl):
    # 8 CPUs, gold reserves 0.75 * 2: 6.5 spare for 4 cappable vCPUs -> each class's own cap
    guests = [guest("g", "gold"), guest("s", "standard"), guest("v", "vapor")]
    controls = evaluate(impl, host(cpu_count=8, cpu_busy=0.99), guests)
    assert controls["g"]["vcpu_quota"] == -1
    assert controls["s"]["vcpu_quota"] == pytest.approx(50000)  # standard: half a CPU per vCPU
    assert controls["v"]["vcpu_quota"] == pytest.approx(25000)  # vapor: a quarter
    # 2 CPUs, nothing reserved: 2 CPUs for 4 capped vCPUs, i.e. half a CPU each, within the caps
    controls = evaluate(impl, host(cpu_count=2, cpu_busy=0.99), [guest("s", "standard"), guest("v", "vapor")])
    assert controls["s"]["vcpu_quota"] == pytest.approx(50000)
    assert controls["v"]["vcpu_quota"] == pytest.approx(25000)


def test_missing_pressure_fields_mean_no_contention(impl):
    guests = [guest("s", "standard")]
    controls = evaluate(impl, host(cpu_busy=None, cpu_some_avg10=None), guests)
    assert controls["s"]["vcpu_quota"] == -1


@pytest.mark.parametrize("limit", [100, 50, 10, 1])
@pytest.mark.parametrize("sla_class", CLASSES)
def test_ovirt_limits_apply_exactly_as_vdsms_cputune(impl, sla_class, limit):
    """Without contention the vCPU quota and period are vdsm's 04-cputune's, value and type."""

    def run(names, directory):
        g = guest("a", sla_class, vcpu_user_limit=limit, vcpu_count=3)
        evaluate(impl, host(cpu_count=2), [g], names=names, directory=directory)
        return {k: (v, type(v)) for k, v in g.controls.items() if k in ("vcpu_quota", "vcpu_period")}

    assert run(("00-defines", "04-cputune"), VDSM_SET) == run(("04-cputune",), SLA_SET)


def test_a_class_cap_only_lowers_ovirts_limit(impl):
    # oVirt: 10 % of 4 CPUs over 2 vCPUs = 20000 us; standard's cap 50000 does not raise it
    low = guest("low", "standard", vcpu_user_limit=10)
    high = guest("high", "vapor", vcpu_user_limit=90)  # 180000 us; vapor's cap is lower
    evaluate(impl, host(cpu_count=8, cpu_busy=0.99), [low, high])
    assert low.controls["vcpu_quota"] == pytest.approx(40000)  # 0.1 * 8 CPUs / 2 vCPUs
    assert high.controls["vcpu_quota"] == pytest.approx(25000)


def _disk(maximum):
    keys = ("total_bytes_sec", "read_bytes_sec", "write_bytes_sec", "total_iops_sec", "read_iops_sec", "write_iops_sec")
    full = dict.fromkeys(keys, 0) | maximum
    return [{"name": "vda", "path": "/a.img", "guaranteed": dict.fromkeys(keys, 0), "maximum": full,
             "current": dict.fromkeys(keys, 0)}]  # fmt: skip


def _limits(g):
    return g.Stat("io_tune")[0].ioTune()["ioTune"]


def test_blkio_weight_by_class_and_io_caps_under_pressure(impl):
    mib = 1024 * 1024
    guests = [
        guest("p", "platinum", io_tune=_disk({})),
        guest("s", "standard", io_tune=_disk({"total_bytes_sec": 500 * mib})),
        guest("v", "vapor", io_tune=_disk({"read_bytes_sec": 5 * mib, "write_bytes_sec": 100 * mib})),
    ]
    controls = evaluate(impl, host(io_some_avg10=5.0), guests)
    assert [controls[n]["blkio_weight"] for n in "psv"] == [1000, 500, 100]
    assert _limits(guests[1])["total_bytes_sec"] == 500 * mib  # oVirt's maximum, as vdsm's
    guests = [
        guest("p", "platinum", io_tune=_disk({})),
        guest("s", "standard", io_tune=_disk({"total_bytes_sec": 500 * mib})),
        guest("v", "vapor", io_tune=_disk({"read_bytes_sec": 5 * mib, "write_bytes_sec": 100 * mib})),
    ]
    evaluate(impl, host(io_some_avg10=80.0), guests)
    assert _limits(guests[0]) == dict.fromkeys(_limits(guests[0]), 0)  # platinum: never capped
    assert _limits(guests[1])["total_bytes_sec"] == 50 * mib
    assert _limits(guests[1])["total_iops_sec"] == 1000
    vapor = _limits(guests[2])
    assert (vapor["total_bytes_sec"], vapor["read_bytes_sec"], vapor["write_bytes_sec"]) == (0, 5 * mib, 10 * mib)


def test_network_bandwidth_from_the_class(impl):
    guests = [guest("p", "platinum"), guest("s", "standard"), guest("v", "vapor")]
    controls = evaluate(impl, host(), guests)
    assert controls["p"]["net_in_average"] == 0
    assert (controls["s"]["net_in_average"], controls["s"]["net_out_peak"], controls["s"]["net_in_burst"]) == (
        125000,
        250000,
        1024,
    )
    assert controls["v"]["net_out_average"] == 12500


def test_numa_placement_only_on_multi_node_hosts_and_for_large_guests(impl):
    big = 8 * 1024 * 1024
    guests = [guest("big", "gold", balloon_max=big), guest("small", "gold"), guest("vap", "vapor", balloon_max=big)]
    controls = evaluate(impl, host(numa_node_count=1), guests)
    assert "numa_place" not in controls["big"] and controls["Host"] == {}
    controls = evaluate(impl, host(numa_node_count=2), guests)
    assert controls["big"]["numa_place"] == big
    assert "numa_place" not in controls["small"] and "numa_place" not in controls["vap"]
    assert controls["Host"] == {"numa_cooldown": 300, "numa_min_locality": 0.5, "ksm_merge_across_nodes": 0}


def test_the_vdsm_set_is_untouched():
    assert sorted(p.name for p in VDSM_SET.glob("*.policy")) == [
        "00-defines.policy",
        "01-parameters.policy",
        "02-balloon.policy",
        "03-ksm.policy",
        "04-cputune.policy",
        "05-iotune.policy",
    ]
    assert store(None, names=("00-defines", "04-cputune"), directory=VDSM_SET) is not None
