"""Guests' fields read as columns and controls written for every guest at once: what
the SLA set's vectorized builtins (``sla_balloon``, ``sla_controls``, ``sla_cpu_quota``,
``sla_io_limits``) share.

A ``GuestSet`` (a class of kind ``KIND_ROWS``, mom.dsl.layout) is read straight from
the column store's newest samples, in one gather per call, and its controls are written
into the store's control columns; any other iterable of guests (the entities of
upstream's interface, the tests') through ``_policy_values`` as a policy reads them,
and ``Control`` called on each.  Either way a guest's controls keep the order a loop
``(with Guests guest ...)`` would have set them in (the store keeps it per row).
"""

from __future__ import annotations

from typing import Any, Iterable, NamedTuple

import numpy as np
import numpy.typing as npt

from mom.dsl.layout import (
    KIND_ROWS,
    POLICY_KIND,
    TAG_ABSENT,
    TAG_BOOL,
    TAG_FLOAT,
    TAG_INT,
    TAG_NONE,
    TAG_OBJECT,
    encode_cell,
)
from mom.dsl.sandbox import MISSING, policy_getattr
from mom.errors import PolicyError

__all__ = [
    "Numbers", "copy_controls", "decode_cells", "entity_cells", "gather_cells", "guest_list", "is_row_set", "numbers_of",
    "raw_rows", "row_values", "set_row_controls", "write_controls",
]  # fmt: skip

def is_row_set(guests: Any) -> bool:
    """Whether ``guests`` is the column store's set of rows (read without entities)."""
    return type(guests).__dict__.get(POLICY_KIND) == KIND_ROWS


def guest_list(guests: Any, builtin: str) -> list[Any]:
    """The guests of another iterable, as a list (a policy's ``Guests`` is one)."""
    if guests is None or isinstance(guests, (str, bytes, int, float)):
        raise PolicyError(f"{builtin}: the first argument must be the guests (Guests), not {guests!r}")
    return list(guests)


class Numbers(NamedTuple):
    """One field of every guest as numbers: ``values`` (float64; NaN where not a
    number), ``floats`` (the value is a float, not an int), ``absent`` (the guest has
    no such field: reading it fails), ``other`` (present but no number: None, a string)."""

    values: npt.NDArray[np.float64]
    floats: npt.NDArray[np.bool_]
    absent: npt.NDArray[np.bool_]
    other: npt.NDArray[np.bool_]


def gather_cells(
    latest_tags: Any, latest_payload: Any, count: Any, rows: npt.NDArray[np.intp], fields: npt.NDArray[np.intp]
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.int64]]:
    """The newest (tag, payload) of each of ``fields`` (-1: not declared) of each row,
    ``[field, row]``; TAG_ABSENT where undeclared or the row has no sample.  (The fast
    path has a Cython twin.)"""
    tags = np.full((len(fields), len(rows)), TAG_ABSENT, dtype=np.int8)
    payload = np.zeros((len(fields), len(rows)), dtype=np.int64)
    known = np.flatnonzero(fields >= 0)
    if len(known):
        # one gather for every field (two takes: faster than np.ix_)
        tags[known] = latest_tags.take(fields[known], axis=0).take(rows, axis=1)
        payload[known] = latest_payload.take(fields[known], axis=0).take(rows, axis=1)
        tags[:, count[rows] == 0] = TAG_ABSENT
    return tags, payload


def raw_rows(
    guests: Any, names: Iterable[str], gather: Any = gather_cells
) -> tuple[Any, npt.NDArray[np.intp], npt.NDArray[np.int8], npt.NDArray[np.int64]]:
    """The newest (tag, payload) of each field of ``names`` for each row of a GuestSet,
    ``[field, guest]``, TAG_ABSENT where a field is not declared or a row has no
    sample (``gather``: :func:`gather_cells` or its twin); and the store's column view
    and the rows."""
    rows = np.asarray(guests.rows, dtype=np.intp)
    view = guests.table.column_view()
    index = view.field_index
    fields = np.array([index.get(name, -1) for name in names], dtype=np.intp)
    tags, payload = gather(view.latest_tags, view.latest_payload, view.count, rows, fields)
    return view, rows, tags, payload


def entity_cells(entities: list[Any], names: tuple[str, ...]) -> tuple[list[Any], npt.NDArray[np.int8], npt.NDArray[np.int64]]:
    """What :func:`raw_rows` gives, for a list of entities: their fields' values
    (``[guest][field]``, MISSING where absent), and the cells the store would keep
    (TAG_OBJECT with payload 0 for an object: the values hold it)."""
    values = [row_values(guest, names) for guest in entities]
    tags = np.full((len(names), len(entities)), TAG_ABSENT, dtype=np.int8)
    payload = np.zeros((len(names), len(entities)), dtype=np.int64)
    for index, row in enumerate(values):
        for k, value in enumerate(row):
            if value is not MISSING:
                if isinstance(value, (np.integer, np.floating)):
                    value = value.item()
                elif isinstance(value, int) and type(value) not in (int, bool):
                    value = int(value)
                tags[k, index], payload[k, index] = encode_cell(value)
    return values, tags, payload


def numbers_of(tags: npt.NDArray[np.int8], payload: npt.NDArray[np.int64]) -> Numbers:
    """One field's cells (a row of :func:`raw_rows`) as :class:`Numbers`."""
    ints = (tags == TAG_INT) | (tags == TAG_BOOL)
    floats = tags == TAG_FLOAT
    values = np.where(floats, payload.view(np.float64), np.where(ints, payload, np.nan).astype(np.float64))
    absent = tags == TAG_ABSENT
    return Numbers(values, floats, absent, ~(ints | floats | absent))


def row_values(guest: Any, names: Iterable[str]) -> list[Any]:
    """A guest's fields as a policy reads them (MISSING where it has none)."""
    values = getattr(guest, "_policy_values", None)
    if type(values) is dict:
        return [values.get(name, MISSING) for name in names]
    return [policy_getattr(guest, name) for name in names]


def write_controls(
    control_tags: Any,
    control_payload: Any,
    control_order: Any,
    control_count: Any,
    rows: npt.NDArray[np.intp],
    column: int,
    tags: npt.NDArray[np.int8],
    payload: npt.NDArray[np.int64],
    control_objects: dict[tuple[int, int], Any],
) -> None:
    """The arrays' part of :func:`set_row_controls` (the fast path has a Cython twin)."""
    column_tags = control_tags[:, column]  # (views: one-dimensional indexing is cheaper)
    if control_objects:
        for row in rows[column_tags[rows] == TAG_OBJECT].tolist():
            control_objects.pop((row, column), None)
    column_tags[rows] = tags
    control_payload[:, column][rows] = payload
    order = control_order[:, column]
    fresh = rows[order[rows] == 0]
    control_count[fresh] += 1
    order[fresh] = control_count[fresh]


def set_row_controls(
    table: Any,
    rows: npt.NDArray[np.intp],
    name: str,
    tags: Any,
    payload: Any,
    objects: dict[int, Any] | None = None,
    write: Any = write_controls,
) -> None:
    """``Control(name, value)`` on each of ``rows`` (distinct) at once, as the store's
    ``set_control`` does one by one (mom.dsl.layout's ColumnView: tag, payload, the
    order first set in).  ``tags`` and ``payload``: one per row, or one for all;
    ``objects``: the values of TAG_OBJECT cells, by position in ``rows``; ``write``:
    :func:`write_controls` or its twin."""
    if not len(rows):
        return
    tags = np.full(len(rows), tags, dtype=np.int8) if np.ndim(tags) == 0 else np.ascontiguousarray(tags, dtype=np.int8)
    if np.ndim(payload) == 0:
        payload = np.full(len(rows), payload, dtype=np.int64)
    else:
        payload = np.ascontiguousarray(payload, dtype=np.int64)
    with table.lock:
        view = table.column_view()
        column = view.add_control(name)
        view = table.column_view()  # (the control arrays may be new ones)
        write(
            view.control_tags, view.control_payload, view.control_order, view.control_count,
            np.ascontiguousarray(rows, dtype=np.intp), column, tags, payload, view.control_objects,
        )  # fmt: skip
        if objects:
            for position, value in objects.items():
                view.control_objects[(int(rows[position]), column)] = value


def copy_controls(view: Any, rows: npt.NDArray[np.intp], fields: npt.NDArray[np.intp], columns: npt.NDArray[np.intp]) -> Any:
    """Each row's newest value of ``fields[k]`` into its control column ``columns[k]``,
    in that order, for every row (a value as it is, an object too); nothing, and
    (field position, row position) of the first row a loop would meet without one of
    the fields, if there is such a row, else None.  (The fast path has a Cython twin.)"""
    tags, payload = gather_cells(view.latest_tags, view.latest_payload, view.count, rows, fields)
    missing = np.argwhere(tags == TAG_ABSENT)
    if len(missing):
        k, position = missing[np.argmin(missing[:, 1])]
        return int(k), int(position)
    for k, column in enumerate(columns.tolist()):
        write_controls(
            view.control_tags, view.control_payload, view.control_order, view.control_count,
            rows, column, tags[k], payload[k], view.control_objects,
        )  # fmt: skip
        for position in np.flatnonzero(tags[k] == TAG_OBJECT).tolist():
            view.control_objects[(int(rows[position]), column)] = view.objects[int(payload[k, position])]
    return None


def decode_cells(view: Any, tags: npt.NDArray[np.int8], payload: npt.NDArray[np.int64]) -> list[Any]:
    """Cells (tag, payload) of the store as the values a policy reads; MISSING where absent."""
    values: list[Any] = payload.tolist()
    if not len(tags) or (tags == TAG_INT).all():
        return values
    if (tags == TAG_OBJECT).all():
        return list(map(view.objects.__getitem__, values))
    floats = payload.view(np.float64)
    for position in np.flatnonzero(tags != TAG_INT).tolist():
        tag = tags[position]
        if tag == TAG_OBJECT:
            values[position] = view.objects[values[position]]
        elif tag == TAG_FLOAT:
            values[position] = float(floats[position])
        elif tag == TAG_NONE:
            values[position] = None
        elif tag == TAG_BOOL:
            values[position] = bool(values[position])
        else:
            values[position] = MISSING
    return values
