"""Hostile policies on top of the shipped ones, on the simulator: no guest below its floor, no step over the cap.

Each policy in tests/policies/hostile/ runs last (``99-hostile.policy``) after the
shipped policies, so it overrides every balloon target they set, every cycle.
"""

from __future__ import annotations

import logging
import os
import shutil

import numpy as np
import pytest

from mom.policy_sets import shipped_set_dir
from mom.sim.runner import Simulation
from mom.sim.scenario import parse_scenario
from mom.sim.summary import summarize
from tests.sim.conftest import scenario_data

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
HOSTILE = os.path.join(ROOT, "tests", "policies", "hostile")
POLICIES = sorted(name[: -len(".policy")] for name in os.listdir(HOSTILE) if name.endswith(".policy"))
#: the policies whose targets are not sizes: refused, with an error
REFUSED = {"negative", "nan", "string"}


class BalloonCalls(logging.Handler):
    """The Balloon controller's "Ballooning guest:NAME from CUR to TARGET" records."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.calls = []

    def emit(self, record):
        if record.msg.startswith("Ballooning guest:"):
            self.calls.append(record.args)


@pytest.fixture(scope="module", params=POLICIES)
def hostile_run(request, tmp_path_factory):
    directory = tmp_path_factory.mktemp(request.param)
    shipped = shipped_set_dir("vdsm")
    for name in os.listdir(shipped):
        if name.endswith(".policy"):
            shutil.copy(os.path.join(shipped, name), directory / name)
    shutil.copy(os.path.join(HOSTILE, request.param + ".policy"), directory / "99-hostile.policy")
    data = scenario_data(duration=900)
    data["daemon"]["policy-dir"] = str(directory)
    scenario = parse_scenario(data, "hostile.toml")
    simulation = Simulation(scenario)
    handler = BalloonCalls()
    mom_logger, balloon_logger = logging.getLogger("mom"), logging.getLogger("mom.Controllers.Balloon")
    level = mom_logger.level
    mom_logger.setLevel(logging.INFO)
    balloon_logger.addHandler(handler)
    try:
        result = simulation.run()
    finally:
        balloon_logger.removeHandler(handler)
        mom_logger.setLevel(level)
    return request.param, simulation, result, handler.calls


def test_no_guest_goes_below_its_floor(hostile_run):
    _, simulation, result, _ = hostile_run
    summary = summarize(result)
    assert summary["guests_below_floor_peak"] == 0
    assert summary["guests_ever_below_floor"] == 0
    balloons = result.host.balloons
    absolute = np.minimum(simulation.settings.min_guest_memory, balloons.maximum)
    assert (balloons.lowest_seen >= np.maximum(balloons.minimum, absolute)).all()


def test_no_step_down_exceeds_the_cap_and_no_target_leaves_the_bounds(hostile_run):
    name, simulation, result, calls = hostile_run
    host = result.host
    index = {info.name: info.index for info in host.info}
    percent = simulation.settings.balloon_max_change_percent
    if name in REFUSED:
        assert calls == []  # nothing applied, ever
        return
    assert calls
    for guest, current, target in calls:
        maximum = int(host.balloons.maximum[index[guest]])
        cap = int(maximum * percent / 100)
        floor = max(int(host.balloons.minimum[index[guest]]), min(simulation.settings.min_guest_memory, maximum))
        assert floor <= target <= maximum, (guest, current, target)
        assert current - target <= cap, (guest, current, target)  # upwards the floors win over the cap


def test_the_daemon_keeps_running_and_says_why(hostile_run):
    name, simulation, result, _ = hostile_run
    scenario = simulation.scenario
    assert result.policy_cycles == scenario.duration // scenario.daemon.policy_engine_interval
    assert result.policy_failures == 0
    if name in REFUSED:
        # one error per guest for the episode (not one per cycle), every target counted
        assert result.errors == {"mom.Controllers.Balloon": result.host.n}
        assert result.balloon["invalid_targets"] == result.host.n * result.policy_cycles
    else:
        assert result.errors == {}
        assert sum(result.balloon["clamped_targets"].values()) > 0
