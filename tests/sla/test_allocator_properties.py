"""The allocator's rules as properties, checked on both implementations (hypothesis)."""

from __future__ import annotations

import copy

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mom.sla.allocator import PLATINUM, Mode, PressureState
from tests.sla.twins import assert_same, hosts, shared_mask, soft_floors

PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def steps(inputs):  # type: ignore[no-untyped-def]
    return np.array([max(1, int(int(c) * inputs["step_cap"])) for c in inputs["balloon_max"]], dtype=np.int64)


def dead_bands(inputs):  # type: ignore[no-untyped-def]
    return np.array([int(int(c) * inputs["dead_band"]) for c in inputs["balloon_max"]], dtype=np.int64)


def floors_fit(inputs):  # type: ignore[no-untyped-def]
    """Whether the floors fit beside the fixed guests (platinum at balloon_max, excluded as they are)."""
    shared = shared_mask(inputs)
    fixed = int(np.where(np.asarray(inputs["excluded"]), inputs["current"], inputs["balloon_max"])[~shared].sum())
    return int(soft_floors(inputs)[shared].sum()) <= inputs["available"] - fixed, fixed


@PROPERTY
@given(inputs=hosts())
def test_allocations_lie_within_floors_and_ceilings(allocator, inputs):  # type: ignore[no-untyped-def]
    result = allocator.allocate(**inputs)
    shared = shared_mask(inputs)
    floors = soft_floors(inputs)
    allocation = result.allocation
    assert (allocation[shared] <= inputs["balloon_max"][shared]).all()
    assert (allocation[shared] >= inputs["balloon_min"][shared]).all()
    if floors_fit(inputs)[0]:
        assert (allocation[shared] >= floors[shared]).all()
        assert result.unmet == 0 and len(result.given_up) == 0
    else:  # floors given up: never above them, and no shares handed out
        assert (allocation[shared] <= floors[shared]).all()
        assert result.level == 0.0
    excluded = np.asarray(inputs["excluded"])
    assert (allocation[excluded] == inputs["current"][excluded]).all()


@PROPERTY
@given(inputs=hosts())
def test_allocations_add_up_to_what_is_available(allocator, inputs):  # type: ignore[no-untyped-def]
    result = allocator.allocate(**inputs)
    shared = shared_mask(inputs)
    total = int(result.allocation.sum())
    available = inputs["available"]
    fits, fixed = floors_fit(inputs)
    if not fits:  # what could not be given up is reported
        assert total == available + result.unmet
    elif int(inputs["balloon_max"][shared].sum()) <= available - fixed:
        assert result.level == float("inf") and result.unmet == 0
        assert (result.allocation[shared] == inputs["balloon_max"][shared]).all()
    else:  # water-filled: short of what is available by less than a KiB per shared guest
        assert available - int(shared.sum()) < total <= available
        assert result.unmet == 0


@PROPERTY
@given(inputs=hosts())
def test_targets_move_towards_the_allocation_within_the_step_cap(allocator, inputs):  # type: ignore[no-untyped-def]
    result = allocator.allocate(**inputs)
    current = inputs["current"]
    target = result.target
    low = np.minimum(current, result.allocation)
    high = np.maximum(current, result.allocation)
    assert ((low <= target) & (target <= high)).all()
    assert (np.abs(target - current) <= steps(inputs)).all()
    assert np.array_equal(result.shrink, target < current)
    assert np.array_equal(result.grow, target > current)
    excluded = np.asarray(inputs["excluded"])
    assert (target[excluded] == current[excluded]).all()


@PROPERTY
@given(inputs=hosts())
def test_no_change_smaller_than_the_dead_band_except_one_reaching_the_floor(allocator, inputs):  # type: ignore[no-untyped-def]
    result = allocator.allocate(**inputs)
    change = np.abs(result.target - inputs["current"])
    small = (change > 0) & (change < dead_bands(inputs))
    reaches_floor = result.target == np.minimum(soft_floors(inputs), result.allocation)
    assert (~small | (result.grow & reaches_floor)).all()


@PROPERTY
@given(inputs=hosts())
def test_platinum_is_never_ballooned(allocator, inputs):  # type: ignore[no-untyped-def]
    result = allocator.allocate(**inputs)
    platinum = (inputs["reclaim_rank"] == PLATINUM) & ~np.asarray(inputs["excluded"])
    assert (result.allocation[platinum] == inputs["balloon_max"][platinum]).all()
    assert not result.shrink[platinum].any()
    assert (result.shortfall[platinum] == 0).all()
    assert not set(result.given_up.tolist()) & set(np.flatnonzero(platinum).tolist())


@PROPERTY
@given(inputs=hosts(), which=st.integers(0, 10**6), more=st.integers(1, 100))
def test_more_priority_never_means_less_memory(allocator, inputs, which, more):  # type: ignore[no-untyped-def]
    n = len(inputs["balloon_max"])
    assume(n > 0)
    i = which % n
    assume(inputs["priority"][i] < 100)
    before = allocator.allocate(**inputs)
    raised = copy.deepcopy(inputs)
    raised["priority"][i] = min(100, int(raised["priority"][i]) + more)
    after = allocator.allocate(**raised)
    assert after.allocation[i] >= before.allocation[i]
    assert after.target[i] >= before.target[i]
    assert after.shortfall[i] <= before.shortfall[i]


@PROPERTY
@given(inputs=hosts())
def test_same_input_same_output_and_inputs_untouched(allocator, inputs):  # type: ignore[no-untyped-def]
    kept = copy.deepcopy(inputs)
    first = allocator.allocate(**inputs)
    second = allocator.allocate(**copy.deepcopy(inputs))
    assert_same(first, second)
    for name, value in kept.items():
        assert np.array_equal(inputs[name], value), name


@PROPERTY
@given(inputs=hosts(), where=st.floats(0.0, 1.0))
def test_targets_hold_in_the_band(allocator, inputs, where):  # type: ignore[no-untyped-def]
    inputs["host_free"] = inputs["threshold"] + int(inputs["band"] * where)
    result = allocator.allocate(**inputs)
    assert result.mode is Mode.HOLD
    assert result.state == inputs["state"]  # the band keeps the side last crossed
    assert not result.shrink.any()
    # the only moves: guests below their floor grow back towards it
    assert (result.target[result.grow] <= np.minimum(soft_floors(inputs), result.allocation)[result.grow]).all()


@PROPERTY
@given(inputs=hosts())
def test_pressure_state_follows_the_two_edges(allocator, inputs):  # type: ignore[no-untyped-def]
    result = allocator.allocate(**inputs)
    free, threshold, band = inputs["host_free"], inputs["threshold"], inputs["band"]
    if free < threshold:
        assert (result.mode, result.state) == (Mode.RECLAIM, PressureState.PRESSURE)
        assert not result.grow.any()
    elif free > threshold + band:
        assert (result.mode, result.state) == (Mode.RELEASE, PressureState.NORMAL)
        assert not result.shrink.any()
    else:
        assert result.mode is Mode.HOLD


@PROPERTY
@given(inputs=hosts())
def test_shrinks_come_before_growth_which_only_spends_memory_free_now(allocator, inputs):  # type: ignore[no-untyped-def]
    result = allocator.allocate(**inputs)
    assert not (result.shrink.any() and result.grow.any())
    change = result.target - inputs["current"]
    free, threshold, band = inputs["host_free"], inputs["threshold"], inputs["band"]
    assert int(change[result.grow].sum()) <= max(0, free - threshold)
    # reclaim frees no more than brings free memory back to the top of the band
    assert -int(change[result.shrink].sum()) <= max(0, threshold + band - free)


@PROPERTY
@given(inputs=hosts())
def test_guarantees_are_given_up_in_reclaim_order(allocator, inputs):  # type: ignore[no-untyped-def]
    result = allocator.allocate(**inputs)
    shared = shared_mask(inputs)
    guarantee = inputs["guarantee"]
    short = shared & (result.allocation < guarantee)
    assert np.array_equal(result.shortfall, np.where(short, guarantee - result.allocation, 0))
    assert sorted(result.given_up.tolist()) == np.flatnonzero(short).tolist()
    key = [(int(inputs["reclaim_rank"][i]), int(inputs["priority"][i]), int(i)) for i in result.given_up]
    assert key == sorted(key)
    # a guest loses any of its guarantee only once all before it in reclaim order are at balloon_min
    order = sorted(np.flatnonzero(shared).tolist(), key=lambda i: (inputs["reclaim_rank"][i], inputs["priority"][i], i))
    for position, j in enumerate(order):
        if short[j]:
            for i in order[:position]:
                assert result.allocation[i] == inputs["balloon_min"][i]
