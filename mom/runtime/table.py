"""Column-wise statistics of many monitored objects: the store the policy engine reads.

A :class:`SampleTable` keeps, for every row (the host, or one guest) and every field, the
last ``history`` samples in a ring: an int8 tag and an int64 payload per value (floats
are stored as their bits).  Values that are not None, bool, int64 or float (big ints,
strings, IO-tune lists) are kept aside in a list.  Nothing per guest is a Python dict, so
a policy evaluation over a thousand guests walks arrays, not objects; the Cython fast
path reads the arrays directly.

:class:`RowEntity` is the upstream :class:`~mom.runtime.entity.Entity` interface over
one row (what policies, controllers and the RPC see), and :class:`GuestSet` the
``Guests`` a policy iterates.  A field missing from a sample is *absent* (as a key
missing from upstream's sample dict), which is not the same as None.  Policies see only
the fields the collectors declare (:meth:`SampleTable.declare`); other keys a collector
returns stay in the samples, as upstream keeps them in ``statistics``.
"""

from __future__ import annotations

import collections
import sys
import threading
from itertools import repeat
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np

from mom._impl import IMPLEMENTATION
from mom.dsl.layout import (
    KIND_ROW,
    KIND_ROWS,
    TAG_ABSENT,
    TAG_BOOL,
    TAG_FLOAT,
    TAG_INT,
    TAG_NONE,
    TAG_OBJECT,
    ColumnView,
    decode_cell,
    encode_cell,
)
from mom.dsl.sandbox import MISSING
from mom.runtime.entity import Entity

__all__ = [
    "SampleTable",
    "RowEntity",
    "RowSamples",
    "GuestSet",
    "TAG_NONE",
    "TAG_BOOL",
    "TAG_INT",
    "TAG_FLOAT",
    "TAG_OBJECT",
    "TAG_ABSENT",
]


_NONE_TYPE = type(None)
_MISSING_TYPE = type(MISSING)


def _locked(method: Any) -> Any:
    """Run a SampleTable method holding the table's lock."""

    def locked(self: SampleTable, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            return method(self, *args, **kwargs)

    locked.__name__ = method.__name__
    locked.__doc__ = method.__doc__
    return locked


class SampleTable:
    """Rows of sample histories, one ring of ``history`` slots per (row, field)."""

    def __init__(self, fields: Iterable[str] = (), history: int = 10, capacity: int = 8) -> None:
        if history < 1:
            raise ValueError("history must be at least 1")
        self.history = history
        #: held while rows or fields change, and while a policy reads the arrays
        #: (the fast path keeps raw pointers into them for one evaluation)
        self.lock = threading.RLock()
        self.fields: list[str] = []
        self.field_index: dict[str, int] = {}
        #: the fields the collectors declared (see declare); None: none declared yet
        self.declared: frozenset[str] | None = None
        #: what policies may read, as a set and as name -> field (the fast path's
        #: lookup): the declared fields, or every field while none are declared
        self.policy_fields: frozenset[str] = frozenset()
        self.policy_field_index: dict[str, int] = self.field_index
        # the rings, field-major ([field, row, slot]): a policy's pass over the guests
        # reads a field's history row after row, a walk through contiguous memory
        self.tags = np.full((0, capacity, history), TAG_ABSENT, dtype=np.int8)
        self.payload = np.zeros((0, capacity, history), dtype=np.int64)
        # the newest sample again, field-major too: what most policy reads want
        self.latest_tags = np.full((0, capacity), TAG_ABSENT, dtype=np.int8)
        self.latest_payload = np.zeros((0, capacity), dtype=np.int64)
        #: the slot of each row's newest sample, and how many samples it has
        self.head = np.zeros(capacity, dtype=np.int32)
        self.count = np.zeros(capacity, dtype=np.int32)
        #: values that are not None/bool/int64/float; an object cell's payload is its
        #: index here (a list, so the VM reads it without hashing).  Each field that ever
        #: held one has a block of cells, one per (row, ring slot): a value's cell is
        #: known without a free list, and a sample's objects go when its slot is reused
        self.objects: list[Any] = []
        #: field -> the first cell of its block (row ``r``, slot ``s``: + r * history + s)
        self._object_base: dict[int, int] = {}
        self.names: list[str | None] = [None] * capacity
        self.properties: list[dict[str, Any]] = [{} for _ in range(capacity)]
        self.variables: list[dict[str, Any]] = [{} for _ in range(capacity)]
        # controls the policy set, one column per control name: tag and payload as
        # for samples, plus the order each was first set in (a dict's key order)
        self.control_names: list[str] = []
        self.control_index: dict[str, int] = {}
        self.control_tags = np.full((capacity, 4), TAG_ABSENT, dtype=np.int8)
        self.control_payload = np.zeros((capacity, 4), dtype=np.int64)
        self.control_order = np.zeros((capacity, 4), dtype=np.int32)
        self.control_count = np.zeros(capacity, dtype=np.int32)
        self.control_objects: dict[tuple[int, int], Any] = {}
        self._views: list[RowEntity | None] = [None] * capacity
        self._free = list(range(capacity - 1, -1, -1))
        #: bumped by every change, so views know when to refresh
        self.generation = 0
        #: bumped when a row is added or removed (readers keep lists of rows by it)
        self.rows_version = 0
        for name in fields:
            self.add_field(name)

    # ## Shape

    @property
    def capacity(self) -> int:
        return len(self.head)

    @_locked
    def add_field(self, name: str) -> int:
        """Declare a field (idempotent); its past samples are absent."""
        index = self.field_index.get(name)
        if index is not None:
            return index
        index = len(self.fields)
        name = sys.intern(name)  # looked up by policies' (interned) names
        self.fields.append(name)
        self.field_index[name] = index
        if self.declared is None:
            self.policy_fields = frozenset(self.fields)
        self.tags = np.concatenate([self.tags, np.full((1, self.capacity, self.history), TAG_ABSENT, dtype=np.int8)])
        self.payload = np.concatenate([self.payload, np.zeros((1, self.capacity, self.history), dtype=np.int64)])
        self.latest_tags = np.concatenate([self.latest_tags, np.full((1, self.capacity), TAG_ABSENT, dtype=np.int8)])
        self.latest_payload = np.concatenate([self.latest_payload, np.zeros((1, self.capacity), dtype=np.int64)])
        self.generation += 1
        return index

    @_locked
    def declare(self, names: Iterable[str]) -> None:
        """Fields that collectors declare (upstream's ``valid_fields``): from now on the
        only ones policies see.  A collector's other keys stay in the samples.

        Monitors sharing the table add their fields up (every guest has the same
        collectors).  Declared fields exist from now on, absent until sampled.
        """
        declared = frozenset(names) | (self.declared or frozenset())
        for name in sorted(declared):
            self.add_field(name)
        self.declared = self.policy_fields = declared
        self.policy_field_index = {name: field for field, name in enumerate(self.fields) if name in declared}
        self.generation += 1

    def _grow(self) -> None:
        old = self.capacity
        new = max(8, old * 2)
        fields = len(self.fields)
        self.tags = np.ascontiguousarray(
            np.concatenate([self.tags, np.full((fields, new - old, self.history), TAG_ABSENT, dtype=np.int8)], axis=1)
        )
        self.payload = np.ascontiguousarray(
            np.concatenate([self.payload, np.zeros((fields, new - old, self.history), dtype=np.int64)], axis=1)
        )
        self.latest_tags = np.ascontiguousarray(
            np.concatenate([self.latest_tags, np.full((fields, new - old), TAG_ABSENT, dtype=np.int8)], axis=1)
        )
        self.latest_payload = np.ascontiguousarray(
            np.concatenate([self.latest_payload, np.zeros((fields, new - old), dtype=np.int64)], axis=1)
        )
        self.head = np.concatenate([self.head, np.zeros(new - old, dtype=np.int32)])
        self.count = np.concatenate([self.count, np.zeros(new - old, dtype=np.int32)])
        self.names.extend([None] * (new - old))
        self.properties.extend({} for _ in range(new - old))
        self.variables.extend({} for _ in range(new - old))
        columns = self.control_tags.shape[1]
        self.control_tags = np.concatenate(
            [self.control_tags, np.full((new - old, columns), TAG_ABSENT, dtype=np.int8)]
        )
        self.control_payload = np.concatenate([self.control_payload, np.zeros((new - old, columns), dtype=np.int64)])
        self.control_order = np.concatenate([self.control_order, np.zeros((new - old, columns), dtype=np.int32)])
        self.control_count = np.concatenate([self.control_count, np.zeros(new - old, dtype=np.int32)])
        self._views.extend([None] * (new - old))
        self._free.extend(range(new - 1, old - 1, -1))
        self._grow_object_cells(old, new)

    def _grow_object_cells(self, old: int, new: int) -> None:
        """Each block of object cells widened to ``new`` rows; the payloads that named
        a cell of the old layout name the same value's cell in the new one."""
        history = self.history
        objects: list[Any] = []
        for field, base in sorted(self._object_base.items(), key=lambda item: item[1]):
            block = self.objects[base : base + old * history]
            shift = len(objects) - base
            objects.extend(block)
            objects.extend([None] * ((new - old) * history))
            self._object_base[field] = base + shift
            if shift:
                for tags, payload in (
                    (self.tags[field], self.payload[field]),
                    (self.latest_tags[field], self.latest_payload[field]),
                ):
                    payload[tags == TAG_OBJECT] += shift
        self.objects = objects

    @_locked
    def add_row(self, name: str | None = None, properties: Mapping[str, Any] | None = None) -> int:
        """A new empty row (no samples)."""
        if not self._free:
            self._grow()
        row = self._free.pop()
        self.names[row] = name
        self.properties[row] = dict(properties or {})
        self.variables[row] = {}
        self.clear_controls([row])
        self.count[row] = 0
        self.head[row] = self.history - 1
        self.tags[:, row] = TAG_ABSENT
        self.latest_tags[:, row] = TAG_ABSENT
        self.generation += 1
        self.rows_version += 1
        return row

    def _object_cells(self, field: int) -> int:
        """The first cell of a field's block of object cells (added if it has none)."""
        base = self._object_base.get(field)
        if base is None:
            base = self._object_base[field] = len(self.objects)
            self.objects.extend([None] * (self.capacity * self.history))
        return base

    def _release_objects(self, row: int) -> None:
        """Free the object cells of a row (every slot of every block)."""
        history = self.history
        for base in self._object_base.values():
            start = base + row * history
            self.objects[start : start + history] = [None] * history

    @_locked
    def remove_row(self, row: int) -> None:
        # the rings are left as they are: nothing reads a row's slots past its count
        # (add_row resets them all the same)
        self._release_objects(row)
        self.names[row] = None
        self.properties[row] = {}
        self.clear_controls([row])
        self._views[row] = None
        self.count[row] = 0
        self._free.append(row)
        self.generation += 1
        self.rows_version += 1

    # ## Samples

    @_locked
    def append(self, row: int, sample: Mapping[str, Any]) -> None:
        """Store a new sample; the oldest one falls out once the ring is full.

        Unknown fields are declared on the way (upstream keeps them in the sample).
        """
        field_index = self.field_index
        for name in sample:
            if name not in field_index:
                self.add_field(name)
        # the new slot's column built as two lists, stored with one numpy call per
        # array (this runs for every guest every round: per-field stores cost twice)
        width = len(self.fields)
        tags = [TAG_ABSENT] * width
        payload = [0] * width
        slot = (int(self.head[row]) + 1) % self.history
        self.head[row] = slot
        if self.count[row] < self.history:
            self.count[row] += 1
        offset = row * self.history + slot
        for base in self._object_base.values():
            self.objects[base + offset] = None  # the oldest sample's, once the ring is full
        for name, value in sample.items():
            field = field_index[name]
            tag, bits = encode_cell(value)
            if tag == TAG_OBJECT:
                bits = self._object_cells(field) + offset
                self.objects[bits] = value
            tags[field] = tag
            payload[field] = bits
        # each list converted once, into the ring; the newest copied from there (an
        # array-to-array copy: quicker than converting the lists again)
        self.tags[:, row, slot] = tags
        self.payload[:, row, slot] = payload
        self.latest_tags[:, row] = self.tags[:, row, slot]
        self.latest_payload[:, row] = self.payload[:, row, slot]
        self.generation += 1

    @_locked
    def append_columns(self, rows: Sequence[int], columns: Mapping[str, Sequence[Any]]) -> None:
        """One new sample for each of ``rows`` at once, given field by field:
        ``columns[name][k]`` is row ``rows[k]``'s value, :data:`MISSING` where absent.

        The same samples as :meth:`append` called row after row, stored in one pass per
        field instead of several calls per row (a batched collection round).
        """
        if not len(rows):
            return
        field_index = self.field_index
        for name in columns:
            if name not in field_index:
                self.add_field(name)
        by_field: list[Any] = [None] * len(self.fields)  # None: a field this round lacks
        for name, values in columns.items():
            by_field[field_index[name]] = values
        _store_columns(
            by_field, self.fields, self.tags, self.payload, self.latest_tags, self.latest_payload,
            self.head, self.count, rows, self.objects, self._object_base, self._object_cells, MISSING,
        )  # fmt: skip
        self.generation += 1

    @staticmethod
    def _encode_column(
        values: Sequence[Any], tags: np.ndarray, payload: np.ndarray, missing: Any = MISSING
    ) -> list[int]:
        """Encode one field's values into ``tags`` and ``payload`` (in place); the
        positions of object values (their payload is the caller's to set).  The
        reference of mom/_fastpath/columns.pyx's ``encode_column``."""
        kinds = set(map(type, values))
        if len(kinds) == 1:
            kind = next(iter(kinds))
            if kind is _NONE_TYPE:
                tags[:] = TAG_NONE
                return []
            if kind is _MISSING_TYPE:
                return []
        try:
            if kinds == {int}:
                payload[:] = np.array(values, dtype=np.int64)  # OverflowError past int64
                tags[:] = TAG_INT
                return []
            if kinds == {float}:
                payload[:] = np.array(values, dtype=np.float64).view(np.int64)
                tags[:] = TAG_FLOAT
                return []
        except OverflowError:
            pass
        objects = []
        for position, value in enumerate(values):
            if value is missing:
                continue  # absent: the column's initial tag
            tag, bits = encode_cell(value)
            tags[position] = tag
            if tag == TAG_OBJECT:
                objects.append(position)
            else:
                payload[position] = bits
        return objects

    def latest_column(self, rows: Sequence[int], name: str) -> list[Any]:
        """The newest value of a field for each of ``rows`` (MISSING where absent)."""
        field = self.field_index.get(name)
        if field is None:
            return [MISSING] * len(rows)
        index = np.ascontiguousarray(rows, dtype=np.intp)
        objects = self.objects
        # a column of objects (IO-tune records): their cells in one pass
        found = _latest_objects(objects, self.latest_tags[field], self.latest_payload[field], self.count, index)
        if found is not None:
            return found
        tags = self.latest_tags[field, index]
        counts = self.count[index]
        tags = tags.tolist()
        payload = self.latest_payload[field, index].tolist()
        counts = counts.tolist()
        return [
            decode_cell(tag, bits, objects, bits) if counted else MISSING
            for tag, bits, counted in zip(tags, payload, counts)
        ]

    def slots(self, row: int) -> list[int]:
        """Ring slots of a row's samples, oldest first."""
        count = int(self.count[row])
        head = int(self.head[row])
        return [(head - count + 1 + k) % self.history for k in range(count)]

    def latest(self, row: int, name: str) -> Any:
        """The newest value of a field, or MISSING if absent (or no samples)."""
        field = self.field_index.get(name)
        if field is None or not self.count[row]:
            return MISSING
        payload = int(self.latest_payload[field, row])
        return decode_cell(int(self.latest_tags[field, row]), payload, self.objects, payload)

    def sample(self, row: int, slot: int) -> dict[str, Any]:
        """One sample as upstream's dict (absent fields left out)."""
        tags = self.tags[:, row, slot].tolist()
        payload = self.payload[:, row, slot].tolist()
        objects = self.objects
        result = {}
        for field, name in enumerate(self.fields):
            value = decode_cell(tags[field], payload[field], objects, payload[field])
            if value is not MISSING:
                result[name] = value
        return result

    def history_of(self, row: int, name: str) -> list[Any]:
        """A field's values oldest first; absent counts as None (upstream's ``row.get``)."""
        field = self.field_index[name]
        tags = self.tags[field, row].tolist()  # the whole ring at once
        payload = self.payload[field, row].tolist()
        objects = self.objects
        values = []
        for slot in self.slots(row):
            value = decode_cell(tags[slot], payload[slot], objects, payload[slot])
            values.append(None if value is MISSING else value)
        return values

    # ## Controls

    @_locked
    def control_column(self, name: str) -> int:
        """The column of a control name, added (and the arrays widened) if new."""
        column = self.control_index.get(name)
        if column is not None:
            return column
        column = len(self.control_names)
        if column == self.control_tags.shape[1]:
            rows = self.capacity
            self.control_tags = np.concatenate(
                [self.control_tags, np.full((rows, column), TAG_ABSENT, dtype=np.int8)], axis=1
            )
            self.control_payload = np.concatenate(
                [self.control_payload, np.zeros((rows, column), dtype=np.int64)], axis=1
            )
            self.control_order = np.concatenate([self.control_order, np.zeros((rows, column), dtype=np.int32)], axis=1)
        self.control_names.append(name)
        self.control_index[name] = column
        return column

    @_locked
    def set_control(self, row: int, name: str, value: Any) -> None:
        """``Entity.Control``: what the controllers will apply to this row."""
        column = self.control_column(name)
        self.control_objects.pop((row, column), None)
        tag, payload = encode_cell(value)
        self.control_tags[row, column] = tag
        self.control_payload[row, column] = payload
        if tag == TAG_OBJECT:
            self.control_objects[(row, column)] = value
        if self.control_order[row, column] == 0:
            self.control_count[row] += 1
            self.control_order[row, column] = self.control_count[row]

    def _control_value(self, row: int, column: int) -> Any:
        tag = int(self.control_tags[row, column])
        return decode_cell(tag, int(self.control_payload[row, column]), self.control_objects, (row, column))

    def get_control(self, row: int, name: str) -> Any:
        """``Entity.GetControl``: the control's value, None if not set."""
        column = self.control_index.get(name)
        if column is None:
            return None
        value = self._control_value(row, column)
        return None if value is MISSING else value

    def controls_of(self, row: int) -> dict[str, Any]:
        """A row's controls as upstream's ``entity.controls``, in the order first set."""
        present = [
            (int(self.control_order[row, column]), name)
            for column, name in enumerate(self.control_names)
            if self.control_tags[row, column] != TAG_ABSENT
        ]
        return {name: self._control_value(row, self.control_index[name]) for _order, name in sorted(present)}

    def rows_with_control(self, rows: Sequence[int], name: str) -> np.ndarray:
        """Those of ``rows`` whose control ``name`` is set (in order), without a view of any."""
        column = self.control_index.get(name)
        index = np.asarray(rows, dtype=np.intp)
        if column is None or not len(index):
            return index[:0]
        return index[self.control_tags[index, column] != TAG_ABSENT]

    @_locked
    def clear_controls(self, rows: Iterable[int] | None = None) -> None:
        """Forget the controls (each policy evaluation starts without any)."""
        if rows is None:
            self.control_tags[:] = TAG_ABSENT
            self.control_order[:] = 0
            self.control_count[:] = 0
            self.control_objects.clear()
            return
        index = np.asarray(rows if isinstance(rows, np.ndarray) else list(rows), dtype=np.intp)
        self.control_tags[index] = TAG_ABSENT
        self.control_order[index] = 0
        self.control_count[index] = 0
        if self.control_objects:
            cleared = set(index.tolist())
            for key in [key for key in self.control_objects if key[0] in cleared]:
                del self.control_objects[key]

    # ## Views

    def view(self, row: int) -> RowEntity:
        """The (cached) entity of a row."""
        view = self._views[row]
        if view is None:
            view = self._views[row] = RowEntity(self, row)
        return view

    def column_view(self) -> ColumnView:
        """The arrays as the fast path reads them (see :class:`mom.dsl.layout.ColumnView`)."""
        return ColumnView(
            self.tags, self.payload, self.latest_tags, self.latest_payload, self.head, self.count, self.objects,
            self.policy_field_index, self.control_tags, self.control_payload, self.control_order, self.control_count,
            self.control_index, self.control_objects, self.control_column,
        )  # fmt: skip

    def nbytes(self) -> int:
        """Bytes of the sample arrays (the controls not included)."""
        arrays = (self.tags, self.payload, self.latest_tags, self.latest_payload, self.head, self.count)
        return int(sum(array.nbytes for array in arrays))


def store_columns(
    by_field: list[Any],
    names: list[str],
    tags: np.ndarray,
    payload: np.ndarray,
    latest_tags: np.ndarray,
    latest_payload: np.ndarray,
    head: np.ndarray,
    count: np.ndarray,
    rows: Sequence[int],
    objects: list[Any],
    bases: dict[int, int],
    cells: Any,
    missing: Any = MISSING,
) -> None:
    """A batched round's samples stored: ``by_field[field]`` the values of a field (one
    per row of ``rows``; ``missing`` where absent) or None (absent for every row), each
    row's ring moved on a slot (``head``, ``count``) and the new slot, and the newest
    cells, written for every field.  ``objects`` holds the values kept aside, ``bases``
    the first cell of each field's block there, ``cells(field)`` makes a field's block;
    an object a sample drops (its slot reused) leaves its cell.  A column of the wrong
    length is a ValueError before anything is stored.

    The reference of mom/_fastpath/columns.pyx's ``store_columns`` (numpy: the new
    column built aside, then scattered into the four arrays).
    """
    total = len(rows)
    by_field = list(by_field)  # the caller's list left as it was
    for field, values in enumerate(by_field):
        if values is not None:
            if type(values) is not list:
                values = by_field[field] = list(values)
            if len(values) != total:
                raise ValueError(f"column {names[field]!r} has {len(values)} values for {total} rows")
    if not total:
        return
    history = tags.shape[2]
    index = np.asarray(rows, dtype=np.intp)
    slots = (head[index] + 1) % history
    head[index] = slots
    count[index] = np.minimum(count[index] + 1, history)
    # each row's new slot's place in a block of object cells
    offsets = np.where(index < 0, index + tags.shape[1], index) * history + slots
    where = _cells_of(index, slots)
    for field, base in bases.items():  # the oldest samples' objects, once the rings are full
        held = tags[(field, *where)] == TAG_OBJECT
        if held.any():
            # one C-level pass (no numpy scalar, no Python loop, per cell)
            collections.deque(map(objects.__setitem__, (offsets[held] + base).tolist(), repeat(None)), 0)
    new_tags = np.full((len(by_field), total), TAG_ABSENT, dtype=np.int8)
    new_payload = np.zeros((len(by_field), total), dtype=np.int64)
    for field, values in enumerate(by_field):
        if values is None:
            continue
        kept = _encode_column(values, new_tags[field], new_payload[field], missing)
        if kept:  # values kept aside, in their cells
            cells(field)
            base = bases[field]
            positions = np.asarray(kept, dtype=np.intp)
            held_cells = offsets[positions] + base
            new_payload[field, positions] = held_cells
            # every value an object (the IO-tune records): the column itself
            held_values = values if len(kept) == total else map(values.__getitem__, kept)
            collections.deque(map(objects.__setitem__, held_cells.tolist(), held_values), 0)
    every, rows_at = (slice(None), *where), (slice(None), where[0])
    tags[every] = new_tags
    payload[every] = new_payload
    latest_tags[rows_at] = new_tags
    latest_payload[rows_at] = new_payload


def latest_objects(
    objects: list[Any], tags: np.ndarray, payload: np.ndarray, count: np.ndarray, rows: np.ndarray
) -> list[Any] | None:
    """The object in each of ``rows``' newest cell of one field (``tags`` and ``payload``
    that field's newest cells, ``count`` the table's sample counts), or None if a row is
    outside the table or has no sample yet, or its cell is not an object: the caller
    then decodes cell by cell.  The reference of mom/_fastpath/columns.pyx's twin."""
    capacity = len(tags)
    if len(payload) != capacity or len(count) != capacity:
        raise ValueError("the table's arrays do not agree in shape")
    found = []
    for row in rows.tolist():
        if row < 0 or row >= capacity or count[row] <= 0 or tags[row] != TAG_OBJECT:
            return None
        cell = int(payload[row])
        if cell < 0 or cell >= len(objects):
            return None
        found.append(objects[cell])
    return found


#: the column encoder, the batched store and the newest objects' reader: the fast
#: path's twins if built (same cells, see tests/runtime)
_encode_column: Any = SampleTable._encode_column
_store_columns: Any = store_columns
_latest_objects: Any = latest_objects
if IMPLEMENTATION == "cython":
    from mom._fastpath.columns import encode_column as _encode_column  # type: ignore[no-redef]  # noqa: E402
    from mom._fastpath.columns import latest_objects as _latest_objects  # noqa: E402
    from mom._fastpath.columns import store_columns as _store_columns  # noqa: E402


def _cells_of(index: np.ndarray, slots: np.ndarray) -> tuple[Any, Any]:
    """Where a batched round's new samples go in a (field, row, slot) array: ``index``
    and ``slots`` themselves, or, when the rows are consecutive and at the same slot
    (every guest sampled every round: the usual case), a slice and that slot: numpy
    then copies strided memory instead of gathering cell by cell."""
    first, last = int(index[0]), int(index[-1])
    if last - first == len(index) - 1 and (len(index) == 1 or bool((index[1:] > index[:-1]).all())):
        slot = int(slots[0])
        if bool((slots == slot).all()):
            return slice(first, last + 1), slot
    return index, slots


class RowEntity(Entity):
    """Entity interface over one row of a :class:`SampleTable` (computed on demand)."""

    _policy_kind = KIND_ROW  # the fast path reads the row's columns (mom.dsl.layout)

    def __init__(self, table: SampleTable, row: int) -> None:
        self.table = table
        self.row = row
        self.monitor = None
        self._generation = -1
        self._cached_values: dict[str, Any] = {}

    # what upstream code reads as plain attributes
    @property
    def properties(self) -> dict[str, Any]:  # type: ignore[override]
        return self.table.properties[self.row]

    @property
    def variables(self) -> dict[str, Any]:  # type: ignore[override]
        return self.table.variables[self.row]

    @property
    def statistics(self) -> Sequence[dict[str, Any]]:  # type: ignore[override]
        """The samples, oldest first, each built when asked for (``[-1]`` is cheap)."""
        return RowSamples(self.table, self.row)

    @property
    def controls(self) -> dict[str, Any]:  # type: ignore[override]
        """The controls set so far (a snapshot: set them with ``Control``)."""
        return self.table.controls_of(self.row)

    @property
    def _valid(self) -> frozenset[str]:  # type: ignore[override]
        return self.table.policy_fields

    @property
    def _policy_values(self) -> dict[str, Any]:  # type: ignore[override]
        """The newest sample's present declared fields (refreshed when the table changes)."""
        if self._generation != self.table.generation:
            table, row = self.table, self.row
            values = {}
            if table.count[row]:
                tags = table.latest_tags[:, row].tolist()
                payload = table.latest_payload[:, row].tolist()
                objects = table.objects
                for name, field in table.policy_field_index.items():
                    value = decode_cell(tags[field], payload[field], objects, payload[field])
                    if value is not MISSING:
                        values[name] = value
            self._cached_values = values
            self._generation = table.generation
        return self._cached_values

    def __getattr__(self, name: str) -> Any:
        # upstream's _finalize made each declared field an attribute
        if not name.startswith("_"):
            if self._generation == self.table.generation:
                value = self._cached_values.get(name, MISSING)
            elif name in self.table.policy_field_index:
                # one field: cheaper than refreshing them all (controllers read one or two)
                value = self.table.latest(self.row, name)
            else:
                value = MISSING
            if value is not MISSING:
                return value
        raise AttributeError(name)

    def _finalize(self) -> None:
        """Nothing to do: a row is always current."""

    # ## Rule methods, over the columns

    def Stat(self, name: str, default: Any = None) -> Any:
        self._declared(name)
        if not self.table.count[self.row]:
            return None
        value = self.table.latest(self.row, name)
        return default if value is MISSING else value

    def _history(self, name: str) -> list[Any]:
        return self.table.history_of(self.row, name)

    def Control(self, name: str, val: Any) -> None:  # ``val``, as upstream's Entity
        self.table.set_control(self.row, name, val)

    def GetControl(self, name: str) -> Any:
        return self.table.get_control(self.row, name)

    def SetVar(self, name: str, val: Any) -> None:
        self.table.variables[self.row][name] = val

    def GetVar(self, name: str) -> Any:
        return self.table.variables[self.row].get(name)

    def __repr__(self) -> str:
        return f"<RowEntity {self.table.names[self.row]!r} row {self.row}>"


class RowSamples(Sequence[dict[str, Any]]):
    """A row's samples as upstream's list of dicts, oldest first, built on access."""

    __slots__ = ("table", "row", "_slots")

    def __init__(self, table: SampleTable, row: int) -> None:
        self.table = table
        self.row = row
        with table.lock:
            self._slots = table.slots(row)

    def __len__(self) -> int:
        return len(self._slots)

    def __getitem__(self, index: Any) -> Any:
        with self.table.lock:  # not half a sample while a collector appends
            if isinstance(index, slice):
                return [self.table.sample(self.row, slot) for slot in self._slots[index]]
            return self.table.sample(self.row, self._slots[index])


class GuestSet:
    """The ``Guests`` of one evaluation: some rows of a table, in order."""

    __slots__ = ("table", "rows")

    _policy_kind = KIND_ROWS  # the fast path walks the rows (mom.dsl.layout)

    def __init__(self, table: SampleTable, rows: Iterable[int]) -> None:
        self.table = table
        self.rows = np.array(rows if isinstance(rows, (np.ndarray, list)) else list(rows), dtype=np.int32)

    def __iter__(self) -> Iterator[RowEntity]:
        view = self.table.view
        return (view(int(row)) for row in self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return f"<GuestSet of {len(self.rows)} rows>"


# Python's own error messages name a value's type (``unsupported operand type(s) for +:
# 'Entity' and 'int'``); operators grep their logs for upstream's texts, where a policy's
# Host and guests are Entity objects and Guests a list.  The classes keep their own
# qualified names (class reprs, tracebacks).
RowEntity.__name__ = "Entity"
GuestSet.__name__ = "list"
