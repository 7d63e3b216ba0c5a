# The SLA allocator's kernels (allocator.pyx); the specification is mom/sla/allocator.py.
# Every per-guest column is indexed by guest, in input order.

from libc.stdint cimport int64_t, uint8_t

ctypedef int64_t kib_t
ctypedef Py_ssize_t idx_t

# ---- the host's inputs, checked by mom.sla.allocator.check_host --------------------------

cdef struct HostInputs:
    kib_t available                   # KiB the guests may have in all
    kib_t host_free                   # KiB free on the host now
    kib_t threshold                   # KiB: reclaim below it
    kib_t band                        # KiB: release only above threshold + band
    int state                         # PressureState of the previous cycle
    double tax_rate                   # idle memory tax, [0, 1)
    double step_cap                   # most a balloon moves per cycle, fraction of balloon_max, (0, 1]
    double dead_band                  # smaller changes are not made, fraction of balloon_max, [0, 1]

# ---- what the plan leaves besides its arrays --------------------------------------------

cdef struct PlanResult:
    kib_t unmet                       # KiB the fixed guests and balloon_min floors exceed `available` by
    double level                      # the water level (inf: all at ceilings; 0.0: floors did not fit)
    idx_t given_up                    # guests whose guarantee is not kept (first entries of `given_up`)

cdef struct MoveResult:
    int mode                          # Mode of this cycle
    int state                         # PressureState for the next cycle

# ---- kernels ------------------------------------------------------------------------------

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
) noexcept nogil

cdef void _order(
    const kib_t[::1] reclaim_rank,
    const kib_t[::1] priority,
    bint growth,
    idx_t[::1] order,
    idx_t[::1] starts,                    # scratch: N_BUCKETS entries
) noexcept nogil

cdef double _adjusted_shares(kib_t balloon_max, kib_t priority, kib_t idle, kib_t current, double tax_rate) noexcept nogil

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
    double[::1] shares,                   # scratch: adjusted shares of the shared guests, packed
    idx_t[::1] shared,                    # scratch: the shared guests' indices
    kib_t[::1] packed_floors,             # scratch: their floors, packed
    kib_t[::1] packed_ceilings,           # scratch: their ceilings, packed
) noexcept nogil

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
) noexcept nogil
