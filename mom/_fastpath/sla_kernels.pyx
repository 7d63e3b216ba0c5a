"""Cython twins of the SLA resource builtins' loops (mom.dsl.builtins_sla_resources and
mom.dsl.guest_columns hold the specification): the column store's cells gathered and
controls written, the CPU plan, and the IO-tune limits of every disk.  Same results as
the specification, value and type (``tests/resources/test_vectorized_rules.py`` runs
both against the rules written as loops).  What the twins do not handle they leave to
the specification: a CPU plan with a field that is no number or a division by zero
(it raises the policy's error), a disk of a class other than a KIND_IO_TUNE one or
whose limits are not plain dicts.
"""

from cpython.dict cimport PyDict_GetItem, PyDict_GetItemWithError, PyDict_SetItem
from cpython.object cimport PyObject
from libc.stdint cimport int8_t, int32_t, int64_t
from libc.string cimport memcpy

cimport cython
cimport numpy as cnp

import numpy as np

from mom._fastpath.rows cimport data_descriptor
from mom._fastpath.values cimport Py_TYPE
from mom.dsl.builtins_sla_resources import CpuPlan, Kernels, set_disk
from mom.dsl.layout import (
    IO_TUNE_KEYS, KIND_IO_TUNE, POLICY_KIND,
    TAG_ABSENT as _TAG_ABSENT, TAG_BOOL as _TAG_BOOL, TAG_FLOAT as _TAG_FLOAT, TAG_INT as _TAG_INT,
    TAG_OBJECT as _TAG_OBJECT,
)  # fmt: skip

cnp.import_array()

cdef int8_t TAG_ABSENT = _TAG_ABSENT
cdef int8_t TAG_BOOL = _TAG_BOOL
cdef int8_t TAG_INT = _TAG_INT
cdef int8_t TAG_FLOAT = _TAG_FLOAT
cdef int8_t TAG_OBJECT = _TAG_OBJECT
cdef tuple KEYS = IO_TUNE_KEYS
cdef object IO_KIND = KIND_IO_TUNE
cdef object KIND_NAME = POLICY_KIND


# ## Cells and controls


@cython.boundscheck(False)
@cython.wraparound(False)
def gather(
    const int8_t[:, ::1] latest_tags,
    const int64_t[:, ::1] latest_payload,
    const int32_t[::1] count,
    const Py_ssize_t[::1] rows,
    const Py_ssize_t[::1] fields,
):
    """Twin of mom.dsl.guest_columns.gather_cells."""
    cdef Py_ssize_t n = rows.shape[0], m = fields.shape[0], k, i, row, field
    cdef Py_ssize_t nfields = latest_tags.shape[0], capacity = latest_tags.shape[1]
    tags_array = np.full((m, n), TAG_ABSENT, dtype=np.int8)
    payload_array = np.zeros((m, n), dtype=np.int64)
    cdef int8_t[:, ::1] tags = tags_array
    cdef int64_t[:, ::1] payload = payload_array
    for i in range(n):
        row = rows[i]
        if row < 0 or row >= capacity or row >= count.shape[0]:
            raise IndexError(f"gather: no row {row}")
        for k in range(m):
            field = fields[k]
            if field < 0:
                continue
            if field >= nfields:
                raise IndexError(f"gather: no field {field}")
            if count[row] != 0:  # (else absent; the payload as it is, as the specification's)
                tags[k, i] = latest_tags[field, row]
            payload[k, i] = latest_payload[field, row]
    return tags_array, payload_array


@cython.boundscheck(False)
@cython.wraparound(False)
def write_controls(
    int8_t[:, ::1] control_tags,
    int64_t[:, ::1] control_payload,
    int32_t[:, ::1] control_order,
    int32_t[::1] control_count,
    const Py_ssize_t[::1] rows,
    Py_ssize_t column,
    const int8_t[::1] tags,
    const int64_t[::1] payload,
    dict control_objects,
):
    """Twin of mom.dsl.guest_columns.write_controls."""
    cdef Py_ssize_t k, row, n = rows.shape[0]
    if tags.shape[0] != n or payload.shape[0] != n or column < 0 or column >= control_tags.shape[1]:
        raise ValueError("write_controls: rows, tags and payload differ in length, or no such column")
    for k in range(n):
        row = rows[k]
        if row < 0 or row >= control_tags.shape[0] or row >= control_count.shape[0]:
            raise IndexError(f"write_controls: no row {row}")
        if control_tags[row, column] == TAG_OBJECT and control_objects:
            control_objects.pop((row, column), None)
        control_tags[row, column] = tags[k]
        control_payload[row, column] = payload[k]
        if control_order[row, column] == 0:
            control_count[row] += 1
            control_order[row, column] = control_count[row]


@cython.boundscheck(False)
@cython.wraparound(False)
def copy_controls(object view, const Py_ssize_t[::1] rows, const Py_ssize_t[::1] fields, const Py_ssize_t[::1] columns):
    """Twin of mom.dsl.guest_columns.copy_controls."""
    cdef const int8_t[:, ::1] latest_tags = view.latest_tags
    cdef const int64_t[:, ::1] latest_payload = view.latest_payload
    cdef const int32_t[::1] count = view.count
    cdef int8_t[:, ::1] control_tags = view.control_tags
    cdef int64_t[:, ::1] control_payload = view.control_payload
    cdef int32_t[:, ::1] control_order = view.control_order
    cdef int32_t[::1] control_count = view.control_count
    cdef dict control_objects = view.control_objects
    cdef list objects = view.objects
    cdef Py_ssize_t n = rows.shape[0], m = fields.shape[0], i, k, row, field, column
    cdef int8_t tag
    if columns.shape[0] != m:
        raise ValueError("copy_controls: one control column per field")
    for k in range(m):
        if fields[k] >= latest_tags.shape[0] or columns[k] < 0 or columns[k] >= control_tags.shape[1]:
            raise IndexError("copy_controls: no such field or control column")
    for i in range(n):  # first: every row has every field (the loop would fail at the first without)
        row = rows[i]
        if row < 0 or row >= latest_tags.shape[1] or row >= count.shape[0] or row >= control_tags.shape[0]:
            raise IndexError(f"copy_controls: no row {row}")
        for k in range(m):
            if fields[k] < 0 or count[row] == 0 or latest_tags[fields[k], row] == TAG_ABSENT:
                return k, i
    for i in range(n):
        row = rows[i]
        for k in range(m):
            field = fields[k]
            column = columns[k]
            if control_tags[row, column] == TAG_OBJECT and control_objects:
                control_objects.pop((row, column), None)
            tag = latest_tags[field, row]
            control_tags[row, column] = tag
            control_payload[row, column] = latest_payload[field, row]
            if tag == TAG_OBJECT:
                control_objects[(row, column)] = objects[latest_payload[field, row]]
            if control_order[row, column] == 0:
                control_count[row] += 1
                control_order[row, column] = control_count[row]
    return None


# ## The CPU plan


cdef inline bint _number(int8_t tag, int64_t bits, double* value, bint* floating) noexcept:
    """A cell's number (an int or a bool as a double, a float's bits); False if none."""
    if tag == TAG_INT or tag == TAG_BOOL:
        value[0] = <double>bits
        floating[0] = False
        return True
    if tag == TAG_FLOAT:
        memcpy(value, &bits, sizeof(double))
        floating[0] = True
        return True
    return False


cdef inline void _cell(double value, bint floating, int8_t* tag, int64_t* bits) noexcept:
    """A value as the store's cell: a float's bits, or the int it is."""
    if floating:
        tag[0] = TAG_FLOAT
        memcpy(bits, &value, sizeof(double))
    else:
        tag[0] = TAG_INT
        bits[0] = <int64_t>value


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
def cpu_plan(
    const int8_t[:, ::1] tags,
    const int64_t[:, ::1] payload,
    double host_cpus,
    bint contended,
    double period,
    bint period_float,
    double min_cap,
    bint min_cap_float,
    tuple unlimited_cell,
    tuple period_cell,
    object name_of,
):
    """Twin of mom.dsl.builtins_sla_resources.cpu_plan; None where that one must decide
    (a field that is no number, a division by zero: it raises the policy's error)."""
    cdef Py_ssize_t n = tags.shape[1], i
    cdef double vcpus, user_limit, cap, guarantee, current, reserved = 0.0, cappable_float_sum = 0.0
    cdef double share, left, low, fraction, class_quota, user_quota, quota, stretch, stretched, periods
    cdef bint vcpus_float, user_float, cap_float, guarantee_float, current_float, cappable_is_float = False
    cdef bint share_float, low_float = False, fraction_float, class_float, quota_float, capped, limited, small
    cdef bint period_is_float
    cdef int64_t cappable_int = 0, ncapped = 0
    if tags.shape[0] != 6 or payload.shape[0] != 6 or payload.shape[1] != n:
        raise ValueError("cpu_plan: one row of cells per field of CPU_FIELDS")
    # pass 1: the fields every guest must have, the CPUs promised and the cappable vCPUs
    for i in range(n):
        if not (_number(tags[0, i], payload[0, i], &vcpus, &vcpus_float)
                and _number(tags[1, i], payload[1, i], &user_limit, &user_float)
                and _number(tags[4, i], payload[4, i], &cap, &cap_float)
                and _number(tags[5, i], payload[5, i], &guarantee, &guarantee_float)):
            return None
        reserved = reserved + guarantee * vcpus
        if cap > 0:
            if vcpus_float:
                cappable_is_float = True
            cappable_int += <int64_t>vcpus
            cappable_float_sum = cappable_float_sum + vcpus
    cdef double cappable = cappable_float_sum if cappable_is_float else <double>cappable_int
    left = host_cpus - reserved
    if cappable > 0:
        share = (left if left > 0 else 0.0) / cappable
        share_float = True
    else:
        share = 1.0
        share_float = False
    cdef int8_t unlimited_tag = unlimited_cell[0], period_tag = period_cell[0]
    cdef int64_t unlimited_bits = unlimited_cell[1], period_bits = period_cell[1]
    unlimit_array = np.zeros(n, dtype=np.bool_)
    set_quota_array = np.zeros(n, dtype=np.bool_)
    quota_tags_array = np.zeros(n, dtype=np.int8)
    quota_payload_array = np.zeros(n, dtype=np.int64)
    set_period_array = np.zeros(n, dtype=np.bool_)
    period_tags_array = np.zeros(n, dtype=np.int8)
    period_payload_array = np.zeros(n, dtype=np.int64)
    cdef cnp.npy_bool[::1] unlimit = unlimit_array
    cdef cnp.npy_bool[::1] set_quota = set_quota_array
    cdef int8_t[::1] quota_tags = quota_tags_array
    cdef int64_t[::1] quota_payload = quota_payload_array
    cdef cnp.npy_bool[::1] set_period = set_period_array
    cdef int8_t[::1] period_tags = period_tags_array
    cdef int64_t[::1] period_payload = period_payload_array
    # pass 2: each guest
    for i in range(n):
        _number(tags[0, i], payload[0, i], &vcpus, &vcpus_float)
        _number(tags[1, i], payload[1, i], &user_limit, &user_float)
        _number(tags[4, i], payload[4, i], &cap, &cap_float)
        capped = contended and cap > 0
        limited = user_limit < 100.0
        if not (capped or limited):
            unlimit[i] = set_quota[i] = set_period[i] = True
            quota_tags[i], quota_payload[i] = unlimited_tag, unlimited_bits
            period_tags[i], period_payload[i] = period_tag, period_bits
            continue
        if capped:
            ncapped += 1
        if limited and vcpus == 0:
            return None
        user_quota = (user_limit / 100.0) * (period * host_cpus) / vcpus
        if share < cap:
            low, low_float = share, share_float
        else:
            low, low_float = cap, cap_float
        if low > min_cap:
            fraction, fraction_float = low, low_float
        else:
            fraction, fraction_float = min_cap, min_cap_float
        class_quota = fraction * period
        class_float = fraction_float or period_float
        if capped and limited:
            if class_quota < user_quota:
                quota, quota_float = class_quota, class_float
            else:
                quota, quota_float = user_quota, True
        elif capped:
            quota, quota_float = class_quota, class_float
        else:
            quota, quota_float = user_quota, True
        small = not (quota > 1000)
        if small:
            if quota == 0:
                return None
            stretch = 1 + 1000 / quota
            stretched, periods = stretch * quota, stretch * period
            quota_float = period_is_float = True
        else:
            stretched, periods = quota, period
            period_is_float = period_float
        _cell(stretched, quota_float, &quota_tags[i], &quota_payload[i])
        _cell(periods, period_is_float, &period_tags[i], &period_payload[i])
        # the guest's own values: set where they differ (None or no number: differs)
        if tags[2, i] == TAG_ABSENT or tags[3, i] == TAG_ABSENT:
            return None
        set_quota[i] = not _number(tags[2, i], payload[2, i], &current, &current_float) or current != stretched
        set_period[i] = not _number(tags[3, i], payload[3, i], &current, &current_float) or current != periods
    return CpuPlan(
        ncapped, unlimit_array, set_quota_array, quota_tags_array, quota_payload_array,
        set_period_array, period_tags_array, period_payload_array,
    )  # fmt: skip


# ## The disks


cdef inline object _read(object descriptor, object obj, str name):
    if descriptor is not None:
        return Py_TYPE(descriptor).tp_descr_get(<PyObject*>descriptor, <PyObject*>obj, <PyObject*>Py_TYPE(obj))
    return getattr(obj, name, None)


cdef dict _types = {}  # type -> (a KIND_IO_TUNE record, _current's, _policy_values' descriptor)
# the two types met last (a record's and its limits') and their entries: cached types
# only, so the pointers stay valid (_types holds the types)
cdef PyObject* _type_a = NULL
cdef PyObject* _type_b = NULL
cdef tuple _entry_a = None
cdef tuple _entry_b = None


cdef tuple _type_of(object obj):
    global _type_a, _type_b, _entry_a, _entry_b
    cdef PyObject* kind = <PyObject*>Py_TYPE(obj)
    if kind == _type_a:
        return _entry_a
    if kind == _type_b:
        return _entry_b
    entry = _lookup_type(obj)
    if type(obj) in _types:
        _type_a, _entry_a = _type_b, _entry_b
        _type_b, _entry_b = kind, entry
    return entry


cdef tuple _lookup_type(object obj):
    kind = type(obj)
    found = <PyObject*>PyDict_GetItem(_types, kind)
    if found != NULL:
        return <tuple>found
    record = kind.__dict__.get(KIND_NAME) == IO_KIND  # its own body: kinds are not inherited
    entry = (record, data_descriptor(kind, "_current"), data_descriptor(kind, "_policy_values"))
    if len(_types) < 64:
        _types[kind] = entry
    return entry


cdef inline int _set(dict current, object key, object value) except -1:
    """A setter on a record: None or int(value), left alone where already that int."""
    cdef PyObject* previous
    if type(value) is int:
        previous = PyDict_GetItemWithError(current, key)
        if previous != <PyObject*>value:
            # (an equal int is replaced by the same object too: the next cycle then finds
            # it at once, and the dict holds the same value)
            PyDict_SetItem(current, key, value)
    else:
        PyDict_SetItem(current, key, None if value is None else int(value))
    return 0


cdef inline object _maximum_values(object disk, tuple disk_type):
    """The dict of a record's maximum rates, or None (the specification decides)."""
    values = _read(disk_type[2], disk, "_policy_values")
    if type(values) is not dict:
        return None
    found = PyDict_GetItemWithError(values, "maximum")
    if found == NULL:
        return None
    maximum = <object>found
    limits = _read(_type_of(maximum)[2], maximum, "_policy_values")
    return limits if type(limits) is dict else None


cdef inline object _lower(object limit, object cap, object unlimited):
    """oVirt's limit and the cap; 0 is "no limit" on either side (capped_limits' lower)."""
    if limit == unlimited:
        return cap
    if cap == 0:
        return limit
    return cap if cap < limit else limit  # (min limit cap)


cdef int _set_capped(dict current, PyObject** values, object bytes_cap, object iops_cap, object unlimited) except -1:
    """Twin of capped_limits, then the six setters."""
    total_bytes, read_bytes, write_bytes = <object>values[0], <object>values[1], <object>values[2]
    total_iops, read_iops, write_iops = <object>values[3], <object>values[4], <object>values[5]
    split_bytes = (read_bytes != 0) or (write_bytes != 0)
    split_iops = (read_iops != 0) or (write_iops != 0)
    if split_bytes:
        limits = (total_bytes, _lower(read_bytes, bytes_cap, unlimited), _lower(write_bytes, bytes_cap, unlimited))
    else:
        limits = (_lower(total_bytes, bytes_cap, unlimited), read_bytes, write_bytes)
    if split_iops:
        limits += (total_iops, _lower(read_iops, iops_cap, unlimited), _lower(write_iops, iops_cap, unlimited))
    else:
        limits += (_lower(total_iops, iops_cap, unlimited), read_iops, write_iops)
    for k in range(6):
        _set(current, KEYS[k], limits[k])
    return 0


def apply_disks(list tunes, list bytes_caps, list iops_caps, bint enabled, object unlimited):
    """Twin of mom.dsl.builtins_sla_resources.apply_disks."""
    cdef Py_ssize_t g, k, disks = 0
    cdef PyObject* values[6]
    cdef bint capped, complete
    cdef dict current
    cdef tuple disk_type
    if len(bytes_caps) != len(tunes) or len(iops_caps) != len(tunes):
        raise ValueError("apply_disks: one cap of each kind per guest")
    for g in range(len(tunes)):
        bytes_cap = bytes_caps[g]
        iops_cap = iops_caps[g]
        capped = bool(bytes_cap + iops_cap)
        for disk in tunes[g]:
            disks += 1
            disk_type = _type_of(disk)
            if not disk_type[0]:
                set_disk(disk, enabled, bytes_cap, iops_cap, capped, unlimited)
                continue
            current = _read(disk_type[1], disk, "_current")
            if not enabled:
                for key in KEYS:
                    _set(current, key, unlimited)
                continue
            maximum = _maximum_values(disk, disk_type)
            complete = maximum is not None
            if complete:
                for k in range(6):
                    values[k] = PyDict_GetItemWithError(maximum, KEYS[k])
                    if values[k] == NULL:
                        complete = False
                        break
            if not complete:
                set_disk(disk, enabled, bytes_cap, iops_cap, capped, unlimited)  # (it says what is missing)
                continue
            if capped:
                _set_capped(current, values, bytes_cap, iops_cap, unlimited)
            else:
                for k in range(6):
                    _set(current, KEYS[k], <object>values[k])
    return disks


#: the kernels the fast path's programs give the resource builtins
KERNELS = Kernels(gather, copy_controls, write_controls, cpu_plan, apply_disks)


# ## sla_balloon's loops (twins of mom.dsl.builtins_sla's)

from libc.math cimport floor, isnan

from mom.dsl.builtins_sla import _ABSENT, _HIGHEST, BalloonKernels, prepare_inputs as _reference_prepare
from mom.sla.allocator import MAX_KIB as _MAX_KIB

cdef double[::1] ABSENT_VALUES = np.ascontiguousarray(_ABSENT[:, 0], dtype=np.float64)
cdef double[::1] HIGHEST_VALUES = np.ascontiguousarray(_HIGHEST[:, 0], dtype=np.float64)
cdef int64_t BALLOON_MAX_KIB = _MAX_KIB


@cython.boundscheck(False)
@cython.wraparound(False)
def gather_numbers(
    const int8_t[:, ::1] latest_tags,
    const int64_t[:, ::1] latest_payload,
    const int32_t[::1] count,
    const Py_ssize_t[::1] rows,
    const Py_ssize_t[::1] fields,
):
    """Twin of mom.dsl.builtins_sla.gather_numbers."""
    cdef Py_ssize_t n = rows.shape[0], m = fields.shape[0], k, i, row, field
    cdef double value
    cdef bint floating
    matrix_array = np.full((m, n), np.nan)
    cdef double[:, ::1] matrix = matrix_array
    for k in range(m):
        if fields[k] >= latest_tags.shape[0]:
            raise IndexError(f"gather_numbers: no field {fields[k]}")
    for i in range(n):
        row = rows[i]
        if row < 0 or row >= latest_tags.shape[1] or row >= count.shape[0]:
            raise IndexError(f"gather_numbers: no row {row}")
        if count[row] == 0:
            continue
        for k in range(m):
            field = fields[k]
            if field >= 0 and _number(latest_tags[field, row], latest_payload[field, row], &value, &floating):
                matrix[k, i] = value
    return matrix_array


cdef inline int64_t _whole(double x, Py_ssize_t k) noexcept:
    """A field as allocator_inputs makes it: absent -> its default; floored, within 0
    and the field's highest value (the same double operations, then int64)."""
    if isnan(x):
        x = ABSENT_VALUES[k]
    x = floor(x)
    if not x > 0:
        x = 0
    if not x < HIGHEST_VALUES[k]:
        x = HIGHEST_VALUES[k]
    return <int64_t>x


cdef inline int64_t _min64(int64_t a, int64_t b) noexcept:
    return a if a < b else b


cdef inline int64_t _max64(int64_t a, int64_t b) noexcept:
    return a if a > b else b


@cython.boundscheck(False)
@cython.wraparound(False)
def prepare_inputs(const double[:, ::1] matrix, object keep_free, object fault_limit):
    """Twin of mom.dsl.builtins_sla.prepare_inputs."""
    cdef Py_ssize_t n = matrix.shape[1], i
    cdef int64_t bmax, bmin, current, idle, guarantee, used, minimum, keep = 0
    cdef bint keeping = keep_free is not None, holding = fault_limit is not None
    cdef double limit = 0.0, faults
    if matrix.shape[0] != 10 or ABSENT_VALUES.shape[0] != 10:
        raise ValueError("prepare_inputs: one row per field of BALLOON_FIELDS")
    if keeping:
        if not keep_free <= BALLOON_MAX_KIB:
            return _reference_prepare(np.asarray(matrix), keep_free, fault_limit)  # (it says why)
        keep = <int64_t>(int(keep_free))
    if holding:
        limit = fault_limit
    names = ("balloon_max", "balloon_min", "guarantee", "used", "margin", "reclaim_rank", "priority", "idle", "current")
    arrays = [np.empty(n, dtype=np.int64) for _name in names]
    cdef int64_t[::1] out_max = arrays[0], out_min = arrays[1], out_guarantee = arrays[2], out_used = arrays[3]
    cdef int64_t[::1] out_margin = arrays[4], out_rank = arrays[5], out_priority = arrays[6], out_idle = arrays[7]
    cdef int64_t[::1] out_current = arrays[8]
    sla_array = np.empty(n, dtype=np.int64)
    excluded_array = np.empty(n, dtype=np.bool_)
    cdef int64_t[::1] sla = sla_array
    cdef cnp.npy_bool[::1] excluded = excluded_array
    for i in range(n):
        bmax = _whole(matrix[0, i], 0)
        bmin = _whole(matrix[1, i], 1)
        current = _whole(matrix[2, i], 2)
        idle = _whole(matrix[3, i], 3)
        guarantee = _whole(matrix[4, i], 4)
        # no balloon or memory statistics, or a stuck balloon: held where it is
        excluded[i] = isnan(matrix[0, i]) or isnan(matrix[2, i]) or isnan(matrix[3, i]) or _whole(matrix[8, i], 8) > 0
        if isnan(matrix[0, i]):
            bmax = current  # (no balloon_max: the guest counts at its current size)
        if isnan(matrix[2, i]):
            current = bmax  # (unknown: counts as all of it)
        current = _min64(current, bmax)
        bmin = _min64(bmin, bmax)
        guarantee = _min64(_max64(guarantee, bmin), bmax)
        if isnan(matrix[4, i]):
            guarantee = bmin
        idle = _min64(idle, current)
        used = current - idle
        sla[i] = guarantee
        if keeping:
            minimum = _min64(_max64(bmin, _min64(used + keep, BALLOON_MAX_KIB)), bmax)
            bmin = minimum
            guarantee = _max64(guarantee, minimum)
        if holding:
            faults = matrix[9, i]
            if isnan(faults):
                faults = 0.0
            if faults > limit:
                minimum = _max64(bmin, current)
                bmin = minimum
                guarantee = _max64(guarantee, minimum)
        out_max[i] = bmax
        out_min[i] = bmin
        out_guarantee[i] = guarantee
        out_used[i] = used
        out_margin[i] = _whole(matrix[7, i], 7)
        out_rank[i] = _whole(matrix[5, i], 5)
        out_priority[i] = _whole(matrix[6, i], 6)
        out_idle[i] = idle
        out_current[i] = current
    inputs = dict(zip(names, arrays))
    inputs["excluded"] = excluded_array
    return inputs, excluded_array, sla_array


#: the kernels the fast path's programs give sla_balloon
BALLOON_KERNELS = BalloonKernels(gather_numbers, prepare_inputs, write_controls)
