"""Float values a policy text cannot write but its data can carry (NaN, -0.0, inf):
the fast path gives the reference's result to the bit, sign of a NaN included."""

from __future__ import annotations

import math
import struct
from typing import Any

import pytest

from tests.implementations import load_implementation

NAN = float("nan")
EDGES = [NAN, -NAN, -0.0, 0.0, float("inf"), float("-inf"), -2.5, -5e-324]


def bits(value: float) -> bytes:
    return struct.pack("<d", value)


@pytest.fixture(scope="module")
def engines(request: pytest.FixtureRequest) -> tuple[Any, Any]:
    return load_implementation("python", request.config), load_implementation("cython", request.config)


@pytest.mark.fastpath
@pytest.mark.parametrize("value", EDGES, ids=[f"{v!r}-sign{math.copysign(1, v):+.0f}" for v in EDGES])
def test_abs_of_float_edges_is_bit_exact(engines: Any, value: float) -> None:
    reference, fast = engines
    text = "(abs x) (abs (* x 1.0))"  # a bound variable, and the VM's inline float result
    expected = reference.compile_policy(text).execute({"x": value})
    got = fast.compile_policy(text).execute({"x": value})
    assert [bits(v) for v in expected] == [bits(abs(value))] * 2  # the reference is Python's abs
    assert [bits(v) for v in got] == [bits(v) for v in expected]
