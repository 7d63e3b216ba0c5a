"""What the policy language and its VMs share with the data they read.

The daemon's column store, its entities and its IO-tune records live above the language
(in ``mom.runtime`` and ``mom.plugins``); the language and the Cython VM never import
them.  Instead this module fixes the contract both sides follow: the storage tags of the
column store's cells, the rule methods policies call on entities, the IO-tune setters,
and the kinds a class declares so that the fast path may take its shortcuts over it.
``mom/_fastpath/layout.pxd`` declares the same tables for C; ``tests/dsl/test_layout.py``
checks that both sides agree.
"""

from __future__ import annotations

import struct
from typing import Any, Callable, NamedTuple

from mom.dsl.sandbox import MISSING

__all__ = [
    "TAG_NONE", "TAG_BOOL", "TAG_INT", "TAG_FLOAT", "TAG_OBJECT", "TAG_ABSENT", "STORAGE_TAGS",
    "RULE_METHOD_NAMES", "RULE_METHODS", "IO_TUNE_SETTERS", "IO_TUNE_KEYS", "IO_TUNE_METHODS",
    "POLICY_KIND", "KIND_ROW", "KIND_ROWS", "KIND_ENTITY", "KIND_IO_TUNE", "KINDS", "KIND_ATTRIBUTES",
    "ColumnView", "encode_cell", "decode_cell", "INT64_MIN", "INT64_MAX",
]  # fmt: skip

# ## Storage tags: what a cell of the column store holds (an int8 beside an int64 payload)

TAG_NONE = 0
TAG_BOOL = 1  # payload 0 or 1
TAG_INT = 2  # payload: the int (int64 range)
TAG_FLOAT = 3  # payload: the double's bits
TAG_OBJECT = 4  # payload: the object's index in the store's list of objects
TAG_ABSENT = 8  # no value: the field was missing from the sample

STORAGE_TAGS = {
    "NONE": TAG_NONE,
    "BOOL": TAG_BOOL,
    "INT": TAG_INT,
    "FLOAT": TAG_FLOAT,
    "OBJECT": TAG_OBJECT,
    "ABSENT": TAG_ABSENT,
}

INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
_DOUBLE = struct.Struct("=d")
_INT64 = struct.Struct("=q")


def encode_cell(value: Any) -> tuple[int, int]:
    """A value's storage (tag, payload); the caller keeps an object's value aside."""
    kind = type(value)
    if kind is int and INT64_MIN <= value <= INT64_MAX:
        return TAG_INT, value
    if kind is float:  # its bits, as np.float64(value).view(np.int64)
        return TAG_FLOAT, _INT64.unpack(_DOUBLE.pack(value))[0]
    if value is None:
        return TAG_NONE, 0
    if kind is bool:
        return TAG_BOOL, int(value)
    return TAG_OBJECT, 0


def decode_cell(tag: int, payload: int, objects: Any, key: Any) -> Any:
    """The value stored as (tag, payload), ``objects[key]`` for an object; MISSING if absent.

    ``tag`` and ``payload`` are Python ints (they compare faster than numpy scalars).
    """
    if tag == TAG_INT:
        return payload
    if tag == TAG_FLOAT:
        return _DOUBLE.unpack(_INT64.pack(payload))[0]
    if tag == TAG_NONE:
        return None
    if tag == TAG_OBJECT:
        return objects[key]
    if tag == TAG_BOOL:
        return bool(payload)
    return MISSING


# ## Rule methods: what a policy may call on an entity (upstream's names); the fast path
# numbers them in this order

RULE_METHOD_NAMES = ("Prop", "Stat", "StatAvg", "SetVar", "GetVar", "Control", "GetControl")
RULE_METHODS = frozenset(RULE_METHOD_NAMES)

# ## IO-tune setters: each stores ``None if value is None else int(value)`` under its
# limit in the record's current limits (upstream's names; the fast path numbers them)

IO_TUNE_SETTERS = (
    ("setTotalBytesSec", "total_bytes_sec"),
    ("setReadBytesSec", "read_bytes_sec"),
    ("setWriteBytesSec", "write_bytes_sec"),
    ("setTotalIopsSec", "total_iops_sec"),
    ("setReadIopsSec", "read_iops_sec"),
    ("setWriteIopsSec", "write_iops_sec"),
)
#: the limits a disk can have, in bytes or operations per second
IO_TUNE_KEYS = tuple(key for _name, key in IO_TUNE_SETTERS)
#: what policies may call on an IO-tune record: the setters and ``ioTune()``
IO_TUNE_METHODS = frozenset(name for name, _key in IO_TUNE_SETTERS) | {"ioTune"}

# ## Kinds: a class that the fast path may read without calling its Python methods sets
# ``_policy_kind`` in its own body (a subclass, which may override the rule methods,
# does not inherit the shortcut: it must declare it again).  Each kind promises what the
# fast path reads of its instances, by attribute name:

POLICY_KIND = "_policy_kind"

#: one row of a column store: ``table`` and ``row`` (an int); the table's
#: ``column_view()`` gives a ColumnView, its ``view(row)`` the row's entity back; rule
#: methods as ``mom.runtime.entity.Entity`` over that row
KIND_ROW = 1
#: the rows a policy iterates: ``table`` (as above) and ``rows`` (a C-contiguous int32 array)
KIND_ROWS = 2
#: an entity over sample dicts: ``_valid`` (the declared fields, a frozenset, or None
#: before ``_finalize``), ``statistics`` (a list of sample dicts, oldest first) and
#: ``controls`` (a dict); rule methods as ``mom.runtime.entity.Entity``
KIND_ENTITY = 3
#: an IO-tune record: ``_current`` (the dict of current limits that its setters write,
#: see IO_TUNE_SETTERS)
KIND_IO_TUNE = 4

KINDS = {"ROW": KIND_ROW, "ROWS": KIND_ROWS, "ENTITY": KIND_ENTITY, "IO_TUNE": KIND_IO_TUNE}
#: the attributes the fast path reads of an instance of each kind, besides ``table``,
#: ``row`` and ``rows`` (at most three, in this order)
KIND_ATTRIBUTES = {KIND_ENTITY: ("_valid", "statistics", "controls"), KIND_IO_TUNE: ("_current",)}


class ColumnView(NamedTuple):
    """A column store's arrays as the fast path reads them (``mom/_fastpath/rows.pxd``).

    Arrays are C-contiguous NumPy arrays; cells are (tag, payload) pairs as above.  The
    view is current until the store adds a field, a row or a control column.
    """

    tags: Any  # int8 [field, row, history slot]: the sample rings
    payload: Any  # int64 [field, row, history slot]
    latest_tags: Any  # int8 [field, row]: each row's newest sample
    latest_payload: Any  # int64 [field, row]
    head: Any  # int32 [row]: ring slot of the newest sample
    count: Any  # int32 [row]: samples in the ring
    objects: list[Any]  # the values of TAG_OBJECT cells, by payload
    field_index: dict[str, int]  # the fields policies may read -> field
    control_tags: Any  # int8 [row, control column]
    control_payload: Any  # int64 [row, control column]
    control_order: Any  # int32 [row, control column]: order first set in, from 1; 0 unset
    control_count: Any  # int32 [row]: controls set
    control_index: dict[str, int]  # control name -> column
    control_objects: dict[tuple[int, int], Any]  # (row, column) -> a TAG_OBJECT control's value
    add_control: Callable[[str], int]  # the column of a control name, added if new (then
    # the control arrays may be new ones: take a new view)
