"""sla_balloon's loops around the allocator: the fast path's Cython twins
(mom/_fastpath/sla_kernels.pyx) give what the specification (mom.dsl.builtins_sla) gives,
to the bit, on random columns (absent fields, negative, fractional, huge values)."""

from __future__ import annotations

import numpy as np
import pytest

from mom.dsl.builtins_sla import BALLOON_FIELDS, gather_numbers, prepare_inputs
from mom.dsl.layout import TAG_ABSENT, TAG_BOOL, TAG_FLOAT, TAG_INT, TAG_NONE, TAG_OBJECT

pytestmark = pytest.mark.fastpath


@pytest.fixture
def kernels(pytestconfig):
    """The compiled twins (skipped as the fast path's tests are; MOM_REQUIRE_FASTPATH=1 fails)."""
    from tests.implementations import load_implementation

    load_implementation("cython", pytestconfig)
    from mom._fastpath import sla_kernels

    return sla_kernels

GIB = 1024 * 1024


def _matrix(rng: np.random.Generator, n: int) -> np.ndarray:
    choices = np.array([np.nan, -5.0, 0.0, 0.5, 1.0, 63.0, 64.0, 100.0, 101.0, 2.5 * GIB, 4.0 * GIB, 8.0 * GIB, 2.0**50])
    matrix = rng.choice(choices, size=(len(BALLOON_FIELDS), n))
    matrix[0] = np.where(rng.random(n) < 0.9, rng.integers(GIB, 16 * GIB, n), matrix[0])
    matrix[2] = np.where(rng.random(n) < 0.9, rng.integers(0, 16 * GIB, n) + 0.25, matrix[2])
    return np.ascontiguousarray(matrix)


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("keep, limit", [(None, None), (65536.0, None), (None, 1000.0), (0.0, 0.0), (2.0**44, 5.0)])
def test_prepare_inputs_twins_agree(kernels, seed, keep, limit):
    matrix = _matrix(np.random.default_rng(seed), 1 + seed * 7)
    want = prepare_inputs(matrix, keep, limit)
    got = kernels.prepare_inputs(matrix, keep, limit)
    assert sorted(got[0]) == sorted(want[0])
    for name in want[0]:
        assert got[0][name].dtype == want[0][name].dtype, name
        np.testing.assert_array_equal(got[0][name], want[0][name], err_msg=name)
    np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_array_equal(got[2], want[2])


def test_prepare_inputs_leaves_a_keep_past_the_allocator_to_the_specification(kernels):
    matrix = _matrix(np.random.default_rng(1), 5)
    with pytest.raises(OverflowError):
        prepare_inputs(matrix, 1e30, None)
    with pytest.raises(OverflowError):
        kernels.prepare_inputs(matrix, 1e30, None)


@pytest.mark.parametrize("seed", range(10))
def test_gather_twins_agree(kernels, seed):
    rng = np.random.default_rng(seed)
    nfields, capacity = 12, 40
    latest_tags = rng.choice([TAG_ABSENT, TAG_BOOL, TAG_FLOAT, TAG_INT, TAG_NONE, TAG_OBJECT], size=(nfields, capacity)).astype(np.int8)
    latest_payload = rng.integers(-(2**40), 2**40, size=(nfields, capacity)).astype(np.int64)
    count = rng.integers(0, 3, size=capacity).astype(np.int32)
    rows = rng.permutation(capacity)[: rng.integers(0, capacity)].astype(np.intp)
    fields = rng.choice(np.arange(-1, nfields), size=len(BALLOON_FIELDS)).astype(np.intp)
    want = gather_numbers(latest_tags, latest_payload, count, rows, fields)
    got = kernels.gather_numbers(latest_tags, latest_payload, count, rows, fields)
    np.testing.assert_array_equal(got, want)
    from mom.dsl.guest_columns import gather_cells

    for a, b in zip(kernels.gather(latest_tags, latest_payload, count, rows, fields), gather_cells(latest_tags, latest_payload, count, rows, fields)):
        np.testing.assert_array_equal(a, b)
