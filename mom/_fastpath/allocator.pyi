"""Type stubs of the compiled SLA allocator (mom/_fastpath/allocator.pyx); the reference is mom.sla.allocator."""

import numpy.typing as npt

from mom.sla.allocator import Allocation, PressureState

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
) -> Allocation: ...
