"""Compiling and evaluating vdsm's six policies, both implementations side by side.

Run with ``make bench`` (or ``pytest bench --benchmark-only``).  Rows of one group
(``evaluate[pressure-1000]``) compare the implementations on the same inputs.
"""

from __future__ import annotations

import pytest

from bench.conftest import scenario_inputs
from tests.compat import golden

SIZES = [1, 10, 100, 1000, 10000]


def test_compile_six_vdsm_policies(benchmark, impl, vdsm_text):  # type: ignore[no-untyped-def]
    benchmark.group = "compile[vdsm-6]"
    program = benchmark(impl.compile_policy, vdsm_text)
    assert len(program.forms) > 40


@pytest.mark.parametrize("scenario", ["pressure", "no-pressure"])
@pytest.mark.parametrize("n", SIZES)
def test_evaluate_vdsm_policies(benchmark, impl, scenario, n):  # type: ignore[no-untyped-def]
    host, guests, parameters = scenario_inputs(scenario, n)
    store = golden.policies(parameters, implementation=impl)
    benchmark.group = f"evaluate[{scenario}-{n}]"
    benchmark.extra_info["guests"] = n
    rounds = max(3, min(50, 20000 // n))
    ok = benchmark.pedantic(store.evaluate, args=(host, guests), rounds=rounds, warmup_rounds=1)
    assert ok is True
    assert any(guest.controls for guest in guests)
