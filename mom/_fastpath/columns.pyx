"""The sample store's column writes in C (twin of ``SampleTable._encode_column`` in
mom/runtime/table.py, the reference).

A batched collection round hands the store one list of values per field; each is encoded
here in one pass: None, bools, int64s and floats (exact types, as mom.dsl.layout's
``encode_cell``) into their tag and payload, absent values (the ``missing`` marker)
left alone, anything else reported back by position (the caller keeps it aside).
"""

from cpython.dict cimport PyDict_GetItemWithError
from cpython.long cimport PyLong_AsLongLongAndOverflow
from cpython.object cimport PyObject
from libc.stdint cimport int8_t, int64_t
from libc.string cimport memcpy

from mom.dsl.layout import TAG_BOOL as _TAG_BOOL
from mom.dsl.layout import TAG_FLOAT as _TAG_FLOAT
from mom.dsl.layout import TAG_INT as _TAG_INT
from mom.dsl.layout import TAG_NONE as _TAG_NONE
from mom.dsl.layout import TAG_OBJECT as _TAG_OBJECT

cdef int8_t TAG_NONE = _TAG_NONE
cdef int8_t TAG_BOOL = _TAG_BOOL
cdef int8_t TAG_INT = _TAG_INT
cdef int8_t TAG_FLOAT = _TAG_FLOAT
cdef int8_t TAG_OBJECT = _TAG_OBJECT


def encode_column(list values, int8_t[::1] tags, int64_t[::1] payload, object missing):
    """Encode ``values`` into ``tags`` and ``payload`` (in place, same length); the
    positions of the values kept aside (tagged object; their payload is the caller's
    to set), in order."""
    cdef Py_ssize_t count = len(values), position
    cdef object value
    cdef type kind
    cdef int overflow
    cdef int64_t n
    cdef double d
    cdef list objects = []
    if tags.shape[0] != count or payload.shape[0] != count:
        raise ValueError("a column's arrays must have one cell per value")
    for position in range(count):
        value = values[position]
        if value is missing:
            continue
        kind = type(value)
        if kind is int:
            overflow = 0
            n = PyLong_AsLongLongAndOverflow(value, &overflow)
            if overflow:  # a big int: kept aside
                tags[position] = TAG_OBJECT
                objects.append(position)
                continue
            tags[position] = TAG_INT
            payload[position] = n
        elif kind is float:
            d = value
            memcpy(&n, &d, sizeof(double))  # its bits, as np.float64(value).view(np.int64)
            tags[position] = TAG_FLOAT
            payload[position] = n
        elif value is None:
            tags[position] = TAG_NONE
            payload[position] = 0
        elif kind is bool:
            tags[position] = TAG_BOOL
            payload[position] = 1 if value is True else 0
        else:
            tags[position] = TAG_OBJECT
            objects.append(position)
    return objects


cdef bint _disks_unchanged(object tunes, object states) except -1:
    """The twin of mom.plugins.collectors.io_tune.disks_unchanged."""
    cdef Py_ssize_t count, index
    cdef object state, limits
    if type(tunes) is not list or type(states) is not list:
        return False
    count = len(<list>tunes)
    if len(<list>states) != count:
        return False
    for index in range(count):
        state = (<list>states)[index]
        if type(state) is not dict:
            return False
        limits = (<dict>state).get("ioTune")
        if limits is None:
            return False
        current = getattr((<list>tunes)[index], "_current", None)
        if current is None or current != limits:
            return False
    return True


def disks_unchanged(object tunes, object states):
    """The twin of mom.plugins.collectors.io_tune.disks_unchanged."""
    return _disks_unchanged(tunes, states)


def disks_maybe_changed(list tunes_column, list states_column):
    """The twin of mom.plugins.collectors.io_tune.disks_maybe_changed."""
    cdef Py_ssize_t count = len(tunes_column), position
    cdef list positions = []
    cdef object tunes, states
    if len(states_column) != count:
        raise ValueError("the columns must have one value per row each")
    for position in range(count):
        tunes = tunes_column[position]
        states = states_column[position]
        if type(tunes) is list and type(states) is list and not _disks_unchanged(tunes, states):
            positions.append(position)
    return positions


def samples_maybe_changed(object collectors):
    """The twin of mom.plugins.collectors.io_tune.samples_maybe_changed: one walk, each
    collector's sample read once."""
    cdef list samples = []
    cdef list positions = []
    cdef Py_ssize_t position = 0
    cdef object collector, sample, tunes, states
    for collector in collectors:
        sample = collector._sample
        samples.append(sample)
        if sample is not None:
            tunes = sample["io_tune"]
            states = sample["io_tune_current"]
            if type(tunes) is list and type(states) is list and not _disks_unchanged(tunes, states):
                positions.append(position)
        position += 1
    return samples, positions


def field_columns(list records, object keys):
    """The values of ``keys`` in each record, one list per key (in ``keys``' order) with a
    value per record; None if a record lacks a key.  One walk of the records, each read
    once for all its keys (a pass per key over a thousand dicts fresh from libvirt costs
    a cache miss per dict each time).  Twin of mom.plugins.collectors.base's reference."""
    cdef tuple names = tuple(keys)
    cdef Py_ssize_t count = len(records), width = len(names), position, index
    cdef list columns = [[None] * count for _ in range(width)]
    cdef object record
    cdef PyObject *found
    for position in range(count):
        record = records[position]
        if type(record) is dict:
            for index in range(width):
                # NULL without an error: no such key (an error is raised by Cython)
                found = PyDict_GetItemWithError(record, names[index])
                if found == NULL:
                    return None
                (<list>columns[index])[position] = <object>found
        else:
            for index in range(width):
                try:
                    (<list>columns[index])[position] = record[names[index]]
                except KeyError:
                    return None
    return columns
