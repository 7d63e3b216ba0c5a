"""The SLA allocator: every guest's balloon target for one cycle, both implementations.

Inputs are random hosts of N guests (``tests/sla/twins.random_host``: mixed classes,
10 KiB to 32 GiB balloons) in three situations: ``shares`` (the floors fit and the rest is
water-filled; free memory above the band, so guests grow), ``pressure`` (the same host
below the threshold: guests shrink in reclaim order) and ``given-up`` (the floors do not
fit: guarantees given up in order).  Rows of one group (``allocate[shares-1000]``)
compare the implementations.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.sla.twins import load_allocator, random_host

SIZES = [1000, 10000]
# seeds of random_host whose floors fit (shares) or do not (given-up), at both sizes
SEEDS = {"shares": 5, "pressure": 5, "given-up": 6}


@pytest.fixture(
    params=[
        pytest.param("cython", marks=pytest.mark.fastpath, id="cython-fastpath"),
        pytest.param("python", id="python-reference"),
    ]
)
def allocator(request: pytest.FixtureRequest) -> Any:
    return load_allocator(request.param, request.config)


def inputs_for(case: str, n: int) -> dict[str, Any]:
    inputs = random_host(n, SEEDS[case])
    inputs["host_free"] = 0 if case == "pressure" else 1 << 28
    return inputs


@pytest.mark.parametrize("case", list(SEEDS))
@pytest.mark.parametrize("n", SIZES)
def test_allocate(benchmark, allocator, case, n):  # type: ignore[no-untyped-def]
    inputs = inputs_for(case, n)
    benchmark.group = f"allocate[{case}-{n}]"
    benchmark.extra_info["guests"] = n
    fast = allocator.__name__.startswith("mom._fastpath")
    rounds = (2000 if n <= 1000 else 200) if fast else (20 if n <= 1000 else 3)
    result = benchmark.pedantic(lambda: allocator.allocate(**inputs), rounds=rounds, warmup_rounds=1)
    # the case is what it says
    if case == "given-up":
        assert result.level == 0.0
    else:
        assert 0.0 < result.level < float("inf")
    assert (result.shrink.any() if case == "pressure" else not result.shrink.any())
