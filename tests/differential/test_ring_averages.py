"""StatAvg over a row whose sample ring has wrapped: the fast path sums the ring in two
runs (from the oldest sample to the ring's end, then from its start); its mean must be
the reference's, oldest sample first, to the bit, and fall back where the reference's
Python sum would (an object, an int sum past int64)."""

from __future__ import annotations

import struct
from typing import Any

import pytest

from mom.runtime.table import GuestSet, SampleTable
from tests.implementations import load_implementation

HISTORY = 3
#: per case, the values appended to one field, oldest first (a missing field: absent)
SERIES = [
    [1, 2],
    [1, 2, 3],
    [1, 2, 3, 4],
    [1, 2, 3, 4, 5, 6, 7],
    [0.1, 0.2, 0.3, 0.4, 0.5],
    [1, 0.1, 2**53 + 1, 3, 0.7],  # an int sum, then floats from the first float on
    [2**53 + 1, 1, 0.5, 2**53, 2**53],
    [None, 5, "absent", None, 2.5],
    [2**62, 2**62, 2**62, 2**62],  # the exact sum passes int64: Python's big int
    [True, 2, False, 3],
    [1, "x", 2, 3],  # an object in the ring: Python decides (and fails)
    [1, "x", 2, 3, 4],  # an object pushed out of the ring
]


def average_of(engine: Any, values: list[Any]) -> Any:
    table = SampleTable(["v"], history=HISTORY)
    row = table.add_row("g")
    for value in values:
        table.append(row, {} if value == "absent" else {"v": value})
    try:
        return engine.compile_policy('(with Guests g (g.StatAvg "v"))').evaluate(None, GuestSet(table, [row]))
    except Exception as error:  # noqa: BLE001  (the same error is part of agreeing)
        return (type(error).__name__, str(error))


def exact(value: Any) -> Any:
    if isinstance(value, list):
        return [exact(v) for v in value]
    return struct.pack("<d", value) if isinstance(value, float) else (type(value).__name__, value)


@pytest.fixture(scope="module")
def engines(request: pytest.FixtureRequest) -> tuple[Any, Any]:
    return load_implementation("python", request.config), load_implementation("cython", request.config)


@pytest.mark.fastpath
@pytest.mark.parametrize("values", SERIES, ids=[repr(v) for v in SERIES])
def test_statavg_over_a_wrapped_ring_is_the_references(engines: Any, values: list[Any]) -> None:
    reference, fast = engines
    expected = average_of(reference, values)
    assert exact(average_of(fast, values)) == exact(expected)
