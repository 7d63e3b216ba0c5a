"""The SLA memory allocator, fast twin of mom.sla.allocator (the specification).

Kernels over typed memoryviews, without the GIL; the wrapper checks its inputs with the
reference's shared checks and raises the same errors.  Floating-point work (shares,
water level) is the reference's, operation for operation, so results agree to the bit.
"""

from libc.math cimport INFINITY
from libc.stdint cimport int64_t, uint8_t
from libc.string cimport memcpy

cimport cython

import numpy as np

from mom.sla.allocator import (
    MAX_KIB as _MAX_KIB, MAX_PRIORITY as _MAX_PRIORITY, PLATINUM as _PLATINUM,
    Allocation, Mode, PressureState, check_host, coerce_columns, guest_error,
)

# the reference's limits, as C constants (a test pins that they agree)
cdef kib_t MAX_KIB = _MAX_KIB
cdef kib_t MAX_PRIORITY = _MAX_PRIORITY
cdef kib_t PLATINUM = _PLATINUM
N_SORT_BUCKETS = N_BUCKETS  # for the test that pins it
cdef int64_t INF_BITS = 0x7FF0000000000000  # the bit pattern of +inf

cdef enum:
    N_BUCKETS = 6464  # (PLATINUM + 1) * (MAX_PRIORITY + 1) sort buckets (a test pins it)
    MODE_HOLD = 0
    MODE_RECLAIM = 1
    MODE_RELEASE = 2
    STATE_NORMAL = 0
    STATE_PRESSURE = 1


cdef inline kib_t _min(kib_t a, kib_t b) noexcept nogil:
    return a if a < b else b


cdef inline kib_t _max(kib_t a, kib_t b) noexcept nogil:
    return a if a > b else b


cdef inline double _double(int64_t bits) noexcept nogil:
    cdef double value
    memcpy(&value, &bits, sizeof(double))
    return value


cdef idx_t _first_invalid(
    const kib_t[::1] balloon_max,
    const kib_t[::1] balloon_min,
    const kib_t[::1] guarantee,
    const kib_t[::1] used,
    const kib_t[::1] margin,
    const kib_t[::1] reclaim_rank,
    const kib_t[::1] priority,
    const kib_t[::1] idle,
    const kib_t[::1] current,
    int *field,
) noexcept nogil:
    # Preconditions: all columns of one length.
    cdef idx_t i
    cdef kib_t ceiling
    for i in range(balloon_max.shape[0]):
        ceiling = balloon_max[i]
        if not 0 <= ceiling <= MAX_KIB:
            field[0] = 0
        elif not 0 <= balloon_min[i] <= ceiling:
            field[0] = 1
        elif not balloon_min[i] <= guarantee[i] <= ceiling:
            field[0] = 2
        elif not 0 <= used[i] <= MAX_KIB:
            field[0] = 3
        elif not 0 <= margin[i] <= MAX_KIB:
            field[0] = 4
        elif not 0 <= reclaim_rank[i] <= PLATINUM:
            field[0] = 5
        elif not 0 <= priority[i] <= MAX_PRIORITY:
            field[0] = 6
        elif not 0 <= idle[i] <= MAX_KIB:
            field[0] = 7
        elif not 0 <= current[i] <= ceiling:
            field[0] = 8
        else:
            continue
        return i
    return -1


cdef inline idx_t _bucket(kib_t rank, kib_t priority, bint growth) noexcept nogil:
    cdef idx_t bucket = rank * (MAX_PRIORITY + 1) + priority
    return N_BUCKETS - 1 - bucket if growth else bucket


cdef void _order(
    const kib_t[::1] reclaim_rank,
    const kib_t[::1] priority,
    bint growth,
    idx_t[::1] order,
    idx_t[::1] starts,
) noexcept nogil:
    # Preconditions: ranks 0..PLATINUM, priorities 0..MAX_PRIORITY, equal lengths;
    # N_BUCKETS entries of scratch in `starts`.
    # A stable counting sort: by (rank, priority, index) for reclaim, by (-rank,
    # -priority, index) for growth, as the reference's sorted() keys.
    cdef idx_t i, bucket, total = 0, count
    for bucket in range(N_BUCKETS):
        starts[bucket] = 0
    for i in range(reclaim_rank.shape[0]):
        starts[_bucket(reclaim_rank[i], priority[i], growth)] += 1
    for bucket in range(N_BUCKETS):  # bucket sizes -> where each bucket starts
        count = starts[bucket]
        starts[bucket] = total
        total += count
    for i in range(reclaim_rank.shape[0]):
        bucket = _bucket(reclaim_rank[i], priority[i], growth)
        order[starts[bucket]] = i
        starts[bucket] += 1


cdef double _adjusted_shares(kib_t balloon_max, kib_t priority, kib_t idle, kib_t current, double tax_rate) noexcept nogil:
    # Preconditions: 0 <= tax_rate < 1, so 1 - tax_rate > 0; the idle fraction is only
    # divided by a positive current; 1 + (k - 1) * fraction >= 1.  Hence cdivision.
    cdef double k, idle_fraction = 0.0
    with cython.cdivision(True):
        k = 1.0 / (1.0 - tax_rate)
        if current > 0:
            idle_fraction = <double>_min(idle, current) / <double>current
        return <double>((priority + 1) * balloon_max) / (1.0 + (k - 1.0) * idle_fraction)


cdef inline kib_t _filled(double level, double shares, kib_t low, kib_t high) noexcept nogil:
    # The reference's _filled, branch-free: for low < wanted < high (so wanted > 0)
    # truncation is math.floor, and clamping the truncated value gives the ends.
    cdef double wanted = shares * level
    cdef double high_d = <double>high  # exact: KiB < 2**53
    cdef kib_t filled = <kib_t>(wanted if wanted < high_d else high_d)
    return filled if filled > low else low


cdef double _water_fill(
    const double[::1] shares, const kib_t[::1] floors, const kib_t[::1] ceilings, idx_t count, kib_t budget,
) noexcept nogil:
    # Preconditions: the first `count` floors add up to at most budget, the ceilings to more.
    # The reference's bisection over the doubles' bit patterns; columns compacted to the
    # shared guests so that each pass reads three arrays front to back.
    cdef int64_t low = 0, high = INF_BITS, middle
    cdef double level
    cdef kib_t total
    cdef idx_t j
    while high - low > 1:
        middle = low + ((high - low) >> 1)  # the reference's low + (high - low) // 2
        level = _double(middle)
        total = 0
        for j in range(count):
            total += _filled(level, shares[j], floors[j], ceilings[j])
        if total <= budget:
            low = middle
        else:
            high = middle
    return _double(low)


cdef PlanResult _plan(
    const kib_t[::1] balloon_max,
    const kib_t[::1] balloon_min,
    const kib_t[::1] guarantee,
    const kib_t[::1] used,
    const kib_t[::1] margin,
    const kib_t[::1] reclaim_rank,
    const kib_t[::1] priority,
    const kib_t[::1] idle,
    const kib_t[::1] current,
    const uint8_t[::1] excluded,
    const idx_t[::1] reclaim_order,
    HostInputs host,
    kib_t[::1] floors,
    kib_t[::1] allocation,
    kib_t[::1] shortfall,
    idx_t[::1] given_up,
    double[::1] shares,
    idx_t[::1] shared,
    kib_t[::1] packed_floors,
    kib_t[::1] packed_ceilings,
) noexcept nogil:
    # Preconditions: inputs checked (_first_invalid, check_host); outputs of the same length.
    cdef PlanResult result
    cdef idx_t n = balloon_max.shape[0], i, j, count = 0
    cdef kib_t fixed = 0, budget, need, cut, total_ceilings = 0
    result.unmet = 0
    result.given_up = 0
    # 1. floors; fixed guests first
    for i in range(n):
        shortfall[i] = 0
        if excluded[i]:
            floors[i] = current[i]
            allocation[i] = current[i]
        elif reclaim_rank[i] == PLATINUM:
            floors[i] = balloon_max[i]
            allocation[i] = balloon_max[i]
        else:
            floors[i] = _min(balloon_max[i], _max(_max(guarantee[i], balloon_min[i]), used[i] + margin[i]))
            shared[count] = i
            count += 1
            continue
        fixed += allocation[i]
    budget = host.available - fixed
    need = -budget
    for j in range(count):
        need += floors[shared[j]]

    if need > 0:
        # 3. give up floors above guarantees, then guarantees, in reclaim order
        result.level = 0.0
        for j in range(n):
            if need == 0:
                break
            i = reclaim_order[j]
            if excluded[i] or reclaim_rank[i] == PLATINUM:
                continue
            cut = _min(floors[i] - guarantee[i], need)
            floors[i] -= cut
            need -= cut
        for j in range(n):
            if need == 0:
                break
            i = reclaim_order[j]
            if excluded[i] or reclaim_rank[i] == PLATINUM:
                continue
            cut = _min(floors[i] - balloon_min[i], need)
            floors[i] -= cut
            need -= cut
        result.unmet = need
        for j in range(count):
            i = shared[j]
            allocation[i] = floors[i]
    else:
        # 2. shares above the floors, water-filled
        for j in range(count):
            total_ceilings += balloon_max[shared[j]]
        if total_ceilings <= budget:
            result.level = INFINITY
            for j in range(count):
                i = shared[j]
                allocation[i] = balloon_max[i]
        else:
            for j in range(count):
                i = shared[j]
                shares[j] = _adjusted_shares(balloon_max[i], priority[i], idle[i], current[i], host.tax_rate)
                packed_floors[j] = floors[i]
                packed_ceilings[j] = balloon_max[i]
            result.level = _water_fill(shares, packed_floors, packed_ceilings, count, budget)
            for j in range(count):
                allocation[shared[j]] = _filled(result.level, shares[j], packed_floors[j], packed_ceilings[j])

    for j in range(n):
        i = reclaim_order[j]
        if not excluded[i] and reclaim_rank[i] != PLATINUM and allocation[i] < guarantee[i]:
            shortfall[i] = guarantee[i] - allocation[i]
            given_up[result.given_up] = i
            result.given_up += 1
    return result


cdef MoveResult _move(
    const kib_t[::1] balloon_max,
    const kib_t[::1] reclaim_rank,
    const kib_t[::1] current,
    const uint8_t[::1] excluded,
    const idx_t[::1] reclaim_order,
    const idx_t[::1] growth_order,
    const kib_t[::1] floors,
    const kib_t[::1] allocation,
    HostInputs host,
    kib_t[::1] grown,
    kib_t[::1] target,
) noexcept nogil:
    # Preconditions: the plan's floors and allocation; all of one length.
    cdef MoveResult result
    cdef idx_t n = balloon_max.shape[0], i, j
    cdef kib_t wanted, excess, amount, step, dead, free_now, spare, deficit, room
    for i in range(n):
        target[i] = current[i]
        grown[i] = 0
    if host.host_free < host.threshold:
        result.mode = MODE_RECLAIM
        result.state = STATE_PRESSURE
        wanted = host.threshold + host.band - host.host_free
        for j in range(n):
            if wanted == 0:
                break
            i = reclaim_order[j]
            if excluded[i] or reclaim_rank[i] == PLATINUM:
                continue
            excess = current[i] - allocation[i]
            if excess <= 0:
                continue
            step = _max(1, <kib_t>(<double>balloon_max[i] * host.step_cap))
            dead = <kib_t>(<double>balloon_max[i] * host.dead_band)
            amount = _min(_min(excess, step), wanted)
            if amount < dead:
                continue
            target[i] = current[i] - amount
            wanted -= amount
        return result
    if host.host_free > host.threshold + host.band:
        result.mode = MODE_RELEASE
        result.state = STATE_NORMAL
    else:
        result.mode = MODE_HOLD
        result.state = host.state
    free_now = host.host_free - host.threshold
    spare = free_now
    for j in range(n):
        if spare == 0:
            break
        i = growth_order[j]
        if excluded[i]:
            continue
        deficit = floors[i] - current[i]
        if deficit <= 0:
            continue
        step = _max(1, <kib_t>(<double>balloon_max[i] * host.step_cap))
        dead = <kib_t>(<double>balloon_max[i] * host.dead_band)
        amount = _min(_min(deficit, step), spare)
        if amount < dead and amount < deficit:
            continue
        grown[i] = amount
        spare -= amount
    if result.mode == MODE_RELEASE:
        spare -= host.band
        for j in range(n):
            if spare <= 0:
                break
            i = growth_order[j]
            if excluded[i]:
                continue
            step = _max(1, <kib_t>(<double>balloon_max[i] * host.step_cap))
            dead = <kib_t>(<double>balloon_max[i] * host.dead_band)
            room = allocation[i] - current[i] - grown[i]
            amount = _min(_min(room, step - grown[i]), spare)
            if amount <= 0 or grown[i] + amount < dead:
                continue
            grown[i] += amount
            spare -= amount
    for i in range(n):
        target[i] = current[i] + grown[i]
    return result


def allocate(
    *,
    balloon_max,
    balloon_min,
    guarantee,
    used,
    margin,
    reclaim_rank,
    priority,
    idle,
    current,
    excluded,
    available,
    host_free,
    threshold,
    band,
    state,
    tax_rate=0.75,
    step_cap=0.05,
    dead_band=0.0025,
):
    """Every guest's balloon target for this cycle; see mom.sla.allocator.allocate."""
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
    checked = check_host(available, host_free, threshold, band, state, tax_rate, step_cap, dead_band)
    cdef HostInputs host
    host.available = checked.available
    host.host_free = checked.host_free
    host.threshold = checked.threshold
    host.band = checked.band
    host.state = checked.state
    host.tax_rate = checked.tax_rate
    host.step_cap = checked.step_cap
    host.dead_band = checked.dead_band

    cdef const kib_t[::1] ceilings = arrays[0]
    cdef const kib_t[::1] minimums = arrays[1]
    cdef const kib_t[::1] guarantees = arrays[2]
    cdef const kib_t[::1] used_ = arrays[3]
    cdef const kib_t[::1] margins = arrays[4]
    cdef const kib_t[::1] ranks = arrays[5]
    cdef const kib_t[::1] priorities = arrays[6]
    cdef const kib_t[::1] idles = arrays[7]
    cdef const kib_t[::1] currents = arrays[8]
    cdef const uint8_t[::1] excluded_ = arrays[9]
    cdef idx_t n = ceilings.shape[0], bad
    cdef int field = 0
    with nogil:
        bad = _first_invalid(ceilings, minimums, guarantees, used_, margins, ranks, priorities, idles, currents, &field)
    if bad >= 0:
        raise guest_error(field, bad, arrays)

    orders = np.empty((2, n), dtype=np.intp)
    buckets_array = np.empty(N_BUCKETS, dtype=np.intp)
    kib = np.empty((7, n), dtype=np.int64)  # floors, allocation, shortfall, grown, target, packed floors, ceilings
    given_up_array = np.empty(n, dtype=np.intp)
    shared_array = np.empty(n, dtype=np.intp)
    shares_array = np.empty(n, dtype=np.float64)
    cdef idx_t[::1] reclaim_order = orders[0]
    cdef idx_t[::1] growth_order = orders[1]
    cdef idx_t[::1] buckets = buckets_array
    cdef kib_t[::1] floors = kib[0]
    cdef kib_t[::1] allocation = kib[1]
    cdef kib_t[::1] shortfall = kib[2]
    cdef kib_t[::1] grown = kib[3]
    cdef kib_t[::1] target = kib[4]
    cdef kib_t[::1] packed_floors = kib[5]
    cdef kib_t[::1] packed_ceilings = kib[6]
    cdef idx_t[::1] given_up = given_up_array
    cdef idx_t[::1] shared = shared_array
    cdef double[::1] shares = shares_array
    cdef PlanResult plan
    cdef MoveResult moved
    with nogil:
        _order(ranks, priorities, False, reclaim_order, buckets)
        _order(ranks, priorities, True, growth_order, buckets)
        plan = _plan(
            ceilings, minimums, guarantees, used_, margins, ranks, priorities, idles, currents, excluded_,
            reclaim_order, host, floors, allocation, shortfall, given_up, shares, shared, packed_floors, packed_ceilings,
        )
        moved = _move(
            ceilings, ranks, currents, excluded_, reclaim_order, growth_order, floors, allocation, host, grown, target,
        )
    target_array = kib[4]
    current_array = arrays[8]
    return Allocation(
        target=target_array,
        shrink=target_array < current_array,
        grow=target_array > current_array,
        allocation=kib[1],
        shortfall=kib[2],
        given_up=given_up_array[:plan.given_up],
        unmet=plan.unmet,
        level=plan.level,
        mode=Mode(moved.mode),
        state=PressureState(moved.state),
    )
