"""Scenario files: sizes, defaults, and errors that name the file and the key."""

from __future__ import annotations

import os

import pytest

from mom.policy_sets import DEFAULT_SET, shipped_set_dir
from mom.sim.scenario import WORKLOADS, ScenarioError, load_scenario, parse_scenario, parse_size
from tests.sim.conftest import scenario_data

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


@pytest.mark.parametrize(
    "text, kib",
    [
        (1024, 1024),
        ("64K", 64),
        ("512M", 512 * 1024),
        ("2G", 2 * 1024**2),
        ("1.5G", 1536 * 1024),
        ("1T", 1024**3),
        ("2GiB", 2 * 1024**2),
        (" 8 g ", 8 * 1024**2),
    ],
)
def test_sizes(text, kib):
    assert parse_size(text) == kib


@pytest.mark.parametrize("text", ["", "2X", "-1", -5, True, 1.5, "G", None])
def test_bad_sizes(text):
    with pytest.raises(ValueError):
        parse_size(text)


def test_shipped_scenario_loads():
    scenario = load_scenario(os.path.join(ROOT, "scenarios", "dense-host.toml"))
    assert scenario.name == "dense-host"
    assert 200 <= scenario.guest_count <= 1000
    assert scenario.daemon.parameters == "(set balloonEnabled True)"
    assert os.path.isfile(os.path.join(scenario.policy_dir(), "02-balloon.policy"))
    # vdsm's collectors and controllers, with the simulated host's collectors
    assert scenario.daemon.controllers == ("Balloon", "KSM", "CpuTune", "IoTune")
    assert scenario.daemon.host_collectors == ("SimHostMemory", "SimHostKSM", "SimHostCpu")


def test_workload_presets_and_overrides(small):
    web, batch, idle = small.groups
    assert web.level == WORKLOADS["steady"]["level"]
    assert batch.burst_rate == 3.0  # overridden
    assert batch.burst_level == WORKLOADS["bursty"]["burst-level"]
    assert idle.share == 0.4
    assert web.min_memory == 512 * 1024 and web.memory == 1024**2
    # the top-level load applies to groups without their own
    assert web.load == ((0.0, 0.5), (300.0, 1.3), (1200.0, 1.3), (1500.0, 0.4))


def test_policy_dir_is_relative_to_the_scenario(tmp_path):
    data = scenario_data()
    data["daemon"] = {"policy-dir": "my-policies"}
    scenario = parse_scenario(data, "x.toml", str(tmp_path / "x.toml"))
    assert scenario.policy_dir() == str(tmp_path / "my-policies")


def test_policy_dir_names_a_shipped_set_unless_such_a_directory_exists(tmp_path):
    data = scenario_data()
    data["daemon"] = {"policy-dir": DEFAULT_SET}
    assert parse_scenario(data, "x.toml", str(tmp_path / "x.toml")).policy_dir() == shipped_set_dir(DEFAULT_SET)
    assert parse_scenario(scenario_data(), "x.toml", str(tmp_path / "x.toml")).policy_dir() == shipped_set_dir(DEFAULT_SET)
    (tmp_path / DEFAULT_SET).mkdir()
    assert parse_scenario(data, "x.toml", str(tmp_path / "x.toml")).policy_dir() == str(tmp_path / DEFAULT_SET)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"host": {"memory": "lots"}}, "host.memory = 'lots': expected a size"),
        ({"host": {"memroy": "4G"}}, "unknown key in host: memroy"),
        ({"colour": 1}, "unknown key: colour"),
        ({"group": []}, "no [[group]] of guests"),
        ({"group": [{"name": "a", "workload": "sleepy"}]}, "group[0].workload = 'sleepy': expected one of steady"),
        ({"group": [{"name": "a", "memory": "1G", "min-memory": "2G"}]}, "group[0]: min-memory is larger than memory"),
        ({"group": [{"name": "a"}, {"name": "a"}]}, "group names must be unique"),
        ({"group": [{"name": "a", "count": 0}]}, "group[0].count = 0: expected an integer >= 1"),
        ({"group": [{"name": "a", "level": 2}]}, "group[0].level = 2: expected a number from 0.0 to 1.0"),
        ({"load": [[10, 1], [5, 1]]}, "load = [[10, 1], [5, 1]]: expected a list of [seconds, factor] pairs"),
        (
            {"daemon": {"policy-engine-interval": 2.5}},
            "daemon.policy-engine-interval = 2.5: expected a multiple of tick",
        ),
        ({"ksm": {"run": 3}}, "ksm.run = 3: expected 0, 1 or 2"),
        ({"duration": 0.5}, "duration (0.5) is shorter than one tick"),
    ],
)
def test_errors_name_the_key(change, message):
    data = scenario_data()
    data.update(change)
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(data, "bad.toml")
    assert str(caught.value).startswith("bad.toml: ")
    assert message in str(caught.value)


def test_file_errors(tmp_path):
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(str(tmp_path / "missing.toml"))
    broken = tmp_path / "broken.toml"
    broken.write_text("name = \n")
    with pytest.raises(ScenarioError, match="broken.toml: not valid TOML"):
        load_scenario(str(broken))
