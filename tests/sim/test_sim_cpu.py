"""The simulator's CPU contention model, and the SLA set's CPU rules (04-cputune) on it."""

from __future__ import annotations

import os

import numpy as np
import pytest

from mom.errors import HypervisorInterfaceError
from mom.sim.cpu import CpuModel, fair_share
from mom.sim.interface import SimInterface
from mom.sim.model import SimHost
from mom.sim.runner import Simulation
from mom.sim.scenario import DaemonSpec, ScenarioError, load_scenario, parse_scenario
from mom.sim.summary import summarize
from tests.sim.conftest import scenario_data

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
SHIPPED = os.path.join(ROOT, "scenarios", "cpu-host.toml")


# ## The model


def test_fair_share_without_contention_gives_everyone_what_it_can_use():
    usable = np.array([1.0, 2.0, 0.5])
    assert fair_share(8, usable, np.array([1, 1, 1])).tolist() == usable.tolist()


def test_fair_share_is_proportional_to_the_weights_and_redistributes_what_one_cannot_use():
    # 4 CPUs, three guests wanting 4 each, weights 2:1:1 -> 2, 1, 1
    got = fair_share(4, np.array([4.0, 4.0, 4.0]), np.array([2048, 1024, 1024]))
    assert np.allclose(got, [2.0, 1.0, 1.0])
    # the heavy one wants only 0.5: the other two split the rest evenly
    got = fair_share(4, np.array([0.5, 4.0, 4.0]), np.array([2048, 1024, 1024]))
    assert np.allclose(got, [0.5, 1.75, 1.75])
    assert got.sum() == pytest.approx(4.0)


def test_a_quota_caps_a_guest_and_frees_the_cpus_for_the_others():
    groups = parse_scenario(
        scenario_data(
            group=[
                {"name": "a", "count": 2, "vcpus": 4, "cpu-demand": 1.0},
                {"name": "b", "count": 2, "vcpus": 4, "cpu-demand": 1.0},
            ]
        ),
        "cpu.toml",
    ).groups
    index = np.array([0, 0, 1, 1])
    model = CpuModel(groups, index, 8, np.random.default_rng(1))
    running, ones = np.ones(4, bool), np.ones(4)
    period = np.full(4, 100000)
    model.step(1.0, ones, running, np.full(4, -1), period)
    assert np.allclose(model.got, 2.0)  # 16 vCPUs wanted, 8 CPUs, equal shares
    assert model.busy == pytest.approx(1.0) and model.runnable == pytest.approx(2.0)
    quota = np.array([25000, 25000, -1, -1])  # a quarter of a CPU per vCPU: 1 CPU each
    model.step(1.0, ones, running, quota, period)
    assert np.allclose(model.got, [1.0, 1.0, 3.0, 3.0])
    assert model.check() == []
    # a guest that is off wants nothing
    model.step(1.0, ones, np.array([False, True, True, True]), np.full(4, -1), period)
    assert model.got[0] == 0 and model.got[1:].sum() == pytest.approx(8.0)


def test_psi_follows_the_waiting_demand():
    groups = parse_scenario(scenario_data(group=[{"name": "a", "count": 4, "vcpus": 4, "cpu-demand": 1.0}]), "c").groups
    model = CpuModel(groups, np.zeros(4, int), 8, np.random.default_rng(1))
    for _ in range(60):
        model.step(1.0, np.ones(4), np.ones(4, bool), np.full(4, -1), np.full(4, 100000))
    # half of the demand waits: some ~ 50 %, the 10 s average close to it after a minute
    assert model.some_avg10 == pytest.approx(50.0, abs=0.5)
    assert 0 < model.some_avg60 < model.some_avg10


def test_the_interface_gives_cpu_statistics_and_takes_shares(small):
    groups = tuple(g.__class__(**{**g.__dict__, "cpu_demand": 0.1, "load": ((0.0, 1.0),)}) for g in small.groups)
    scenario = small.replace(groups=groups)
    host = SimHost(scenario)
    iface = SimInterface(host)
    uuid = host.info[0].uuid
    before = iface.getVmCpuStats(uuid)
    for _ in range(10):
        host.step()
    after = iface.getVmCpuStats(uuid)
    vcpus = int(host.vcpus[0])
    # 10 s at a tenth of its vCPUs, on a host with CPUs to spare
    assert after["cpu_time"] - before["cpu_time"] == pytest.approx(10 * 0.1 * vcpus * 1e9, rel=1e-6)
    assert after["vcpu_wait"] == before["vcpu_wait"] == 0
    assert after["vcpu_count"] == vcpus
    assert iface.getVmSchedulerInfo(uuid)["cpu_shares"] == 1024
    iface.setVmCpuShares(uuid, 2048)
    assert iface.getVmSchedulerInfo(uuid)["cpu_shares"] == 2048
    with pytest.raises(HypervisorInterfaceError, match="outside 2..262144"):
        iface.setVmCpuShares(uuid, 1)


def test_cpu_demand_is_checked():
    data = scenario_data()
    data["group"][0]["cpu-demand"] = 1.5
    with pytest.raises(ScenarioError, match=r"group\[0\].cpu-demand = 1.5: expected a number from 0.0 to 1.0"):
        parse_scenario(data, "bad.toml")


def test_a_scenario_without_cpu_demand_runs_as_before(small):
    host = SimHost(small)
    for _ in range(5):
        host.step()
    assert not host.cpu.active and not host.cpu.got.any()


# ## The SLA set's CPU rules on the shipped scenario


def run(scenario):
    simulation = Simulation(scenario)
    result = simulation.run()
    assert not result.errors, result.error_samples
    assert result.policy_failures == 0
    return simulation, result


@pytest.fixture(scope="module")
def sla_run():
    return run(load_scenario(SHIPPED))


def by_group(result):
    return {g["group"]: g for g in summarize(result)["groups"]}


def test_platinum_and_compute_get_their_cpu_while_standard_and_vapor_are_capped(sla_run):
    simulation, result = sla_run
    groups = by_group(result)
    for name in ("db", "hpc"):  # platinum, compute: all of their vCPUs
        assert groups[name]["cpu_got_pct"] >= 99.0, groups[name]
    assert groups["app"]["cpu_got_pct"] >= 95.0  # gold: 75 % of its vCPUs promised, wants 60 %
    for name in ("web", "scratch"):
        assert groups[name]["cpu_got_pct"] < 70.0, groups[name]
    host = result.host
    recording = result.recording
    # while the load peaks (5 to 25 min), standard vCPUs get at most their cap (0.5 of a CPU)
    times = recording.times()
    peak = (times > 400) & (times < 1500)
    web_vcpus = float(host.vcpus[host.group_index == host.group_names.index("web")].sum())
    assert (recording.cpu_series("web", "cpu_got")[peak] <= 0.5 * web_vcpus + 1e-6).all()
    hpc_demand, hpc_got = recording.cpu_series("hpc", "cpu_demand"), recording.cpu_series("hpc", "cpu_got")
    assert np.allclose(hpc_got[peak], hpc_demand[peak])


def test_quotas_only_on_the_classes_that_allow_them(sla_run):
    simulation, result = sla_run
    host = result.host
    quotas: dict[str, set[int]] = {}
    for _, method, index, value in simulation.parts.hypervisor_iface.actions:
        if method == "setVmCpuTune":
            quotas.setdefault(host.group_names[int(host.group_index[index])], set()).add(value[0])
    assert quotas.get("db", {-1}) == {-1} and quotas.get("hpc", {-1}) == {-1}
    assert any(q > 0 for q in quotas["web"]) and any(q > 0 for q in quotas["scratch"])
    # and the shares by class (platinum and compute 2048, vapor 256)
    shares = {name: set(host.cpu.shares[host.group_index == i].tolist()) for i, name in enumerate(host.group_names)}
    assert shares["db"] == shares["hpc"] == {2048} and shares["scratch"] == {256} and shares["web"] == {1024}


def test_the_host_signals_say_contended_at_the_peak(sla_run):
    _, result = sla_run
    samples = [data for t, data in result.recording.samples if 400 < t < 1500]
    # the CPUs stay busy with the caps on (what the caps take goes to the others) and
    # the capped demand keeps waiting: contended by 04-cputune's limits all along
    assert samples and all(data["cpu_busy"] > 0.85 for data in samples)
    assert all(data["cpu_some_avg10"] > 25 for data in samples)
    quiet = [data for t, data in result.recording.samples if t > 1700]
    assert quiet and all(data["cpu_busy"] < 0.8 and data["cpu_some_avg10"] < 25 for data in quiet)


def test_without_the_class_rules_compute_does_not_get_its_cpu():
    scenario = load_scenario(SHIPPED)
    daemon = scenario.daemon.__class__(
        **{
            **scenario.daemon.__dict__,
            "policy_dir": "vdsm",
            # vdsm's controllers and collectors, as mom-sim runs them by default
            "controllers": DaemonSpec().controllers,
            "host_collectors": DaemonSpec().host_collectors,
            "guest_collectors": DaemonSpec().guest_collectors,
        }
    )
    _, result = run(scenario.replace(daemon=daemon))
    groups = by_group(result)
    # the same weight per guest, whatever its vCPUs, and no caps: the 4-vCPU compute
    # guests come off worst, the platinum ones no better than standard
    assert groups["hpc"]["cpu_got_pct"] < 90.0 and groups["db"]["cpu_got_pct"] < 95.0
    assert groups["hpc"]["cpu_got_pct"] < groups["web"]["cpu_got_pct"]
