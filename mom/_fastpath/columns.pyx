"""The sample store's column writes in C (twin of ``SampleTable._encode_column`` in
mom/runtime/table.py, the reference).

A batched collection round hands the store one list of values per field; each is encoded
here in one pass: None, bools, int64s and floats (exact types, as mom.dsl.layout's
``encode_cell``) into their tag and payload, absent values (the ``missing`` marker)
left alone, anything else reported back by position (the caller keeps it aside).
"""

from cpython.dict cimport PyDict_GetItemWithError, PyDict_Next, PyDict_Size
from cpython.long cimport PyLong_AsLongLongAndOverflow
from cpython.object cimport Py_EQ, PyObject, PyObject_RichCompareBool
from libc.stdint cimport int8_t, int64_t, uint64_t
from libc.string cimport memcpy

cimport cython

from mom._fastpath.slots cimport mom_slot_of, mom_slot_store

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


cdef inline bint _plain(object value):
    """Whether ``value``'s == is C's own, running no Python code: its type one of the
    exact builtins a limit is (an int, float, bool, str or None)."""
    return type(value) is int or type(value) is float or type(value) is str or type(value) is bool or value is None


cdef int _limits_differ(object current, object limits) except -1:
    """Whether ``current != limits``.  Two dicts are walked in step: the usual pair (a
    record's limits and their copy from the same collection) has the same keys in the
    same order and the same value objects, answered here in a few instructions a key
    instead of dict == looking each key up (about 960 instructions for six).  A value
    that is not the same object is compared at C level when both are plain scalars
    (their == runs no Python code, so nothing changes under the walk and the first
    unequal pair is dict =='s answer too); anything else (another key order, another
    kind of value, not two dicts) is asked of != itself."""
    cdef Py_ssize_t at_current = 0, at_limits = 0
    cdef PyObject *key
    cdef PyObject *value
    cdef PyObject *other_key
    cdef PyObject *other_value
    if type(current) is not dict or type(limits) is not dict:
        return 1 if current != limits else 0
    if current is limits:
        return 0  # dict == compares each value with itself: the same object is equal
    if PyDict_Size(current) != PyDict_Size(limits):
        return 1  # dict == answers so before looking at any item
    while PyDict_Next(current, &at_current, &key, &value):
        if not PyDict_Next(limits, &at_limits, &other_key, &other_value) or key != other_key:
            return 1 if current != limits else 0  # not in step: dict == itself
        if value == other_value:
            continue  # the same object (dict == is PyObject_RichCompareBool: equal)
        if not (_plain(<object>value) and _plain(<object>other_value)):
            return 1 if current != limits else 0
        if not PyObject_RichCompareBool(<object>value, <object>other_value, Py_EQ):
            return 1
    return 0  # the same keys (as many, each the other's in turn), each value equal


# ## Limits found equal, remembered while neither dict changes

cdef extern from *:
    """
    /* PEP 509's dict version: in CPython 3.11 every change of a dict gives it a new
       version, never given before.  Later CPythons deprecate it: no stamps there (the
       limits are compared each time, as without a stamp). */
    #if PY_VERSION_HEX < 0x030C0000
    #define MOM_DICT_VERSIONS 1
    static inline uint64_t mom_dict_version(PyObject* d) { return ((PyDictObject*)d)->ma_version_tag; }
    #else
    #define MOM_DICT_VERSIONS 0
    static inline uint64_t mom_dict_version(PyObject* d) { (void)d; return 0; }
    #endif
    """
    bint MOM_DICT_VERSIONS
    uint64_t mom_dict_version(PyObject* d) noexcept


@cython.final
cdef class LimitsStamp:
    """That a record's limits (``current``) were found equal to their collected copy
    (``limits``), and each dict's version read before they were compared: while both
    versions are the same, neither dict changed, so they are still equal (a change
    made during the comparison or after gives a dict a new version: no longer holds).
    Only made here, and only when every key and value of both is a plain scalar
    (nothing inside them can change without the dict); one made from Python holds
    nothing.  It also keeps the state dict the copy was found in (its ``ioTune``) and
    that dict's version read before the lookup, when all its keys are exact strs (a
    lookup then runs no Python code and finds the same value while the dict does not
    change): while that version holds, the copy is found without looking it up (the
    lookup reads the dict's keys, scattered in memory: a cache miss a disk a round)."""

    cdef object current
    cdef object limits
    cdef uint64_t current_version
    cdef uint64_t limits_version
    cdef object state  # None: the copy is looked up each time
    cdef uint64_t state_version

    def __reduce__(self):
        return (type(None), ())  # a copy or a pickle of a record starts without one

    cdef inline PyObject* limits_in(self, object state) noexcept:
        """The copy ``state["ioTune"]`` is, borrowed, if the stamp knows it (``state``
        the dict it was found in, unchanged since); NULL: look it up."""
        if (MOM_DICT_VERSIONS and self.state is state and self.limits is not None
                and self.state_version == mom_dict_version(<PyObject*>state)):
            return <PyObject*>self.limits
        return NULL

    cdef inline bint holds(self, object current, object limits) noexcept:
        return (self.current is current and self.limits is limits
                and self.current_version == mom_dict_version(<PyObject*>current)
                and self.limits_version == mom_dict_version(<PyObject*>limits))


from types import MemberDescriptorType as _MemberDescriptorType

#: DiskIoTune's ``_stamp`` slot (its member descriptor, see keep_stamps_in): the only
#: place a stamp is read from or written to
cdef object _stamp_slot = None


def keep_stamps_in(object descriptor):
    """The slot (a member descriptor, DiskIoTune's ``_stamp``) the limits' stamps live
    in; records of a class with another ``_stamp`` (a site's) are compared each time."""
    global _stamp_slot
    if type(descriptor) is not _MemberDescriptorType:
        raise TypeError("a stamp slot must be a member descriptor (a __slots__ entry)")
    _stamp_slot = descriptor


cdef bint _all_str_keys(dict values) noexcept:
    """Whether every key is an exact str (a lookup by a str key then runs no Python)."""
    cdef Py_ssize_t at = 0
    cdef PyObject *key
    cdef PyObject *value
    while PyDict_Next(values, &at, &key, &value):
        if type(<object>key) is not str:
            return False
    return True


cdef bint _all_plain(dict values) noexcept:
    """Whether every key is an exact str and every value a plain scalar."""
    cdef Py_ssize_t at = 0
    cdef PyObject *key
    cdef PyObject *value
    while PyDict_Next(values, &at, &key, &value):
        if type(<object>key) is not str or not _plain(<object>value):
            return False
    return True


cdef inline PyObject* _stamp_of(object tune) noexcept:
    """``tune``'s stamp slot's value, borrowed (NULL: not our slot, or empty); no Python
    code runs."""
    if _stamp_slot is None:
        return NULL
    return mom_slot_of(<PyObject*>tune, <PyObject*>"_stamp", <PyObject*>_stamp_slot)


cdef bint _stampable(object tune, object current, object limits) noexcept:
    """Whether equal ``current`` and ``limits`` may be stamped on ``tune``: two exact,
    plain dicts and a record with our stamp slot (checked before they are compared:
    their versions are read then too)."""
    return (MOM_DICT_VERSIONS and type(current) is dict and type(limits) is dict
            and _stamp_of(tune) != NULL and _all_plain(current) and _all_plain(limits))


cdef int _stamp(object tune, object current, object limits, uint64_t current_version,
                uint64_t limits_version, object state, uint64_t state_version) except -1:
    """Keep on ``tune`` that ``current`` and ``limits``, of those versions, are equal,
    and (``state`` not None) that ``limits`` is ``state["ioTune"]`` while ``state`` is
    of that version (written through the slot itself: a subclass's __setattr__ is not
    asked)."""
    cdef LimitsStamp stamp = LimitsStamp.__new__(LimitsStamp)
    stamp.current = current
    stamp.limits = limits
    stamp.current_version = current_version
    stamp.limits_version = limits_version
    stamp.state = state
    stamp.state_version = state_version
    if _stamp_of(tune) != NULL:  # (the allocation above may have run Python: checked again)
        mom_slot_store(<PyObject*>_stamp_slot, <PyObject*>tune, <PyObject*>stamp)
    return 0


cdef bint _disks_unchanged(object tunes, object states) except -1:
    """The twin of mom.plugins.collectors.io_tune.disks_unchanged (each record's limits
    compared with their copy unless a stamp says they are still equal: a usual round,
    no policy having changed a limit, compares none)."""
    cdef Py_ssize_t count, index
    cdef object tune, state, limits, current
    cdef PyObject* stamp
    cdef PyObject* known
    cdef bint stampable, keep_state
    cdef uint64_t current_version = 0, limits_version = 0, state_version = 0
    if type(tunes) is not list or type(states) is not list:
        return False
    count = len(<list>tunes)
    if len(<list>states) != count:
        return False
    for index in range(count):
        # the getattr (a property) or an == can run Python code that changes either
        # list: an item is read only while it is there (the lists are indexed unchecked)
        # and a list of another length at any point answers "look closer", as the
        # reference's zip and its closing length check do
        if index >= len(<list>tunes) or index >= len(<list>states):
            return False
        tune = (<list>tunes)[index]
        state = (<list>states)[index]
        if type(state) is not dict:
            return False
        # the copy as the stamp knows it (state unchanged since), else looked up: its
        # version read first (a change by the lookup, or after it, shows)
        stamp = _stamp_of(tune)
        known = NULL
        if stamp != NULL and type(<object>stamp) is LimitsStamp:
            known = (<LimitsStamp>stamp).limits_in(state)
        if known != NULL:
            limits = <object>known
            state_version = mom_dict_version(<PyObject*>state)  # the stamp's, as checked
            keep_state = True
        else:
            state_version = mom_dict_version(<PyObject*>state)
            limits = (<dict>state).get("ioTune")
            if limits is None:
                return False
            keep_state = _all_str_keys(<dict>state)
        current = getattr(tune, "_current", None)
        if current is None:
            return False
        stamp = _stamp_of(tune)  # (again: the getattr may have run Python)
        if stamp != NULL and type(<object>stamp) is LimitsStamp and (<LimitsStamp>stamp).holds(current, limits):
            continue  # found equal before, and neither dict changed since
        # the versions read before the comparison, which may run Python code
        stampable = _stampable(tune, current, limits)
        if stampable:
            current_version = mom_dict_version(<PyObject*>current)
            limits_version = mom_dict_version(<PyObject*>limits)
        if _limits_differ(current, limits):
            return False
        if stampable:
            # the state kept if no key of it runs Python code when compared (its
            # version read before the lookup, or the last stamp's, still its own)
            _stamp(tune, current, limits, current_version, limits_version,
                   state if keep_state else None, state_version)
    return len(<list>tunes) == count and len(<list>states) == count


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
        # _disks_unchanged can run Python code that changes a column (see there): the
        # walk stops where either ends, as the reference's zip does
        if position >= len(tunes_column) or position >= len(states_column):
            break
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
        # a record's __getitem__ (or a key's __eq__) can run Python code that changes
        # the list, indexed unchecked here: one of another length answers None (the
        # caller's slower way), not a read past its end
        if position >= len(records):
            return None
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


def same_key_columns(list samples):
    """Twin of mom.plugins.collectors.base.same_key_columns: the columns in one walk of
    the samples, each read once for all its keys; None where the reference says None
    (and for a sample that is not a dict: the caller's general way then)."""
    cdef Py_ssize_t count = len(samples), width, position, index
    cdef list names, columns
    cdef object sample
    cdef PyObject *found
    if count == 0 or type(samples[0]) is not dict:
        return None
    names = list(<dict>samples[0])
    width = len(names)
    columns = [[None] * count for _ in range(width)]
    for position in range(count):
        # a key's __eq__ (a sample keyed by odd objects) can run Python code that
        # changes the list, indexed unchecked here: one of another length answers None
        if position >= len(samples):
            return None
        sample = samples[position]
        if type(sample) is not dict or PyDict_Size(sample) != width:
            return None
        for index in range(width):
            found = PyDict_GetItemWithError(sample, names[index])
            if found == NULL:
                return None  # a key not there (an error is raised by Cython)
            (<list>columns[index])[position] = <object>found
    if len(samples) != count:
        return None
    return dict(zip(names, columns))


# ## A batched round's samples, straight into the rings

from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport int32_t

from mom.dsl.layout import TAG_ABSENT as _TAG_ABSENT

cdef int8_t TAG_ABSENT = _TAG_ABSENT


cdef Py_ssize_t _block_of(dict bases, Py_ssize_t field, list objects, Py_ssize_t cells) except -2:
    """A field's first object cell (-1: it has no block), checked to fit ``objects``."""
    cdef object base = bases.get(field)
    cdef Py_ssize_t first
    if base is None:
        return -1
    first = base
    if first < 0 or first + cells > len(objects):
        raise ValueError("an object block lies outside the table's cells")
    return first


cdef inline int _put(list objects, Py_ssize_t cell, object value) except -1:
    """``objects[cell] = value``, checked: a release build's list stores are not, and
    the value it replaces may run Python (a destructor) that shortens ``objects``."""
    if cell >= len(objects):
        raise ValueError("an object cell lies outside the table's cells")
    objects[cell] = value
    return 0


def store_columns(
    list by_field,
    list names,
    int8_t[:, :, ::1] tags,
    int64_t[:, :, ::1] payload,
    int8_t[:, ::1] latest_tags,
    int64_t[:, ::1] latest_payload,
    int32_t[::1] head,
    int32_t[::1] count,
    object rows,
    list objects,
    dict bases,
    object cells,
    object missing,
):
    """Twin of mom.runtime.table's ``store_columns`` (the reference; see there): each
    field's values encoded straight into its ring slots and newest cells, one pass per
    field, no temporary arrays."""
    cdef Py_ssize_t width = tags.shape[0], capacity = tags.shape[1], history = tags.shape[2]
    cdef Py_ssize_t total = len(rows), k, field, row, slot, base, block = capacity * history
    cdef Py_ssize_t *row_of
    cdef Py_ssize_t *slot_of
    cdef Py_ssize_t *count_of
    cdef object values, value, item
    cdef type kind
    cdef int overflow
    cdef int8_t tag
    cdef int64_t bits
    cdef double d
    if (
        payload.shape[0] != width or payload.shape[1] != capacity or payload.shape[2] != history
        or latest_tags.shape[0] != width or latest_tags.shape[1] != capacity
        or latest_payload.shape[0] != width or latest_payload.shape[1] != capacity
        or head.shape[0] != capacity or count.shape[0] != capacity
        or len(by_field) != width or len(names) != width
    ):
        raise ValueError("the table's arrays do not agree in shape")
    # a list of our own: nothing the caller runs (list(values) may) can change it
    by_field = list(by_field)
    # every column checked before anything is stored (a wrong one changes nothing)
    for field in range(width):
        values = by_field[field]
        if values is None:
            continue
        if type(values) is not list:
            values = by_field[field] = list(values)
        if len(<list>values) != total:
            raise ValueError(f"column {names[field]!r} has {len(<list>values)} values for {total} rows")
    if not total:
        return
    row_of = <Py_ssize_t *>PyMem_Malloc(3 * total * sizeof(Py_ssize_t))
    if row_of == NULL:
        raise MemoryError()
    slot_of, count_of = row_of + total, row_of + 2 * total
    try:
        k = 0
        for item in rows:
            if k == total:
                raise ValueError("rows changed length while read")
            row = item
            if row < 0:  # numpy's indexing, as the reference's
                row += capacity
            if row < 0 or row >= capacity:
                raise IndexError(f"row {item} is out of the table's {capacity} rows")
            row_of[k] = row
            # from the state before this round, as the reference's gathers (a row
            # given twice moves once)
            slot_of[k] = (head[row] + 1) % history
            count_of[k] = count[row] + 1 if count[row] < history else history
            k += 1
        if k != total:
            raise ValueError("rows changed length while read")
        for k in range(total):
            head[row_of[k]] = <int32_t>slot_of[k]
            count[row_of[k]] = <int32_t>count_of[k]
        for field in range(width):
            values = by_field[field]
            # checked again: a field's cells() before this one ran Python
            if values is not None and len(<list>values) != total:
                raise ValueError("a column changed while stored")
            base = _block_of(bases, field, objects, block)
            for k in range(total):
                row = row_of[k]
                slot = slot_of[k]
                if base >= 0 and tags[field, row, slot] == TAG_OBJECT:
                    _put(objects, base + row * history + slot, None)  # the oldest sample's
                tag = TAG_ABSENT
                bits = 0
                if values is not None:
                    value = (<list>values)[k]
                    if value is not missing:
                        kind = type(value)
                        if kind is int:
                            overflow = 0
                            bits = PyLong_AsLongLongAndOverflow(value, &overflow)
                            tag = TAG_INT
                            if overflow:  # a big int: kept aside
                                tag = TAG_OBJECT
                        elif kind is float:
                            d = value
                            memcpy(&bits, &d, sizeof(double))
                            tag = TAG_FLOAT
                        elif value is None:
                            tag = TAG_NONE
                        elif kind is bool:
                            tag = TAG_BOOL
                            bits = 1 if value is True else 0
                        else:
                            tag = TAG_OBJECT
                        if tag == TAG_OBJECT:
                            if base < 0:  # the field's first object: its block of cells
                                cells(field)
                                base = _block_of(bases, field, objects, block)
                                if base < 0:
                                    raise ValueError("no object block was made")
                                if len(<list>values) != total:  # cells() is Python
                                    raise ValueError("a column changed length while stored")
                            bits = base + row * history + slot
                            _put(objects, bits, value)
                            if len(<list>values) != total:  # changed by a destructor _put ran
                                raise ValueError("a column changed length while stored")
                tags[field, row, slot] = tag
                payload[field, row, slot] = bits
                latest_tags[field, row] = tag
                latest_payload[field, row] = bits
    finally:
        PyMem_Free(row_of)


# ## A field's newest objects (the IO-tune records of a guest set)


def latest_objects(list objects, const int8_t[::1] tags, const int64_t[::1] payload,
                   const int32_t[::1] count, const Py_ssize_t[::1] rows):
    """Twin of mom.runtime.table's ``latest_objects`` (the reference; see there): the
    object in each row's newest cell of one field, in one pass, or None if a row is
    outside the table or has no sample, or its cell is not an object."""
    cdef Py_ssize_t total = rows.shape[0], capacity = tags.shape[0], k, row
    cdef int64_t cell
    cdef list found = [None] * total
    if payload.shape[0] != capacity or count.shape[0] != capacity:
        raise ValueError("the table's arrays do not agree in shape")
    # nothing in the pass runs Python (no object is created or released but the list's
    # own items), so the lengths read here hold to its end
    for k in range(total):
        row = rows[k]
        if row < 0 or row >= capacity or count[row] <= 0 or tags[row] != TAG_OBJECT:
            return None
        cell = payload[row]
        if cell < 0 or cell >= len(objects):
            return None
        found[k] = objects[cell]
    return found
