"""Type stubs of the sample store's column helpers (mom/_fastpath/columns.pyx); the
references are ``SampleTable._encode_column``, ``store_columns`` and ``latest_objects``
(mom/runtime/table.py) and ``disks_unchanged`` / ``disks_maybe_changed`` (mom/plugins/collectors/io_tune.py) and
``field_columns`` / ``same_key_columns`` (mom/plugins/collectors/base.py)."""

from typing import Any

import numpy as np
import numpy.typing as npt

def encode_column(
    values: list[Any], tags: npt.NDArray[np.int8], payload: npt.NDArray[np.int64], missing: object
) -> list[int]: ...
def disks_unchanged(tunes: Any, states: Any) -> bool: ...
def disks_maybe_changed(tunes_column: list[Any], states_column: list[Any]) -> list[int]: ...
def samples_maybe_changed(collectors: Any) -> tuple[list[Any], list[int]]: ...
def field_columns(records: list[Any], keys: Any) -> list[list[Any]] | None: ...
def same_key_columns(samples: list[Any]) -> dict[Any, list[Any]] | None: ...
def store_columns(
    by_field: list[Any],
    names: list[str],
    tags: npt.NDArray[np.int8],
    payload: npt.NDArray[np.int64],
    latest_tags: npt.NDArray[np.int8],
    latest_payload: npt.NDArray[np.int64],
    head: npt.NDArray[np.int32],
    count: npt.NDArray[np.int32],
    rows: Any,
    objects: list[Any],
    bases: dict[int, int],
    cells: Any,
    missing: object,
) -> None: ...
def latest_objects(
    objects: list[Any],
    tags: npt.NDArray[np.int8],
    payload: npt.NDArray[np.int64],
    count: npt.NDArray[np.int32],
    rows: npt.NDArray[np.intp],
) -> list[Any] | None: ...

class LimitsStamp:
    """That a record's limits were found equal to their collected copy (valid while
    neither dict changes); kept in DiskIoTune's ``_stamp``, made by the walks only."""

def keep_stamps_in(descriptor: Any) -> None: ...
