"""Comparisons of ints and bools, and ``valid``, which the VM runs inline (a value, or
fused with the branch that tests it): the reference's result for every pair of edge
values, random ints too, in both positions."""

from __future__ import annotations

import random
from typing import Any

import pytest

from tests.dsl.same import same
from tests.implementations import load_implementation

INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
EDGES: list[Any] = [0, 1, -1, True, False, INT64_MIN, INT64_MAX, INT64_MAX + 1, INT64_MIN - 1, 2**53 + 1, 0.5, None]
OPERATORS = ["<", ">", "<=", ">=", "==", "!="]


@pytest.fixture(scope="module")
def engines(request: pytest.FixtureRequest) -> tuple[Any, Any]:
    return load_implementation("python", request.config), load_implementation("cython", request.config)


def _program(op: str) -> str:
    # the value itself, the value tested by an if, and inside a function (its own block)
    return (
        f"({op} x y) (if ({op} x y) 'yes' 'no') (def f (a b) (if ({op} a b) 1 2)) (f x y)"
        " (valid x y) (if (valid x y) 1 0) (valid x) (if (valid y) 'v' 'n') (valid)"
    )


def _outcome(engine: Any, text: str, bindings: dict[str, Any]) -> Any:
    try:
        return engine.compile_policy(text).execute(bindings)
    except Exception as error:  # noqa: BLE001  (the same error both ways)
        return (type(error), str(error))


def _check(engines: Any, op: str, x: Any, y: Any) -> None:
    reference, fast = engines
    text = _program(op)
    expected = _outcome(reference, text, {"x": x, "y": y})
    got = _outcome(fast, text, {"x": x, "y": y})
    if isinstance(expected, tuple):
        assert got == expected
    else:
        assert same(got, expected), (op, x, y, got, expected)


@pytest.mark.fastpath
@pytest.mark.parametrize("op", OPERATORS)
def test_edge_pairs_compare_as_the_reference(engines: Any, op: str) -> None:
    for x in EDGES:
        for y in EDGES:
            _check(engines, op, x, y)


@pytest.mark.fastpath
def test_random_ints_compare_as_the_reference(engines: Any) -> None:
    rng = random.Random(15)
    for _ in range(300):
        bits = rng.choice([3, 20, 62, 63, 64])
        x = rng.randrange(-(1 << bits), 1 << bits)
        y = rng.choice([x, x + 1, x - 1, -x, rng.randrange(-(1 << bits), 1 << bits), bool(x & 1)])
        _check(engines, rng.choice(OPERATORS), x, y)


@pytest.mark.fastpath
def test_the_inline_results_are_bools(engines: Any) -> None:
    _reference, fast = engines
    values = fast.compile_policy("(< 1 2) (== t 1) (!= f 0) (valid 1 2) (valid 1 n)").execute({"t": True, "f": False, "n": None})
    assert values == [True, True, False, True, False]
    assert all(type(value) is bool for value in values)
