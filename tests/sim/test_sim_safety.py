"""Safety floors and stuck balloons on the simulator: the real Balloon controller, simulated drivers."""

from __future__ import annotations

import numpy as np
import pytest

from mom.sim.runner import Simulation
from mom.sim.scenario import parse_scenario
from mom.sim.summary import summarize
from tests.sim.conftest import scenario_data


@pytest.fixture(scope="module")
def stuck_run():
    data = scenario_data(duration=1500)
    data["group"][0]["stuck"] = 0.5  # half the web guests' drivers stop answering at some point
    simulation = Simulation(parse_scenario(data, "stuck.toml"))
    return simulation, simulation.run()


def test_the_daemon_holds_off_the_stuck_drivers_and_only_them(stuck_run):
    simulation, result = stuck_run
    host = result.host
    stuck_now = np.flatnonzero(host.balloons.stuck(host.time))
    assert len(stuck_now) > 0
    detected = set(result.daemon_stuck)
    # every guest the daemon holds stuck really is (a driver that cannot give more
    # because the floors stop it first never looks stuck)
    assert detected <= set(stuck_now.tolist())
    # and a stuck driver the policy kept pushing is found: those stuck long enough ago
    # with a target away from their size
    after = simulation.settings.balloon_stuck_after
    pushed = [
        i
        for i in stuck_now
        if host.balloons.stuck_at[i] < host.time - 2 * after - 60
        and abs(int(host.balloons.target[i]) - int(host.balloons.actual[i])) > 1024
    ]
    assert pushed and set(pushed) <= detected
    assert result.balloon["stuck_marked_total"] >= len(detected)
    assert summarize(result)["stuck_balloons_detected"] == len(detected)


def test_stuck_guests_get_no_more_targets_until_the_retry(stuck_run):
    simulation, result = stuck_run
    host = result.host
    retry = simulation.settings.balloon_stuck_retry
    assert result.balloon["stuck_skipped_targets"] > 0
    # a retry comes only after the back-off: fewer retries than back-off periods
    longest = max(host.time - host.balloons.stuck_at[i] for i in result.daemon_stuck)
    assert result.balloon["stuck_retries_total"] <= len(result.daemon_stuck) * (longest // retry + 1)


def test_the_floors_hold_on_the_shipped_policies(stuck_run):
    _, result = stuck_run
    summary = summarize(result)
    assert summary["guests_below_floor_peak"] == 0
    assert summary["guests_ever_below_floor"] == 0
    assert summary["balloon_targets_refused"] == 0
