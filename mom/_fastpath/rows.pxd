# What one evaluation reads: rows of column stores through their ColumnView, and
# entities and IO-tune records by the kind their class declares (mom/dsl/layout.py).
# rows.pyx holds the one Stat/StatAvg/Control of the fast path.

from cpython.ref cimport PyObject
from cpython.list cimport PyList_GET_ITEM
from libc.stdint cimport int64_t, int32_t, int16_t, int8_t, uint64_t

from mom._fastpath.code cimport Code
from mom._fastpath.layout cimport S_ABSENT
from mom._fastpath.values cimport (
    Value, stored_scalar, vcopy, vobject, T_NONE, T_BOOL, T_INT, T_FLOAT, T_ROWMETHOD, T_ENTMETHOD, T_IOSET
)
from mom._fastpath.values cimport PyLong_AsLongLongAndOverflow

cdef enum:
    FIELD_CACHE = 24  # field names remembered per table
    TYPE_CACHE = 32   # types remembered per machine
    WARM_ROWS = 8     # rows whose objects Rows.warm reads ahead at once
    WARM_SLOTS = 8    # slots of a declared type it follows

ctypedef struct FieldName:
    PyObject* name    # owned while cached, so its address cannot be reused
    int32_t field

ctypedef struct TableInfo:
    PyObject* table   # owned until reset(): no other table can take its address meanwhile
    PyObject* view    # owned: the table's ColumnView (mom.dsl.layout), which holds the arrays
    PyObject* field_index  # borrowed from the view: name -> field, the fields policies read
    PyObject* objects      # borrowed from the view: the values of object cells
    PyObject* control_index    # borrowed from the view: control name -> column
    PyObject* control_objects  # borrowed from the view: (row, column) -> object control
    int32_t* attribute_field  # per attribute name of the code: field index, -1 none, -2 not looked up
    FieldName names[FIELD_CACHE]
    int32_t nnames
    int8_t* tags             # [field, row, slot]: the sample rings
    int64_t* payload
    int8_t* latest_tags      # [field, row]: the newest sample, field-major
    int64_t* latest_payload
    Py_ssize_t capacity      # rows: the stride of the field-major arrays
    int32_t* head            # [row]: ring slot of the newest sample
    int32_t* count           # [row]: samples in the ring
    int32_t nfields
    int32_t history          # ring slots per row
    # controls: one column per name, refreshed when the store widens them
    FieldName controls[FIELD_CACHE]
    int32_t ncontrols
    int8_t* control_tags     # [row, column]
    int64_t* control_payload
    int32_t* control_order   # [row, column]: order first set in, from 1; 0 unset
    int32_t* control_count   # [row]
    int32_t control_width    # columns: the stride of the control arrays
    # fields (below 64) whose object cells were read since a loop last took them (see
    # Rows.warm): a hint, never a result
    uint64_t object_fields

ctypedef struct TypeInfo:
    PyObject* kind_type       # owned for the machine's life: no other type takes its address
    int32_t kind              # the _policy_kind its own body declares (K_*), K_NONE if none
    PyObject* policy_values   # owned: the data descriptor of _policy_values, NULL: getattr
    PyObject* state[3]        # owned: data descriptors of the kind's KIND_ATTRIBUTES, NULL: getattr
    PyObject* slots[WARM_SLOTS]  # owned: a declared type's slot descriptors (what Rows.warm follows)
    int32_t nslots

ctypedef struct Average:
    # Entity.StatAvg's running sum, oldest sample first: ints add exactly until the
    # first float, which turns the sum into a float from then on (as Python's +)
    int64_t total
    double ftotal
    bint floating
    int64_t n         # values summed (None skipped)


# the slot getattr(instance, name) would read for instances of kind, or None (rows.pyx)
cdef object data_descriptor(object kind, str name)


cdef class Rows:
    cdef Code c
    cdef TableInfo* tables
    cdef int32_t ntables
    cdef int32_t tables_capacity
    # what the types of the values met so far declare, and how their attributes read;
    # past TYPE_CACHE types, `uncached` (no kind, getattr)
    cdef TypeInfo types[TYPE_CACHE]
    cdef int32_t ntypes
    cdef TypeInfo uncached
    cdef TypeInfo* last_type   # the one found last (types come in runs), or NULL
    cdef TypeInfo* other_type  # the one found before it, or NULL

    cdef TypeInfo* find_type(self, PyObject* kind) except NULL
    cdef int unbox_object(self, object x, Value* out) except -1
    cdef int16_t table_slot(self, PyObject* table) except -1
    cdef int load_view(self, TableInfo* info, object view) except -1
    cdef int reload_views(self) except -1
    cdef void reset(self) noexcept
    cdef int32_t look_up_field(self, TableInfo* t, object name) except -2
    cdef int32_t attribute_field(self, Value* row, int32_t attribute) except -2
    cdef int attribute(self, Value* holder, int32_t attribute, Value* out) except -1
    cdef object policy_values(self, object obj)
    cdef int method_of(self, Value* binding, int32_t attribute, Value* out) except -1
    cdef int rule_method(self, Value* method, Value* args, int32_t n, Value* out) except -1
    cdef int io_setter(self, Value* setter, Value* value) except -1
    cdef int average(self, Value* method, int32_t field, object name, Value* out) except -1
    cdef int32_t look_up_control(self, TableInfo* info, object name, bint create) except -2
    cdef int set_control(self, Value* method, object name, Value* value) except -1
    cdef int get_control(self, Value* method, object name, Value* out) except -1
    cdef void warm(self, TableInfo* t, int32_t* rows, int64_t n, uint64_t fields) noexcept


cdef inline TypeInfo* type_info(Rows rows, PyObject* kind) except NULL:
    """What a type declares (its kind) and how its attributes read (cached)."""
    cdef TypeInfo* info = rows.last_type
    if info != NULL and info.kind_type == kind:
        return info
    info = rows.other_type  # values of two types often alternate (a record, its fields)
    if info != NULL and info.kind_type == kind:
        rows.other_type = rows.last_type
        rows.last_type = info
        return info
    return rows.find_type(kind)


cdef inline bint method_of_row(Rows rows, Value* row, int32_t attribute, Value* out) noexcept:
    """The rule method ``attribute`` of a row (T_ROW) into ``out``; False if none."""
    cdef int32_t id = rows.c.attribute_method[attribute]
    if id < 0:
        return False
    vcopy(out, row)
    out.tag = T_ROWMETHOD
    out.aux = id
    return True


cdef inline int unbox(Rows rows, object x, Value* out) except -1:
    """Python object -> Value (``out`` must be clear); the usual numbers inline, anything
    else (a table row as T_ROW) through ``rows``."""
    cdef int overflow = 0
    cdef int64_t n
    cdef type kind = type(x)
    if kind is float:
        out.tag = T_FLOAT
        out.f = x
        return 0
    if kind is int:
        n = PyLong_AsLongLongAndOverflow(x, &overflow)
        if not overflow:
            out.tag = T_INT
            out.i = n
            return 0
    elif x is None:
        out.tag = T_NONE
        return 0
    return rows.unbox_object(x, out)


cdef inline int32_t cached(FieldName* names, int32_t n, PyObject* name) noexcept:
    """What a table remembers for a name (a field, a control column) among its ``n``
    names, by the name object's address: names repeat (attribute names, Stat and
    Control arguments, mostly interned constants); -2 if it has not seen it."""
    cdef int32_t k
    for k in range(n):
        if names[k].name == name:
            return names[k].field
    return -2


cdef inline int32_t field_of(Rows rows, Value* row, object name) except -2:
    """Field index of ``name`` in the row's table, -1 if it has no such field."""
    cdef TableInfo* t = &rows.tables[row.slot]
    cdef int32_t field = cached(t.names, t.nnames, <PyObject*>name)
    if field != -2:
        return field
    return rows.look_up_field(t, name)


cdef inline int32_t control_column(Rows rows, TableInfo* info, object name, bint create) except -2:
    """Column of a control name; -1 if absent and not ``create`` (then added)."""
    cdef int32_t column = cached(info.controls, info.ncontrols, <PyObject*>name)
    if column != -2:
        return column
    return rows.look_up_control(info, name, create)


cdef inline int call_method(Rows rows, Value* method, Value* args, int32_t n, Value* out) except -1:
    """A method recognised by Rows (a rule method, an IO-tune setter) called in C; 0
    when the Python method must decide."""
    if method.tag == T_ROWMETHOD or method.tag == T_ENTMETHOD:
        return rows.rule_method(method, args, n, out)
    if method.tag == T_IOSET and n == 1:
        rows.io_setter(method, &args[0])
        out.tag = T_NONE
        return 1
    return 0


cdef inline int32_t field_at(Rows rows, Value* row, int32_t attribute) except -2:
    """The field of attribute name ``attribute`` in the row's table (cached)."""
    cdef int32_t field = rows.tables[row.slot].attribute_field[attribute]
    if field != -2:
        return field
    return rows.attribute_field(row, attribute)


cdef inline int row_latest(TableInfo* t, int64_t row, int32_t field, Value* out) except -1:
    """The newest value of a field of a row; 0 if no such field, absent or no samples."""
    cdef Py_ssize_t at
    cdef int8_t tag
    if field < 0 or t.count[row] == 0:
        return 0
    at = field * t.capacity + row
    tag = t.latest_tags[at]
    if stored_scalar(tag, t.latest_payload[at], out):
        return 1
    if tag == S_ABSENT:
        return 0
    vobject(out, <object>PyList_GET_ITEM(<object>t.objects, t.latest_payload[at]))
    if field < 64:
        t.object_fields |= (<uint64_t>1) << field
    return 1
