"""The real daemon code on a simulated host: policies act, runs reproduce, failures are clear."""

from __future__ import annotations

import dataclasses
import logging
import os

import numpy as np
import pytest

from mom.config import new_parser
from mom.errors import FatalError, HypervisorInterfaceError
from mom.plugins import registry
from mom.plugins.collectors.base import get_collectors
from mom.sim.collectors import SimHostCpu, SimHostKSM, SimHostMemory
from mom.sim.interface import SimInterface, attached
from mom.sim.model import SimHost
from mom.sim.runner import Simulation, SimulationError
from mom.sim.summary import format_table, summarize


@pytest.fixture(scope="module")
def small_run():
    from mom.sim.scenario import parse_scenario
    from tests.sim.conftest import scenario_data

    scenario = parse_scenario(scenario_data(), "small.toml")
    return Simulation(scenario).run()


def test_the_shipped_policies_manage_the_host(small_run):
    result = small_run
    recording, host = result.recording, result.host
    scenario = host.scenario
    assert result.errors == {}, result.error_samples
    assert result.policy_cycles == scenario.duration // scenario.daemon.policy_engine_interval
    assert result.policy_failures == 0
    actions = recording.actions
    # under pressure the balloons were inflated, when it eased they were deflated again
    assert sum(actions["inflate"]) > 0 and sum(actions["deflate"]) > 0
    pressure = (recording.series("free") + recording.series("cache")) / recording.series("total") < 0.2
    assert pressure.any() and not pressure.all()
    # KSM was started by the policy (through the KSM controller and ksmTune)
    assert sum(actions["ksm_tune"]) > 0 and recording.series("ksm_run").max() == 1
    # the policy never sets a target below balloon_min, so no balloon goes there
    assert (host.balloons.lowest_seen >= host.balloons.minimum).all()
    assert recording.series("below_floor").max() == 0
    # balloons follow their targets, with lag: at some tick a group's size differs from its target
    for group in recording.groups:
        assert (recording.group_series(group, "balloon_cur") != recording.group_series(group, "balloon_target")).any()


def test_summary(small_run):
    summary = summarize(small_run)
    assert summary["guests"] == 48
    assert summary["time_under_pressure_s"] > 0
    assert summary["balloon_inflations"] == sum(small_run.recording.actions["inflate"])
    assert summary["guests_below_floor_peak"] == 0
    assert [g["group"] for g in summary["groups"]] == ["web", "batch", "idle"]
    table = format_table(summary)
    assert "time under pressure" in table and "guests below their floor" in table and "idle" in table


def test_same_seed_reproduces_the_files_bit_for_bit(make_scenario, tmp_path):
    def files(seed: int, directory: str) -> dict[str, bytes]:
        result = Simulation(make_scenario(seed=seed, duration=600)).run()
        paths = result.recording.write(str(tmp_path / directory))
        summary = summarize(result)
        summary.pop("wall_seconds"), summary.pop("speedup")
        contents = {os.path.basename(p): open(p, "rb").read() for p in paths}
        contents["summary"] = repr(summary).encode()
        return contents

    first, again, other = files(5, "a"), files(5, "b"), files(6, "c")
    assert set(first) == {"model-host.dat", "model-groups.dat", "actions.dat", "HostMonitor.dat", "summary"}
    assert first == again
    assert first["model-host.dat"] != other["model-host.dat"]
    header = first["HostMonitor.dat"].decode().splitlines()[0]
    assert header.startswith("# time\t ") and "mem_free" in header and "ksm_pages_sharing" in header


def test_the_log_level_is_the_callers_else_warning(make_scenario, tmp_path):
    """A level set on the ``mom`` logger (mom-sim -v) is kept; none set: WARNING. Restored after."""
    logger = logging.getLogger("mom")
    saved = logger.level
    scenario = make_scenario(duration=60)
    try:
        for level, path in ((logging.INFO, tmp_path / "info.log"), (logging.NOTSET, tmp_path / "default.log")):
            logger.setLevel(level)
            Simulation(scenario, log_path=str(path)).run()
            assert logger.level == level
        assert " mom.HostMonitor INFO HostMonitor is ready" in (tmp_path / "info.log").read_text()
        assert " INFO " not in (tmp_path / "default.log").read_text()
    finally:
        logger.setLevel(saved)


def test_a_broken_parameters_policy_stops_the_simulation(make_scenario):
    scenario = make_scenario(duration=60)
    scenario = scenario.replace(daemon=dataclasses.replace(scenario.daemon, parameters="(set balloonEnabled"))
    with pytest.raises(SimulationError, match="cannot start.*Unable to load policy"):
        Simulation(scenario).run()


def test_an_unknown_controller_stops_the_simulation(make_scenario):
    scenario = make_scenario(duration=60)
    scenario = scenario.replace(daemon=dataclasses.replace(scenario.daemon, controllers=("Balloon", "Baloon")))
    with pytest.raises(SimulationError, match="controller cannot start.*Baloon"):
        Simulation(scenario).run()


def test_policy_failures_are_counted_and_the_run_goes_on(make_scenario, tmp_path):
    (tmp_path / "10-broken.policy").write_text("(defvar x (/ 1 0))\n")
    scenario = make_scenario(duration=120)
    scenario = scenario.replace(daemon=dataclasses.replace(scenario.daemon, policy_dir=str(tmp_path), parameters=""))
    result = Simulation(scenario).run()
    assert result.policy_cycles == 8 and result.policy_failures == 8
    assert result.errors.get("mom.Policy") == 8
    assert result.recording.actions["policy_ok"] == [0] * 8


def test_sim_plugins_load_through_the_registry(small):
    host = SimHost(small)
    config = new_parser()
    with attached(host):
        iface = registry.load("hypervisor", "sim")(config)
        collectors = get_collectors("SimHostMemory, SimHostKSM, SimHostCpu", {"interval": 5}, config)
        assert collectors is not None
        sample = {}
        for collector in collectors:
            sample.update(collector.collect())
    assert isinstance(iface, SimInterface)
    assert sample["mem_available"] == host.host.total
    assert sample["mem_free"] == host.host.free + host.host.cache
    assert sample["ksm_run"] == 0 and sample["cpu_count"] == 16
    assert sample["swap_in"] == 0 and sample["swap_out"] == 0  # no previous sample yet


def test_sim_plugins_without_a_host(caplog):
    assert get_collectors("SimHostMemory", {"interval": 5}, new_parser()) is None
    for collector in (SimHostMemory, SimHostKSM, SimHostCpu):
        with pytest.raises(FatalError, match=f"^{collector.__name__}: no simulated host"):
            collector({"interval": 5})
    with pytest.raises(HypervisorInterfaceError, match="no simulated host"):
        registry.load("hypervisor", "sim")(new_parser())


def test_the_interface_refuses_what_libvirt_refuses(small):
    host = SimHost(small)
    iface = SimInterface(host)
    uuid = host.info[0].uuid
    with pytest.raises(HypervisorInterfaceError, match="outside"):
        iface.setVmBalloonTarget(uuid, int(host.balloons.maximum[0]) + 1)
    with pytest.raises(HypervisorInterfaceError, match="no guest"):
        iface.getVmMemoryStats("no-such-uuid")
    with pytest.raises(HypervisorInterfaceError, match="no such KSM knob"):
        iface.ksmTune({"pages_to_sacn": 5})
    assert iface.getVmInfo(10_000) is None
    iface.setVmBalloonTarget(uuid, 700 * 1024)
    assert host.balloons.target[0] == 700 * 1024
    stats = iface.getVmMemoryStats(uuid)
    assert stats["mem_available"] == host.balloons.actual[0] - host.guests.firmware[0]
    assert iface.actions == [(0.0, "setVmBalloonTarget", 0, 700 * 1024)]
    assert np.all(host.balloons.actual <= host.balloons.maximum)
