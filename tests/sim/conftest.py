"""Small scenarios for the simulator's tests (built in code; the shipped one is tested too)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mom.sim.scenario import parse_scenario

#: an overcommitted host: 48 guests, 80 GiB of boot memory on 40 GiB of RAM
SMALL: dict[str, Any] = {
    "name": "small",
    "seed": 7,
    "duration": 1800,
    "tick": 1,
    "load": [[0, 0.5], [300, 1.3], [1200, 1.3], [1500, 0.4]],
    "host": {
        "memory": "40G",
        "swap": "8G",
        "cpus": 16,
        "overhead": "2G",
        "guest-overhead": "32M",
        "page-cache": "4G",
        "page-cache-max": "6G",
        "page-cache-min": "512M",
        "page-cache-growth": "16M",
        "min-free": "256M",
    },
    "ksm": {"sharers": 6},
    "daemon": {"parameters": "(set balloonEnabled True)"},
    "group": [
        {"name": "web", "count": 24, "memory": "1G", "min-memory": "512M", "workload": "steady", "stuck": 0.1},
        {"name": "batch", "count": 12, "memory": "2G", "min-memory": "768M", "workload": "bursty", "burst-rate": 3},
        {"name": "idle", "count": 12, "memory": "2G", "min-memory": "256M", "workload": "idle", "share": 0.4},
    ],
}


def scenario_data(**changes: Any) -> dict[str, Any]:
    """A deep copy of :data:`SMALL` with top-level keys changed."""
    data = copy.deepcopy(SMALL)
    data.update(changes)
    return data


@pytest.fixture
def small():
    """The small scenario, parsed."""
    return parse_scenario(scenario_data(), "small.toml")


@pytest.fixture
def make_scenario():
    """``make_scenario(**top_level_changes)`` -> a parsed scenario."""

    def make(**changes: Any):
        return parse_scenario(scenario_data(**changes), "test.toml")

    return make
