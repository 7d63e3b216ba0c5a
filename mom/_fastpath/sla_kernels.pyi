"""Type stubs of the compiled SLA resource kernels (mom/_fastpath/sla_kernels.pyx); the
specification is mom.dsl.guest_columns.write_controls and mom.dsl.builtins_sla_resources.apply_disks."""

from typing import Any

import numpy.typing as npt

from mom.dsl.builtins_sla_resources import Kernels

def write_controls(
    control_tags: npt.NDArray[Any],
    control_payload: npt.NDArray[Any],
    control_order: npt.NDArray[Any],
    control_count: npt.NDArray[Any],
    rows: npt.NDArray[Any],
    column: int,
    tags: npt.NDArray[Any],
    payload: npt.NDArray[Any],
    control_objects: dict[tuple[int, int], Any],
) -> None: ...
def apply_disks(tunes: list[Any], bytes_caps: list[Any], iops_caps: list[Any], enabled: bool, unlimited: Any) -> int: ...

KERNELS: Kernels
