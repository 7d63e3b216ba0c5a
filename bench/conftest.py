"""Benchmark inputs: vdsm's six policies and N guests cycled from the golden data."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.compat import golden


def guest_specs(n: int) -> list[dict[str, Any]]:
    """N guests: the 500 golden guests repeated under new names."""
    base = golden.load()["guests"]
    specs = []
    for index in range(n):
        spec = copy.deepcopy(base[index % len(base)])
        spec["name"] = f"vm-{index:05d}"
        specs.append(spec)
    return specs


@pytest.fixture
def vdsm_text() -> str:
    policies = golden.load()["policies"]
    return "\n".join(policies[name] for name in sorted(policies))


SCENARIOS = {"pressure": "pressure", "no-pressure": "nopressure"}


def scenario_inputs(scenario: str, n: int) -> tuple[Any, list[Any], str]:
    data = golden.load()["scenarios"][SCENARIOS[scenario]]
    return golden.host(data["host"]), golden.guests(guest_specs(n)), data["parameters_policy"]
