"""The SLA memory allocator, pure-Python reference: the specification of every balloon target.

Its twin is ``mom._fastpath.allocator`` (Cython), chosen in :mod:`mom._impl`
(``_impl.allocator``).  Both take NumPy columns (one entry per guest, KiB as int64) and
return the same :class:`Allocation`, to the bit; the types, limits, input checks and
error texts below are shared by both.

One call per policy cycle computes, for all guests at once:

1. **Floors and ceilings.**  A guest's floor is ``max(guarantee, balloon_min, used +
   margin)``, capped by its ceiling ``balloon_max``.  Platinum guests are fixed at
   ``balloon_max`` (never ballooned); excluded guests (a stuck balloon, no balloon
   statistics) are fixed at their current size.  Fixed guests are served first.
2. **Shares above the floors** when the floors fit in ``available``: every other guest
   gets ``clamp(floor(A * t), floor, ceiling)`` KiB for one water level ``t`` (the
   largest double for which the allocations add up to at most ``available``), where
   ``A`` are its adjusted shares, priority-weighted and taxed for idle memory (see
   :func:`adjusted_shares`).
3. **Giving floors up** when they do not fit: first what floors hold above guarantees,
   then guarantees down to ``balloon_min``, each in reclaim order (class vapor, compute,
   standard, gold, then lowest priority first, then guest index); platinum never.  The
   guests whose guarantee cannot be kept are reported in that order, with the KiB
   missing.
4. **Moving towards the allocation**, with hysteresis on the host's free memory: below
   ``threshold`` guests above their allocation shrink (in reclaim order, only as much as
   brings free memory back to ``threshold + band``); above ``threshold + band`` guests
   below their allocation grow (best class and priority first) from the memory free
   beyond ``threshold + band``; in between targets hold.  A guest below its floor grows
   back to it from any memory free above ``threshold`` (outside reclaim).  No guest
   moves by more than the step cap per cycle, and no change smaller than the dead band
   is made (except one that reaches the floor).
5. **Shrink before grow** (Xen squeezed's rule): growth is only ever paid from memory
   free now, never from balloons asked to shrink in the same cycle, so a cycle either
   shrinks or grows; the caller applies ``shrink`` targets before ``grow`` ones.
"""

from __future__ import annotations

import math
import operator
import struct
from enum import IntEnum
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = [
    "Allocation",
    "GUEST_COLUMNS",
    "Mode",
    "PressureState",
    "RANKS",
    "PLATINUM",
    "adjusted_shares",
    "allocate",
]

# ---- classes, limits ------------------------------------------------------------------

#: the rank of a class that is never reclaimed (platinum); ranks 0..PLATINUM - 1 are
#: reclaimed lowest first.  Classes with a configured reclaim order (mom.sla.classes)
#: map to ranks by the order's position among the configured ones.
PLATINUM = 63
#: the shipped classes' ranks
RANKS = {"vapor": 0, "compute": 1, "standard": 2, "gold": 3, "platinum": PLATINUM}
MAX_PRIORITY = 100
#: KiB bound of every per-guest quantity (16 PiB): keeps sums inside int64 for
#: MAX_GUESTS guests and every KiB exact as a double (below 2**53)
MAX_KIB = 2**44
MAX_GUESTS = 2**18
#: KiB bound of the host scalars (threshold + band stays inside int64)
MAX_HOST_KIB = 2**60
#: the bit pattern of +inf: the water level is searched over the doubles in [0, inf]
_INF_BITS = 0x7FF0000000000000


class PressureState(IntEnum):
    """The hysteresis state carried from one cycle to the next: the side last crossed."""

    NORMAL = 0  # free memory last seen above threshold + band (or never below threshold)
    PRESSURE = 1  # free memory last seen below threshold


class Mode(IntEnum):
    """What this cycle does, decided by where the host's free memory lies."""

    HOLD = 0  # threshold <= free <= threshold + band: targets hold (floors may be restored)
    RECLAIM = 1  # free < threshold: guests above their allocation shrink
    RELEASE = 2  # free > threshold + band: guests below their allocation grow


class Allocation(NamedTuple):
    """One cycle's result; arrays have one entry per guest, in input order."""

    target: npt.NDArray[np.int64]  # KiB: the balloon target to set (== current where unchanged)
    shrink: npt.NDArray[np.bool_]  # target < current: apply these first
    grow: npt.NDArray[np.bool_]  # target > current: apply after the shrinks
    allocation: npt.NDArray[np.int64]  # KiB: where the guest is headed (floors, shares)
    shortfall: npt.NDArray[np.int64]  # KiB of its guarantee the guest cannot be given
    given_up: npt.NDArray[np.intp]  # guests whose guarantee is not kept, in the order given up
    unmet: int  # KiB by which even balloon_min, platinum and excluded guests exceed `available`
    level: float  # the water level t (inf: every share at its ceiling; 0.0: floors did not fit)
    mode: Mode
    state: PressureState  # pass to the next cycle


#: the per-guest inputs, in the order they are checked
GUEST_COLUMNS = (
    "balloon_max",  # KiB, the ceiling
    "balloon_min",  # KiB, never below it
    "guarantee",  # KiB, the class guarantee resolved by the caller: balloon_min..balloon_max
    "used",  # KiB the guest uses now
    "margin",  # KiB of free memory the guest's class keeps above `used`
    "reclaim_rank",  # 0..PLATINUM: lower reclaimed first, PLATINUM never (RANKS: vapor 0 .. gold 3)
    "priority",  # 0..100
    "idle",  # KiB of guest memory unused now (the idle tax)
    "current",  # KiB, the balloon's size now: 0..balloon_max
    "excluded",  # bool: stuck balloon or no statistics; held at `current`
)

# ---- checks shared by both twins --------------------------------------------------------


def coerce_columns(columns: dict[str, Any]) -> list[npt.NDArray[Any]]:
    """The per-guest inputs as C-contiguous int64 arrays (``excluded`` as uint8 0/1).

    :raises TypeError: a column is not one-dimensional or not of integers (or bools).
    :raises ValueError: the columns differ in length, or there are too many guests.
    """
    arrays = []
    for name in GUEST_COLUMNS:
        array = np.asarray(columns[name])
        if array.ndim != 1:
            raise TypeError(f"allocator: {name} must be a one-dimensional array, not {array.ndim}-dimensional")
        if name == "excluded":
            if array.dtype.kind not in "biu":
                raise TypeError(f"allocator: {name} must be an array of bools, not {array.dtype}")
            arrays.append(np.ascontiguousarray(array != 0 if array.dtype.kind != "b" else array).view(np.uint8))
        else:
            if array.dtype.kind not in "iu":
                raise TypeError(f"allocator: {name} must be an array of integers, not {array.dtype}")
            arrays.append(np.ascontiguousarray(array, dtype=np.int64))
    n = len(arrays[0])
    for name, array in zip(GUEST_COLUMNS, arrays):
        if len(array) != n:
            raise ValueError(f"allocator: {name} has {len(array)} entries, balloon_max has {n}")
    if n > MAX_GUESTS:
        raise ValueError(f"allocator: {n} guests, at most {MAX_GUESTS}")
    return arrays


def _host_int(name: str, value: Any) -> int:
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"allocator: {name} must be an integer (KiB), not {type(value).__name__}") from None
    if not 0 <= number <= MAX_HOST_KIB:
        raise ValueError(f"allocator: {name} = {number} is outside 0..{MAX_HOST_KIB}")
    return number


def _host_fraction(name: str, value: Any, low: float, high: float, high_open: bool) -> float:
    if isinstance(value, (bool, str, bytes)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"allocator: {name} must be a number, not {type(value).__name__}")
    number = float(value)
    if not (low <= number < high if high_open else low <= number <= high):
        bracket = ")" if high_open else "]"
        raise ValueError(f"allocator: {name} = {number!r} is outside [{low!r}, {high!r}{bracket}")
    return number


class HostInputs(NamedTuple):
    """The host-level inputs, checked."""

    available: int
    host_free: int
    threshold: int
    band: int
    state: PressureState
    tax_rate: float
    step_cap: float
    dead_band: float


def check_host(
    available: Any,
    host_free: Any,
    threshold: Any,
    band: Any,
    state: Any,
    tax_rate: Any,
    step_cap: Any,
    dead_band: Any,
) -> HostInputs:
    """The host inputs as Python ints, floats and a :class:`PressureState`.

    :raises TypeError: a value of the wrong type.
    :raises ValueError: a value out of its range (KiB 0..2**60; tax_rate [0, 1);
        step_cap (0, 1]; dead_band [0, 1]; state one of :class:`PressureState`).
    """
    kib = [_host_int(name, value) for name, value in zip(("available", "host_free", "threshold", "band"), (available, host_free, threshold, band))]
    try:
        pressure = PressureState(operator.index(state))
    except (TypeError, ValueError):
        raise ValueError(f"allocator: state = {state!r} is not a PressureState (0 normal, 1 pressure)") from None
    tax = _host_fraction("tax_rate", tax_rate, 0.0, 1.0, True)
    step = _host_fraction("step_cap", step_cap, 0.0, 1.0, False)
    if step == 0.0:
        raise ValueError("allocator: step_cap = 0.0 is outside (0.0, 1.0]")
    dead = _host_fraction("dead_band", dead_band, 0.0, 1.0, False)
    return HostInputs(kib[0], kib[1], kib[2], kib[3], pressure, tax, step, dead)


def guest_bounds(field: int, index: int, columns: list[npt.NDArray[Any]]) -> tuple[int, int]:
    """The range allowed for ``GUEST_COLUMNS[field]`` of guest ``index``."""
    balloon_max = int(columns[0][index])
    balloon_min = int(columns[1][index])
    name = GUEST_COLUMNS[field]
    if name in ("balloon_min", "current"):
        return 0, balloon_max
    if name == "guarantee":
        return balloon_min, balloon_max
    if name == "reclaim_rank":
        return 0, PLATINUM
    if name == "priority":
        return 0, MAX_PRIORITY
    return 0, MAX_KIB


def guest_error(field: int, index: int, columns: list[npt.NDArray[Any]]) -> ValueError:
    """The error for guest ``index``'s value of ``GUEST_COLUMNS[field]``, out of range."""
    low, high = guest_bounds(field, index, columns)
    name = GUEST_COLUMNS[field]
    return ValueError(f"allocator: guest {index}: {name} = {int(columns[field][index])} is outside {low}..{high}")


def _first_invalid(columns: list[list[int]]) -> tuple[int, int] | None:
    """(guest, field) of the first value out of range, guest by guest, fields in order."""
    balloon_max, balloon_min, guarantee, used, margin, rank, priority, idle, current, _ = columns
    for i in range(len(balloon_max)):
        ceiling = balloon_max[i]
        checks = (
            0 <= ceiling <= MAX_KIB,
            0 <= balloon_min[i] <= ceiling,
            balloon_min[i] <= guarantee[i] <= ceiling,
            0 <= used[i] <= MAX_KIB,
            0 <= margin[i] <= MAX_KIB,
            0 <= rank[i] <= PLATINUM,
            0 <= priority[i] <= MAX_PRIORITY,
            0 <= idle[i] <= MAX_KIB,
            0 <= current[i] <= ceiling,
        )
        for field, ok in enumerate(checks):
            if not ok:
                return i, field
    return None


# ---- the allocation ---------------------------------------------------------------------


def adjusted_shares(balloon_max: int, priority: int, idle: int, current: int, tax_rate: float) -> float:
    """A guest's shares, priority-weighted and taxed for its idle memory.

    The idea is VMware ESX's idle memory tax (C. A. Waldspurger, "Memory Resource
    Management in VMware ESX Server", OSDI 2002, section 5.2): memory is reclaimed
    first from the guest with the fewest shares per page, where an idle page costs
    ``k = 1 / (1 - tax_rate)`` times an active one.  With an active fraction ``f``
    that ratio is ``S / (P * (f + k * (1 - f)))``, so a guest's adjusted shares are
    ``S / (1 + (k - 1) * idle_fraction)`` and the water-fill gives each guest memory
    in proportion to them.  Shares are ``(priority + 1) * balloon_max``: proportional
    to the guest's size (as ESX's defaults are), and a priority 0 still holds one.

    Both twins compute this with the same double operations in the same order.
    """
    k = 1.0 / (1.0 - tax_rate)
    idle_fraction = float(min(idle, current)) / float(current) if current > 0 else 0.0
    return float((priority + 1) * balloon_max) / (1.0 + (k - 1.0) * idle_fraction)


def _double(bits: int) -> float:
    return float(struct.unpack("<d", struct.pack("<q", bits))[0])


def _filled(level: float, shares: float, floor: int, ceiling: int) -> int:
    """A guest's KiB at water level ``level``."""
    wanted = shares * level
    if wanted <= floor:
        return floor
    if wanted >= ceiling:
        return ceiling
    return math.floor(wanted)


def _water_fill(guests: list[int], shares: list[float], floors: list[int], ceilings: list[int], budget: int) -> float:
    """The largest water level (a double) at which the guests' KiB add up to at most budget.

    Preconditions: the floors add up to at most ``budget``, the ceilings to more.

    Searched by bisection over the doubles' bit patterns (ordered as the doubles are
    for non-negative values), so the level is exact: one double further, the sum
    exceeds ``budget``.  Each guest's KiB rise by at most one between consecutive
    levels, which is what makes more shares never mean less memory.
    """
    low, high = 0, _INF_BITS  # sum(low) <= budget < sum(high)
    while high - low > 1:
        middle = low + (high - low) // 2
        level = _double(middle)
        total = 0
        for i in guests:
            total += _filled(level, shares[i], floors[i], ceilings[i])
        if total <= budget:
            low = middle
        else:
            high = middle
    return _double(low)


def allocate(
    *,
    balloon_max: npt.ArrayLike,
    balloon_min: npt.ArrayLike,
    guarantee: npt.ArrayLike,
    used: npt.ArrayLike,
    margin: npt.ArrayLike,
    reclaim_rank: npt.ArrayLike,
    priority: npt.ArrayLike,
    idle: npt.ArrayLike,
    current: npt.ArrayLike,
    excluded: npt.ArrayLike,
    available: int,
    host_free: int,
    threshold: int,
    band: int,
    state: PressureState | int,
    tax_rate: float = 0.75,
    step_cap: float = 0.05,
    dead_band: float = 0.0025,
) -> Allocation:
    """Every guest's balloon target for this cycle (the module docstring has the rules).

    :param balloon_max...excluded: per-guest columns, see :data:`GUEST_COLUMNS`.
    :param available: KiB the host can give its guests in all.
    :param host_free: KiB free on the host now.
    :param threshold: KiB; below it memory is reclaimed.
    :param band: KiB; memory is given back only above ``threshold + band``.
    :param state: the previous cycle's ``Allocation.state`` (``PressureState.NORMAL`` first).
    :param tax_rate: the idle memory tax, [0, 1).
    :param step_cap: the most a balloon moves per cycle, a fraction of ``balloon_max``.
    :param dead_band: smaller changes are not made, a fraction of ``balloon_max``.
    :raises TypeError: an input of the wrong type.
    :raises ValueError: an input out of range, naming the guest and the field.
    """
    arrays = coerce_columns(
        {
            "balloon_max": balloon_max,
            "balloon_min": balloon_min,
            "guarantee": guarantee,
            "used": used,
            "margin": margin,
            "reclaim_rank": reclaim_rank,
            "priority": priority,
            "idle": idle,
            "current": current,
            "excluded": excluded,
        }
    )
    host = check_host(available, host_free, threshold, band, state, tax_rate, step_cap, dead_band)
    columns = [array.tolist() for array in arrays]
    invalid = _first_invalid(columns)
    if invalid is not None:
        raise guest_error(invalid[1], invalid[0], arrays)
    ceilings, minimums, guarantees, used_, margins, ranks, priorities, idles, currents, excluded_ = columns
    n = len(ceilings)

    reclaim_order = sorted(range(n), key=lambda i: (ranks[i], priorities[i], i))
    growth_order = sorted(range(n), key=lambda i: (-ranks[i], -priorities[i], i))

    # 1. floors; fixed guests (excluded, platinum) are served first
    floors = [0] * n
    allocation = [0] * n
    fixed = 0
    shared = []  # the guests whose allocation the shares decide, in index order
    is_shared = [False] * n
    for i in range(n):
        if excluded_[i]:
            floors[i] = allocation[i] = currents[i]
        elif ranks[i] == PLATINUM:
            floors[i] = allocation[i] = ceilings[i]
        else:
            floors[i] = min(ceilings[i], max(guarantees[i], minimums[i], used_[i] + margins[i]))
            shared.append(i)
            is_shared[i] = True
            continue
        fixed += allocation[i]
    budget = host.available - fixed
    need = -budget
    for i in shared:
        need += floors[i]

    unmet = 0
    if need > 0:
        # 3. the floors do not fit: give up what they hold above guarantees, then
        # guarantees down to balloon_min, in reclaim order
        level = 0.0
        kept = floors[:]
        for i in reclaim_order:
            if need == 0:
                break
            if excluded_[i] or ranks[i] == PLATINUM:
                continue
            cut = min(kept[i] - guarantees[i], need)
            kept[i] -= cut
            need -= cut
        for i in reclaim_order:
            if need == 0:
                break
            if excluded_[i] or ranks[i] == PLATINUM:
                continue
            cut = min(kept[i] - minimums[i], need)
            kept[i] -= cut
            need -= cut
        unmet = need
        floors = kept
        for i in shared:
            allocation[i] = kept[i]
    else:
        # 2. shares above the floors, water-filled
        total_ceilings = 0
        for i in shared:
            total_ceilings += ceilings[i]
        if total_ceilings <= budget:
            level = math.inf
            for i in shared:
                allocation[i] = ceilings[i]
        else:
            shares = [0.0] * n
            for i in shared:
                shares[i] = adjusted_shares(ceilings[i], priorities[i], idles[i], currents[i], host.tax_rate)
            level = _water_fill(shared, shares, floors, ceilings, budget)
            for i in shared:
                allocation[i] = _filled(level, shares[i], floors[i], ceilings[i])

    shortfall = [0] * n
    given_up = []
    for i in reclaim_order:
        if is_shared[i] and allocation[i] < guarantees[i]:
            shortfall[i] = guarantees[i] - allocation[i]
            given_up.append(i)

    # 4. moving towards the allocation, with hysteresis
    steps = [max(1, int(ceilings[i] * host.step_cap)) for i in range(n)]
    dead = [int(ceilings[i] * host.dead_band) for i in range(n)]
    target = currents[:]
    if host.host_free < host.threshold:
        mode = Mode.RECLAIM
        new_state = PressureState.PRESSURE
        # reclaim only what brings free memory back to the top of the band
        wanted = host.threshold + host.band - host.host_free
        for i in reclaim_order:
            if wanted == 0:
                break
            if excluded_[i] or ranks[i] == PLATINUM:
                continue
            excess = currents[i] - allocation[i]
            if excess <= 0:
                continue
            amount = min(excess, steps[i], wanted)
            if amount < dead[i]:
                continue
            target[i] = currents[i] - amount
            wanted -= amount
    else:
        if host.host_free > host.threshold + host.band:
            mode = Mode.RELEASE
            new_state = PressureState.NORMAL
        else:
            mode = Mode.HOLD
            new_state = host.state
        # 5. growth only from memory free now; floors first, from anything above threshold
        free_now = host.host_free - host.threshold
        spare = free_now
        grown = [0] * n
        for i in growth_order:
            if spare == 0:
                break
            if excluded_[i]:
                continue
            deficit = floors[i] - currents[i]
            if deficit <= 0:
                continue
            amount = min(deficit, steps[i], spare)
            if amount < dead[i] and amount < deficit:
                continue
            grown[i] = amount
            spare -= amount
        if mode == Mode.RELEASE:
            # shares only from memory free beyond the band (less what the floors took)
            spare -= host.band
            for i in growth_order:
                if spare <= 0:
                    break
                if excluded_[i]:
                    continue
                room = allocation[i] - currents[i] - grown[i]
                amount = min(room, steps[i] - grown[i], spare)
                if amount <= 0 or grown[i] + amount < dead[i]:
                    continue
                grown[i] += amount
                spare -= amount
        for i in range(n):
            target[i] = currents[i] + grown[i]

    target_array = np.array(target, dtype=np.int64)
    current_array = arrays[8]
    return Allocation(
        target=target_array,
        shrink=target_array < current_array,
        grow=target_array > current_array,
        allocation=np.array(allocation, dtype=np.int64),
        shortfall=np.array(shortfall, dtype=np.int64),
        given_up=np.array(given_up, dtype=np.intp),
        unmet=unmet,
        level=level,
        mode=mode,
        state=new_state,
    )
