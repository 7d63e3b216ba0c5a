"""SLA groups in the simulator: scenario keys, the metadata the daemon reads, the summary's
SLA figures, scenarios/sla-host.toml with the SLA set against vdsm's, and
scenarios/sla-lifecycle-host.toml (the SLA set with the Lifecycle controller on)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mom.sim.compare import format_side_by_side
from mom.sim.interface import SimInterface
from mom.sim.model import SimHost
from mom.sim.runner import Simulation
from mom.sim.scenario import ScenarioError, load_scenario, parse_scenario
from mom.sim.summary import format_table, summarize
from mom.sla.classes import DEFAULT_CLASSES
from mom.sla.sources import parse_mom_metadata
from tests.sim.conftest import scenario_data

SLA_HOST = Path(__file__).resolve().parents[2] / "scenarios" / "sla-host.toml"


def test_groups_take_sla_priority_and_tags():
    data = scenario_data()
    data["group"][0].update({"sla": "gold", "priority": 70, "tags": ["db", "prod"]})
    scenario = parse_scenario(data, "t.toml")
    web, batch = scenario.groups[0], scenario.groups[1]
    assert (web.sla_class, web.priority, web.tags) == ("gold", 70, "db prod")  # (sla: sla-class's alias)
    assert (batch.sla_class, batch.priority, batch.tags) == ("", 50, "")
    host = SimHost(scenario)
    metadata = SimInterface(host).getVmSlaMetadata(host.info[0].uuid)
    spec = parse_mom_metadata(metadata["mom_sla"], DEFAULT_CLASSES)
    assert (spec.sla_class, spec.priority, spec.tags) == (None, 70, ("db", "prod"))  # the class: by rules
    assert SimInterface(host).getVmSlaMetadata(host.info[-1].uuid) == {"mom_sla": None, "ovirt_custom": None}
    # the guarantee the summary measures against: gold's 75 %, else balloon_min
    assert host.sla_guarantee[0] == int(0.75 * web.memory)
    assert host.sla_guarantee[-1] == scenario.groups[-1].min_memory


@pytest.mark.parametrize(
    "change, message",
    [({"sla": "9x"}, "sla = '9x': expected an SLA class"), ({"priority": 101}, "priority = 101: expected an integer")],
)
def test_bad_sla_keys_are_refused(change, message):
    data = scenario_data()
    data["group"][0].update(change)
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(data, "t.toml")


@pytest.fixture(scope="module")
def sla_runs():
    """scenarios/sla-host.toml, its first 40 minutes (through the peak), with both sets."""
    scenario = load_scenario(str(SLA_HOST))
    scenario = scenario.replace(duration=2400.0)
    runs = {}
    for name in ("sla", "vdsm"):
        daemon = dataclasses.replace(scenario.daemon, policy_dir=name)
        runs[name] = summarize(Simulation(scenario.replace(daemon=daemon)).run())
    return runs


def test_the_sla_set_keeps_platinum_and_gold_and_does_not_oscillate(sla_runs):
    sla, vdsm = sla_runs["sla"], sla_runs["vdsm"]
    assert sla["policy_failures"] == 0 and sla["errors_logged"] == {}
    groups = {group["group"]: group for group in sla["groups"]}
    assert groups["db"]["sla"] == "platinum" and groups["db"]["balloon_min_pct"] == 100.0
    assert groups["app"]["balloon_min_pct"] >= 75.0
    assert sla["guarantee_violations"] == 0
    # memory was reclaimed, from the classes that allow it
    assert groups["scratch"]["balloon_min_pct"] < 50 and groups["batch"]["balloon_min_pct"] < 50
    # vdsm's policies keep the guarantees only through the Balloon controller's safety
    # floors, fighting them: balloon targets change direction about every other cycle
    vdsm_groups = {group["group"]: group for group in vdsm["groups"]}
    assert vdsm_groups["db"]["balloon_min_pct"] == 100.0
    # far fewer direction changes (fewer than one per guest through the peak: no guest
    # oscillates), less host swap
    assert sla["balloon_reversals"] < sla["guests"] and sla["balloon_reversals"] * 10 < vdsm["balloon_reversals"]
    assert sla["host_swap_peak_gib"] <= vdsm["host_swap_peak_gib"]
    table = format_table(sla)
    assert "balloon target reversals" in table and "platinum" in table
    side = format_side_by_side(vdsm, sla, ("vdsm", "sla"))
    assert "guest-seconds below the SLA guarantee" in side and "db (platinum, 6 guests)" in side


def test_the_compare_command(tmp_path, sla_runs):
    paths = []
    for name, summary in sla_runs.items():
        path = tmp_path / name / "summary.json"
        path.parent.mkdir()
        path.write_text(json.dumps(summary))
        paths.append(str(path))
    done = subprocess.run([sys.executable, "-m", "mom.sim.compare", *paths], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[2].split() == ["sla", "vdsm"]


SLA_LIFECYCLE_HOST = SLA_HOST.with_name("sla-lifecycle-host.toml")


def test_the_sla_set_powers_vapor_guests_off_at_the_peak_and_starts_them_again():
    """scenarios/sla-lifecycle-host.toml: the SLA set's 08-lifecycle with the Lifecycle
    controller on, on a host that cannot keep the guarantees at the peak."""
    simulation = Simulation(load_scenario(str(SLA_LIFECYCLE_HOST)))
    summary = summarize(simulation.run())
    assert summary["policy_failures"] == 0 and summary["errors_logged"] == {}
    assert summary["guarantee_violations"] == 0
    groups = {group["group"]: group for group in summary["groups"]}
    assert summary["vapor_power_offs"] > 0 and groups["scratch"]["powered_off"] == summary["vapor_power_offs"]
    for name in ("db", "app", "web", "batch"):  # only vapor guests: never platinum or gold
        assert groups[name]["powered_off"] == 0 and groups[name]["migrated"] == 0, name
    # once the load falls, every guest powered off runs again
    assert summary["restores"] == summary["vapor_power_offs"]
    assert groups["db"]["balloon_min_pct"] == 100.0 and groups["app"]["balloon_min_pct"] >= 75.0
    # the same guests on 192 GiB, through the peak: under pressure for a while, but the
    # guarantees are kept and no guest is asked for
    scenario = load_scenario(str(SLA_LIFECYCLE_HOST))
    roomy = dataclasses.replace(scenario.host, memory=scenario.host.memory * 3 // 2)
    calm = summarize(Simulation(scenario.replace(host=roomy, duration=3000.0)).run())
    assert calm["time_under_pressure_s"] > 0
    assert calm["vapor_power_offs"] == 0 and calm["lifecycle_audit"] == {}
