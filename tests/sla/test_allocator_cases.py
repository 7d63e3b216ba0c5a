"""The allocator on hand-made hosts, and its input checks, on both implementations."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mom.sla.allocator import GUEST_COLUMNS, MAX_KIB, RANKS, Mode, PressureState

GIB = 1 << 20  # KiB


def host(guests: list[dict[str, Any]], **scalars: Any) -> dict[str, Any]:
    """Inputs from per-guest dicts (defaults: a 4 GiB standard guest at 4 GiB, priority 50)."""
    defaults = {"balloon_max": 4 * GIB, "balloon_min": GIB, "used": GIB, "margin": 0, "priority": 50, "idle": 0, "excluded": False}
    rows = []
    for guest in guests:
        row = dict(defaults, **guest)
        row.setdefault("guarantee", row["balloon_min"])
        row.setdefault("current", row["balloon_max"])
        sla = row.pop("sla", "standard")
        if sla is not None:
            row["reclaim_rank"] = RANKS[sla]
        rows.append(row)
    inputs: dict[str, Any] = {
        name: np.array([row[name] for row in rows], dtype=bool if name == "excluded" else np.int64) for name in GUEST_COLUMNS
    }
    inputs.update({"host_free": 0, "threshold": GIB, "band": GIB, "state": PressureState.NORMAL, "step_cap": 1.0, "dead_band": 0.0})
    inputs.update(scalars)
    return inputs


def test_guarantees_are_given_up_by_class_then_lowest_priority(allocator):  # type: ignore[no-untyped-def]
    guests = [
        {"sla": "gold", "guarantee": 3 * GIB, "priority": 90},  # 0
        {"sla": "standard", "priority": 10},  # 1
        {"sla": "gold", "guarantee": 3 * GIB, "priority": 20},  # 2
        {"sla": "platinum"},  # 3
        {"sla": "vapor", "balloon_min": 0, "used": 0},  # 4
        {"sla": "compute", "guarantee": 2 * GIB, "balloon_min": GIB, "priority": 70},  # 5: an explicit guarantee
        {"sla": "gold", "guarantee": 3 * GIB, "priority": 20},  # 6: ties broken by index
    ]
    # floors: 3 + 1 + 3 + 4 + 0 + 2 + 3 = 16 GiB; balloon_min (platinum: 4) = 1+1+1+4+0+1+1 = 9 GiB
    inputs = host(guests, available=10 * GIB + GIB // 2)
    result = allocator.allocate(**inputs)
    # 5.5 GiB to give up: compute's 1 GiB of guarantee, then gold 2, gold 6 (2 GiB each), then 0.5 of gold 0
    assert result.given_up.tolist() == [5, 2, 6, 0]
    assert result.shortfall.tolist() == [GIB // 2, 0, 2 * GIB, 0, 0, GIB, 2 * GIB]
    assert result.allocation.tolist() == [int(2.5 * GIB), GIB, GIB, 4 * GIB, 0, GIB, GIB]
    assert result.unmet == 0
    assert result.level == 0.0


def test_any_rank_below_platinum_is_reclaimed_in_order(allocator):  # type: ignore[no-untyped-def]
    """Ranks need not be the shipped classes': configured classes map to any of 0..62."""
    guests = [{"sla": None, "reclaim_rank": rank, "guarantee": 2 * GIB} for rank in (62, 7, 40)]
    result = allocator.allocate(**host(guests, available=4 * GIB + GIB // 2))
    assert result.given_up.tolist() == [1, 2]
    assert result.allocation.tolist() == [2 * GIB, GIB, int(1.5 * GIB)]


def test_what_even_balloon_min_cannot_get_is_unmet(allocator):  # type: ignore[no-untyped-def]
    inputs = host([{"sla": "platinum"}, {"balloon_min": 2 * GIB}, {"excluded": True, "current": 3 * GIB}], available=8 * GIB)
    result = allocator.allocate(**inputs)
    assert result.allocation.tolist() == [4 * GIB, 2 * GIB, 3 * GIB]
    assert result.unmet == GIB
    assert result.given_up.tolist() == []  # its guarantee is balloon_min, kept


def test_floors_above_guarantees_go_before_any_guarantee(allocator):  # type: ignore[no-untyped-def]
    # the vapor guest uses 3 GiB, gold only 3.5 of its 4 GiB: vapor's use is reclaimed first,
    # then gold's use above its 3 GiB guarantee, and gold keeps its guarantee
    inputs = host(
        [{"sla": "gold", "guarantee": 3 * GIB, "used": int(3.5 * GIB)}, {"sla": "vapor", "balloon_min": 0, "used": 3 * GIB}],
        available=int(3.25 * GIB),
    )
    result = allocator.allocate(**inputs)
    assert result.allocation.tolist() == [int(3.25 * GIB), 0]
    assert result.given_up.tolist() == []


def test_shares_follow_priority_and_tax_idle_memory(allocator):  # type: ignore[no-untyped-def]
    guests = [
        {"priority": 99, "used": 0, "balloon_min": 0},
        {"priority": 49, "used": 0, "balloon_min": 0},
        {"priority": 49, "used": 0, "balloon_min": 0, "idle": 4 * GIB},  # all idle: shares / (1 + 3)
    ]
    result = allocator.allocate(**host(guests, available=3 * GIB, tax_rate=0.75))
    first, second, idle = result.allocation.tolist()
    # shares 100 : 50 : 50 / 4 -> 3 GiB split 8 : 4 : 1
    assert abs(first - 3 * GIB * 8 // 13) <= 1 and abs(second - 3 * GIB * 4 // 13) <= 1 and abs(idle - 3 * GIB // 13) <= 1
    assert sum(result.allocation.tolist()) <= 3 * GIB
    untaxed = allocator.allocate(**host(guests, available=3 * GIB, tax_rate=0.0))
    assert untaxed.allocation[1] == untaxed.allocation[2]


def test_reclaim_takes_classes_in_order_and_only_what_pressure_needs(allocator):  # type: ignore[no-untyped-def]
    guests = [{"sla": "gold", "guarantee": 3 * GIB}, {"sla": "vapor", "balloon_min": 0}, {"sla": "compute"}, {"sla": "platinum"}]
    inputs = host(guests, available=10 * GIB, host_free=GIB // 2, threshold=GIB, band=GIB, step_cap=0.25)
    result = allocator.allocate(**inputs)
    assert (result.mode, result.state) == (Mode.RECLAIM, PressureState.PRESSURE)
    # 1.5 GiB wanted back (free to threshold + band): vapor 1 GiB (its step), then compute 0.5
    assert (inputs["current"] - result.target).tolist() == [0, GIB, GIB // 2, 0]
    assert result.shrink.tolist() == [False, True, True, False]


def test_growth_waits_for_memory_freed_and_floors_come_first(allocator):  # type: ignore[no-untyped-def]
    guests = [
        {"current": GIB, "priority": 90},  # below its share
        {"sla": "gold", "guarantee": 3 * GIB, "current": 2 * GIB},  # below its guarantee
        {"sla": "platinum", "current": 3 * GIB},
    ]
    inputs = host(guests, available=12 * GIB, threshold=GIB, band=2 * GIB)
    held = allocator.allocate(**dict(inputs, host_free=int(2.5 * GIB)))  # in the band: floors only
    assert held.mode is Mode.HOLD
    assert (held.target - inputs["current"]).tolist() == [0, GIB // 2, GIB]  # platinum first, then gold
    released = allocator.allocate(**dict(inputs, host_free=6 * GIB))
    assert released.mode is Mode.RELEASE
    # 5 GiB above threshold: 2 for the floors; of the 3 beyond the band 1 is left for
    # shares, and gold, a better class, comes before the standard guest
    assert (released.target - inputs["current"]).tolist() == [0, 2 * GIB, GIB]
    more = allocator.allocate(**dict(inputs, host_free=7 * GIB))
    assert (more.target - inputs["current"]).tolist() == [GIB, 2 * GIB, GIB]


def test_excluded_guests_hold_and_count_as_fixed(allocator):  # type: ignore[no-untyped-def]
    inputs = host([{"excluded": True, "current": 2 * GIB}, {"current": 2 * GIB, "used": 0}], available=5 * GIB, host_free=10 * GIB)
    result = allocator.allocate(**inputs)
    assert result.target.tolist() == [2 * GIB, 3 * GIB]
    assert result.allocation.tolist() == [2 * GIB, 3 * GIB]


def test_no_guests(allocator):  # type: ignore[no-untyped-def]
    result = allocator.allocate(**host([], available=GIB, host_free=0))
    assert len(result.target) == 0 and result.given_up.dtype == np.intp
    assert (result.mode, result.unmet) == (Mode.RECLAIM, 0)


BAD_GUESTS = [
    ({"balloon_max": -1}, "allocator: guest 1: balloon_max = -1 is outside 0..17592186044416"),
    ({"balloon_max": MAX_KIB + 1}, f"allocator: guest 1: balloon_max = {MAX_KIB + 1} is outside 0..{MAX_KIB}"),
    ({"balloon_min": 5 * GIB}, f"allocator: guest 1: balloon_min = {5 * GIB} is outside 0..{4 * GIB}"),
    ({"guarantee": GIB - 1}, f"allocator: guest 1: guarantee = {GIB - 1} is outside {GIB}..{4 * GIB}"),
    ({"used": -5}, f"allocator: guest 1: used = -5 is outside 0..{MAX_KIB}"),
    ({"margin": -5}, f"allocator: guest 1: margin = -5 is outside 0..{MAX_KIB}"),
    ({"sla": None, "reclaim_rank": 64}, "allocator: guest 1: reclaim_rank = 64 is outside 0..63"),
    ({"sla": None, "reclaim_rank": -1}, "allocator: guest 1: reclaim_rank = -1 is outside 0..63"),
    ({"priority": 101}, "allocator: guest 1: priority = 101 is outside 0..100"),
    ({"idle": -1}, f"allocator: guest 1: idle = -1 is outside 0..{MAX_KIB}"),
    ({"current": 4 * GIB + 1}, f"allocator: guest 1: current = {4 * GIB + 1} is outside 0..{4 * GIB}"),
    ({"priority": 101, "used": -1}, f"allocator: guest 1: used = -1 is outside 0..{MAX_KIB}"),  # fields in order
]


@pytest.mark.parametrize(("bad", "message"), BAD_GUESTS)
def test_bad_guest_values_name_the_guest_and_the_field(allocator, bad, message):  # type: ignore[no-untyped-def]
    inputs = host([{}, {}, {"priority": -1}], available=GIB)
    for name, value in bad.items():
        if name != "sla":
            inputs[name][1] = value
    with pytest.raises(ValueError) as error:
        allocator.allocate(**inputs)
    assert str(error.value) == message


BAD_HOSTS = [
    ({"available": -1}, ValueError, "allocator: available = -1 is outside 0..1152921504606846976"),
    ({"host_free": 1.5}, TypeError, "allocator: host_free must be an integer (KiB), not float"),
    ({"state": 2}, ValueError, "allocator: state = 2 is not a PressureState (0 normal, 1 pressure)"),
    ({"tax_rate": 1.0}, ValueError, "allocator: tax_rate = 1.0 is outside [0.0, 1.0)"),
    ({"tax_rate": float("nan")}, ValueError, "allocator: tax_rate = nan is outside [0.0, 1.0)"),
    ({"step_cap": 0.0}, ValueError, "allocator: step_cap = 0.0 is outside (0.0, 1.0]"),
    ({"dead_band": "0.1"}, TypeError, "allocator: dead_band must be a number, not str"),
    ({"used": np.array([1.0, 2.0])}, TypeError, "allocator: used must be an array of integers, not float64"),
    ({"idle": np.zeros((2, 1), dtype=np.int64)}, TypeError, "allocator: idle must be a one-dimensional array, not 2-dimensional"),
    ({"priority": np.array([1, 2, 3])}, ValueError, "allocator: priority has 3 entries, balloon_max has 2"),
    ({"excluded": np.array([0.0, 1.0])}, TypeError, "allocator: excluded must be an array of bools, not float64"),
]


@pytest.mark.parametrize(("bad", "kind", "message"), BAD_HOSTS)
def test_bad_inputs_raise_the_same_errors(allocator, bad, kind, message):  # type: ignore[no-untyped-def]
    inputs = host([{}, {}], available=GIB)
    inputs.update(bad)
    with pytest.raises(kind) as error:
        allocator.allocate(**inputs)
    assert str(error.value) == message


def test_integer_excluded_and_other_integer_dtypes_are_taken(allocator):  # type: ignore[no-untyped-def]
    inputs = host([{}, {"excluded": True}], available=6 * GIB, host_free=0)
    plain = allocator.allocate(**inputs)
    converted = dict(inputs, excluded=np.array([0, 1], dtype=np.int8), priority=inputs["priority"].astype(np.uint8))
    again = allocator.allocate(**converted)
    assert np.array_equal(plain.target, again.target) and np.array_equal(plain.allocation, again.allocation)


def test_dead_band_skips_small_changes_but_not_one_back_to_the_floor(allocator):  # type: ignore[no-untyped-def]
    guests = [
        {"sla": "gold", "balloon_max": 3 * GIB, "guarantee": 3 * GIB, "current": 3 * GIB - 10},  # 10 KiB below its guarantee
        {"current": 4 * GIB - 10, "used": 0},  # 10 KiB below its share (its ceiling)
    ]
    inputs = host(guests, available=7 * GIB, host_free=10 * GIB, threshold=GIB, band=GIB, dead_band=0.01)
    result = allocator.allocate(**inputs)
    assert (result.target - inputs["current"]).tolist() == [10, 0]
    shrinking = host([{"current": 4 * GIB, "used": 0, "balloon_min": 0}], available=4 * GIB - 10, dead_band=0.01)
    assert allocator.allocate(**shrinking).target.tolist() == [4 * GIB]  # 10 KiB above its allocation: held
