"""What one evaluation reads, in C: rows of column stores and declared objects.

The column store hands over a ColumnView of its arrays (mom.dsl.layout); entities and
IO-tune records are recognised by the ``_policy_kind`` their class declares, and read
through the attributes that kind promises.  The rule methods (Stat, StatAvg, Control,
GetControl) exist here once, over either storage: a row's columns or an entity's
list of sample dicts.  Anything unusual is left to the Python method, which raises
exactly what the reference raises.
"""

from cpython.ref cimport Py_INCREF, Py_DECREF, Py_XDECREF
from cpython.dict cimport PyDict_CheckExact, PyDict_GetItemWithError, PyDict_SetItem
from cpython.list cimport PyList_GET_SIZE
from cpython.mem cimport PyMem_Malloc, PyMem_Realloc, PyMem_Free
from libc.string cimport memcpy, memset

cimport cython
cimport numpy as cnp

from mom._fastpath.layout cimport *
from mom._fastpath.values cimport *
from mom._fastpath.slots cimport mom_slot_value

from types import MemberDescriptorType as _MemberDescriptorType

from mom.dsl.layout import IO_TUNE_KEYS, KIND_ATTRIBUTES, POLICY_KIND
from mom.dsl.sandbox import MISSING as _MISSING, policy_getattr as _policy_getattr
from mom.errors import EntityError as _EntityError, PolicyError as _PolicyError

cnp.import_array()

cdef tuple IO_KEYS = IO_TUNE_KEYS
cdef object _MEMBER = _MemberDescriptorType  # a slot's descriptor

cdef extern from *:
    """
    #define mom_prefetch(p) __builtin_prefetch((const void*)(p))
    """
    void mom_prefetch(PyObject* p) noexcept

cdef extern from "Python.h":
    ctypedef struct PyDictObject:
        void* ma_keys

cdef enum:
    WARM_LEVELS = 4    # what Rows.warm walks: levels below a cell's object
    WARM_NODES = 256   # objects per level
    WARM_FANOUT = 12   # items of a list


cdef object data_descriptor(object kind, str name):
    """The data descriptor that ``getattr(instance, name)`` would call for instances of
    ``kind``, or None when getattr must decide (an instance dict, a custom getattr)."""
    if kind.__getattribute__ is not object.__getattribute__:
        return None
    for klass in kind.__mro__:
        found = klass.__dict__.get(name, _MISSING)
        if found is not _MISSING:
            if hasattr(type(found), "__set__") and Py_TYPE(found).tp_descr_get != NULL:
                return found
            return None
    return None


# mom_slot_value: mom/_fastpath/slots.pxd


cdef inline object read_attribute(PyObject* descriptor, object obj, str name):
    """``getattr(obj, name)``, through its data descriptor when the type has one (a
    slot's read in place: the per-guest records keep their state in slots)."""
    cdef PyObject* value
    if descriptor != NULL:
        value = mom_slot_value(descriptor, <PyObject*>obj)
        if value != NULL:
            return <object>value
        return Py_TYPE(<object>descriptor).tp_descr_get(descriptor, <PyObject*>obj, <PyObject*>Py_TYPE(obj))
    return getattr(obj, name)


cdef inline void remember(FieldName* names, int32_t* n, object name, int32_t value) noexcept:
    """Remember ``value`` for ``name`` (see cached()) while there is room, holding a
    reference to the name meanwhile, so that its address cannot be reused."""
    if n[0] < FIELD_CACHE:
        Py_INCREF(name)
        names[n[0]].name = <PyObject*>name
        names[n[0]].field = value
        n[0] += 1


cdef inline void average_float(Average* a, double x) noexcept:
    if not a.floating:
        a.floating = True
        a.ftotal = <double>a.total
    a.ftotal = a.ftotal + x
    a.n += 1


cdef inline bint average_int(Average* a, int64_t x) noexcept:
    """Add an int; False when the exact sum overflows int64 (Python's result is a big
    int: the caller leaves the average to Python)."""
    if a.floating:
        a.ftotal = a.ftotal + <double>x
    elif mom_add_overflow(a.total, x, &a.total):
        return False
    a.n += 1
    return True


cdef inline bint average_result(Average* a, Value* out) noexcept:
    """The mean into ``out``; False (``out`` untouched) if an int sum would not convert
    to double exactly."""
    if a.n == 0:
        out.f = 0.0
    elif a.floating:
        out.f = a.ftotal / <double>a.n
    elif mom_small(a.total):
        out.f = <double>a.total / <double>a.n
    else:
        return False
    out.tag = T_FLOAT
    return True


cdef inline bint average_run(TableInfo* t, Py_ssize_t at, int32_t n, Average* a) noexcept:
    """Add ``n`` samples of a ring, from ``at`` on (no wrap inside); False when Python
    must decide (an object, or an int sum past int64)."""
    cdef int32_t k
    cdef int8_t tag
    for k in range(n):
        tag = t.tags[at + k]
        if tag == S_FLOAT:
            average_float(a, mom_bits_double(t.payload[at + k]))
        elif tag == S_INT or tag == S_BOOL:
            if not average_int(a, t.payload[at + k]):
                return False
        elif tag == S_OBJECT:
            return False
        # S_NONE and S_ABSENT: skipped, as the reference skips None
    return True


# ## Attributes of objects: Rows.attribute past rows (the sandbox's rules, see mom.dsl.sandbox)

cdef inline PyObject* declared_dict(Rows rows, PyObject* obj) except? NULL:
    """The dict an object's ``_policy_values`` slot holds, borrowed; NULL if it has no
    such slot or the slot holds anything else (object_attribute then decides)."""
    cdef TypeInfo* info = type_info(rows, <PyObject*>Py_TYPE(<object>obj))
    cdef PyObject* values
    if info.policy_values == NULL:
        return NULL
    values = mom_slot_value(info.policy_values, obj)
    if values == NULL or not PyDict_CheckExact(<object>values):
        return NULL
    return values


cdef int dict_attribute(Rows rows, PyObject* obj, PyObject* values, int32_t attribute, Value* out) except -1:
    """object_attribute() of an object whose ``_policy_values`` is the dict ``values``."""
    cdef PyObject* found
    held = <object>values  # (its own reference while the lookup runs: a key's __eq__ may run)
    name = rows.c.attributes[attribute]
    found = PyDict_GetItemWithError(held, name)
    if found != NULL:
        unbox(rows, <object>found, out)
        return 1
    return looked_up(rows, <object>obj, name, out)


cdef int object_attribute(Rows rows, object obj, int32_t attribute, Value* out) except -1:
    """``obj.attribute`` as a policy may read it into ``out``; 0 if it has none."""
    cdef PyObject* found_value
    name = rows.c.attributes[attribute]
    values = rows.policy_values(obj)  # the common case, in C
    if type(values) is dict:
        found_value = PyDict_GetItemWithError(values, name)
        if found_value != NULL:
            unbox(rows, <object>found_value, out)
            return 1
    return looked_up(rows, obj, name, out)


cdef int looked_up(Rows rows, object obj, object name, Value* out) except -1:
    """An attribute that is not among ``obj``'s declared values."""
    found = _policy_getattr(obj, name)  # methods and hooks: the shared rules
    if found is _MISSING:
        return 0
    unbox(rows, found, out)
    return 1


# The storage-specific parts of the rule methods: a row's columns (T_ROWMETHOD) or an
# entity's attributes (T_ENTMETHOD: _valid, statistics, controls); inline in
# Rows.rule_method, whose usual case (a row) is a few loads then.

cdef inline int declared(Rows self, Value* method, object name, int32_t* field) except -1:
    """Raise the reference's KeyError unless ``name`` is a declared field; then 1 if
    there are no samples, 2 if there are; 0 when the Python method must decide."""
    cdef TypeInfo* info
    if method.tag == T_ROWMETHOD:
        field[0] = field_of(self, method, name)
        if field[0] < 0:
            raise KeyError("Field '%s' is not declared in any collector." % name)
        return 2 if self.tables[method.slot].count[method.i] else 1
    info = &self.types[method.slot]
    entity = <object>method.o
    valid = read_attribute(info.state[0], entity, "_valid")
    if type(valid) is not frozenset:
        return 0
    statistics = read_attribute(info.state[1], entity, "statistics")
    if type(statistics) is not list:
        return 0
    if name not in valid:
        raise KeyError("Field '%s' is not declared in any collector." % name)
    return 2 if PyList_GET_SIZE(statistics) else 1

cdef inline int latest(Rows self, Value* method, int32_t field, object name, Value* out) except -1:
    """The newest sample's value of a field into ``out``: 1, or 0 if it lacks it;
    -1 when the Python method must decide."""
    cdef PyObject* found
    if method.tag == T_ROWMETHOD:
        return row_latest(&self.tables[method.slot], method.i, field, out)
    statistics = read_attribute(self.types[method.slot].state[1], <object>method.o, "statistics")
    sample = <object>PyList_GET_ITEM(statistics, PyList_GET_SIZE(statistics) - 1)  # declared(): not empty
    if type(sample) is not dict:
        return -1
    found = PyDict_GetItemWithError(sample, name)
    if found == NULL:
        return 0
    unbox(self, <object>found, out)
    return 1


@cython.final
@cython.no_gc_clear  # __dealloc__ releases the tables and types it holds
cdef class Rows:
    """The tables and types one machine reads (its tables are reset after each evaluation)."""

    def __cinit__(self, Code code):
        self.c = code
        self.tables_capacity = 4
        self.tables = <TableInfo*>PyMem_Malloc(self.tables_capacity * sizeof(TableInfo))
        if self.tables == NULL:
            raise MemoryError()
        self.ntables = 0
        self.ntypes = 0
        self.last_type = NULL
        self.other_type = NULL
        memset(&self.uncached, 0, sizeof(TypeInfo))

    def __dealloc__(self):
        cdef int32_t k, j
        self.reset()
        for k in range(self.ntypes):
            Py_XDECREF(self.types[k].policy_values)
            for j in range(3):
                Py_XDECREF(self.types[k].state[j])
            for j in range(self.types[k].nslots):
                Py_XDECREF(self.types[k].slots[j])
            Py_DECREF(<object>self.types[k].kind_type)
        PyMem_Free(self.tables)

    cdef void reset(self) noexcept:
        """Forget this evaluation's tables (their caches hold names and the tables)."""
        cdef Py_ssize_t k, j
        for k in range(self.ntables):
            for j in range(self.tables[k].nnames):
                Py_XDECREF(self.tables[k].names[j].name)
            self.tables[k].nnames = 0
            for j in range(self.tables[k].ncontrols):
                Py_XDECREF(self.tables[k].controls[j].name)
            self.tables[k].ncontrols = 0
            PyMem_Free(self.tables[k].attribute_field)
            Py_DECREF(<object>self.tables[k].view)
            Py_DECREF(<object>self.tables[k].table)
        self.ntables = 0

    # ## Types: what a class declares (mom.dsl.layout)

    cdef TypeInfo* find_type(self, PyObject* kind) except NULL:
        """type_info() past its two recent types: the cache, filled on a miss."""
        cdef int32_t k, j
        cdef TypeInfo* info
        for k in range(self.ntypes):
            if self.types[k].kind_type == kind:
                self.other_type = self.last_type
                self.last_type = &self.types[k]
                return self.last_type
        if self.ntypes == TYPE_CACHE:
            return &self.uncached
        t = <object>kind
        own = t.__dict__.get(POLICY_KIND, K_NONE)  # its own body: not inherited
        info = &self.types[self.ntypes]
        memset(info, 0, sizeof(TypeInfo))
        info.kind = own if type(own) is int and K_ROW <= own <= K_IO_TUNE else K_NONE
        descriptor = data_descriptor(t, "_policy_values")
        if descriptor is not None:
            Py_INCREF(descriptor)
            info.policy_values = <PyObject*>descriptor
        for j, name in enumerate(KIND_ATTRIBUTES.get(info.kind, ())):
            descriptor = data_descriptor(t, name)
            if descriptor is not None:
                Py_INCREF(descriptor)
                info.state[j] = <PyObject*>descriptor
        if info.policy_values != NULL or info.kind != K_NONE:
            # its slots, for Rows.warm to follow (only read there: never a result)
            for klass in t.__mro__:
                for name, found in klass.__dict__.items():
                    if info.nslots < WARM_SLOTS and type(found) is _MEMBER and type(name) is str:
                        descriptor = data_descriptor(t, name)
                        if descriptor is found:
                            Py_INCREF(descriptor)
                            info.slots[info.nslots] = <PyObject*>descriptor
                            info.nslots += 1
        Py_INCREF(t)
        info.kind_type = kind
        self.ntypes += 1
        self.other_type = self.last_type
        self.last_type = info
        return info

    cdef int unbox_object(self, object x, Value* out) except -1:
        """Python object -> Value (``out`` must be clear), a table row as T_ROW."""
        cdef type kind = type(x)
        # (the builtin types declare no kind: their class dicts are fixed)
        if (kind is int or kind is float or x is None or kind is bool or kind is str or kind is list
                or kind is dict or kind is tuple or type_info(self, <PyObject*>kind).kind != K_ROW):
            return unbox_scalar(x, out)
        table = x.table
        out.slot = self.table_slot(<PyObject*>table)
        out.tag = T_ROW
        out.i = x.row
        Py_INCREF(table)
        out.o = <PyObject*>table
        return 0

    # ## Tables

    cdef int16_t table_slot(self, PyObject* table) except -1:
        """The slot of a table in this evaluation (its arrays' addresses and caches)."""
        cdef int32_t k
        cdef TableInfo* info
        for k in range(self.ntables):
            if self.tables[k].table == table:
                return <int16_t>k
        if self.ntables == self.tables_capacity:
            if self.tables_capacity >= 16384:
                raise _PolicyError("too many statistics tables in one evaluation")
            self.tables_capacity *= 2
            self.tables = <TableInfo*>PyMem_Realloc(self.tables, self.tables_capacity * sizeof(TableInfo))
            if self.tables == NULL:
                raise MemoryError()
        view = (<object>table).column_view()
        info = &self.tables[self.ntables]
        info.view = NULL
        self.load_view(info, view)
        info.table = table
        info.nnames = 0
        info.ncontrols = 0
        info.object_fields = 0
        info.attribute_field = <int32_t*>PyMem_Malloc(max(1, len(self.c.attributes)) * sizeof(int32_t))
        if info.attribute_field == NULL:
            Py_DECREF(view)
            raise MemoryError()
        for k in range(len(self.c.attributes)):
            info.attribute_field[k] = -2
        Py_INCREF(<object>table)  # released by reset(); it also keeps Loop.table alive
        self.ntables += 1
        return <int16_t>(self.ntables - 1)

    cdef int load_view(self, TableInfo* info, object view) except -1:
        """Read the addresses of a ColumnView's arrays into ``info``, which then owns it."""
        cdef cnp.ndarray tags = view.tags, payload = view.payload
        cdef cnp.ndarray latest_tags = view.latest_tags, latest_payload = view.latest_payload
        cdef cnp.ndarray control_tags = view.control_tags, control_payload = view.control_payload
        cdef cnp.ndarray control_order = view.control_order, control_count = view.control_count
        cdef cnp.ndarray head = view.head, count = view.count
        for array in (tags, payload, latest_tags, latest_payload, control_tags, control_payload, control_order):
            if not array.flags.c_contiguous:
                raise ValueError("column store arrays must be C-contiguous")
        info.tags = <int8_t*>cnp.PyArray_DATA(tags)
        info.payload = <int64_t*>cnp.PyArray_DATA(payload)
        info.latest_tags = <int8_t*>cnp.PyArray_DATA(latest_tags)
        info.latest_payload = <int64_t*>cnp.PyArray_DATA(latest_payload)
        info.capacity = tags.shape[1]
        info.head = <int32_t*>cnp.PyArray_DATA(head)
        info.count = <int32_t*>cnp.PyArray_DATA(count)
        info.nfields = <int32_t>tags.shape[0]
        info.history = <int32_t>tags.shape[2]
        info.control_tags = <int8_t*>cnp.PyArray_DATA(control_tags)
        info.control_payload = <int64_t*>cnp.PyArray_DATA(control_payload)
        info.control_order = <int32_t*>cnp.PyArray_DATA(control_order)
        info.control_count = <int32_t*>cnp.PyArray_DATA(control_count)
        info.control_width = <int32_t>control_tags.shape[1]
        info.field_index = <PyObject*>view.field_index
        info.objects = <PyObject*>view.objects
        info.control_index = <PyObject*>view.control_index
        info.control_objects = <PyObject*>view.control_objects
        Py_INCREF(view)
        Py_XDECREF(info.view)
        info.view = <PyObject*>view
        return 0

    cdef int reload_views(self) except -1:
        """Read every loaded table's arrays again: Python code the VM called (sla_balloon,
        which sets controls through the store) may have widened the control arrays."""
        cdef int32_t k
        for k in range(self.ntables):
            self.load_view(&self.tables[k], (<object>self.tables[k].table).column_view())
        return 0

    cdef int32_t look_up_field(self, TableInfo* t, object name) except -2:
        """field_of() past its cache: the view's index, remembered."""
        cdef PyObject* found = PyDict_GetItemWithError(<object>t.field_index, name)
        cdef int32_t field = -1 if found == NULL else <int32_t>(<object>found)
        remember(t.names, &t.nnames, name, field)
        return field

    cdef int32_t attribute_field(self, Value* row, int32_t attribute) except -2:
        cdef int32_t* fields = self.tables[row.slot].attribute_field
        if fields[attribute] == -2:
            fields[attribute] = field_of(self, row, self.c.attributes[attribute])
        return fields[attribute]

    # ## Attributes (the sandbox's rules, see mom.dsl.sandbox)

    cdef int attribute(self, Value* holder, int32_t attribute, Value* out) except -1:
        """``holder.attribute`` as a policy may read it into ``out``; 0 if it has none."""
        cdef int32_t method
        cdef PyObject* values
        if holder.tag == T_ROW:
            if row_latest(&self.tables[holder.slot], holder.i, field_at(self, holder, attribute), out):
                return 1
            method = self.c.attribute_method[attribute]
            if method >= 0:
                vcopy(out, holder)
                out.tag = T_ROWMETHOD
                out.aux = method
                return 1
            return 0
        if holder.tag == T_OBJ:
            # the usual object (an IO-tune record, a bag of limits): its declared dict
            # in a slot, read without a Python local (each costs at every return)
            values = declared_dict(self, holder.o)
            if values != NULL:
                return dict_attribute(self, holder.o, values, attribute, out)
            return object_attribute(self, <object>holder.o, attribute, out)
        if holder.tag <= T_FLOAT:
            # a number's public attributes (x.real), as upstream's
            return object_attribute(self, box(holder), attribute, out)
        return 0  # a recognised method or a loop: nothing public upstream either

    cdef object policy_values(self, object obj):
        """``obj._policy_values`` (see mom.dsl.sandbox), None if it has none."""
        cdef TypeInfo* info = type_info(self, <PyObject*>Py_TYPE(obj))
        if info.policy_values != NULL:
            return read_attribute(info.policy_values, obj, "_policy_values")
        return getattr(obj, "_policy_values", None)

    cdef int method_of(self, Value* binding, int32_t attribute, Value* out) except -1:
        """The method ``attribute`` of the object ``binding`` (T_OBJ; a row's: see
        method_of_row) into ``out``; 0 if it has none."""
        cdef TypeInfo* info
        cdef int32_t id
        if binding.tag == T_OBJ:
            obj = <object>binding.o
            info = type_info(self, <PyObject*>Py_TYPE(obj))  # a kind is not inherited:
            id = self.c.attribute_method[attribute]   # a subclass may override
            if id >= 0 and info.kind == K_ENTITY:
                vcopy(out, binding)
                out.tag = T_ENTMETHOD
                out.slot = <int16_t>(info - self.types)
                out.aux = id
                return 1
            id = self.c.attribute_setter[attribute]
            if id >= 0 and info.kind == K_IO_TUNE:
                vcopy(out, binding)
                out.tag = T_IOSET
                out.slot = <int16_t>(info - self.types)
                out.aux = id
                return 1
            name = self.c.attributes[attribute]
            methods = getattr(obj, "_policy_methods", None)
            if methods is not None and name in methods:
                unbox(self, getattr(obj, name), out)
                return 1
        return 0

    # ## Calls of the methods recognised above

    cdef int io_setter(self, Value* setter, Value* value) except -1:
        """An IO-tune setter: current[key] = None if value is None else int(value)."""
        cdef PyObject* previous
        cdef int overflow = 0
        current_limits = read_attribute(self.types[setter.slot].state[0], <object>setter.o, "_current")
        key = IO_KEYS[setter.aux]
        if value.tag == T_INT:
            # usually the limit is already that value: leave the dict alone then
            previous = PyDict_GetItemWithError(current_limits, key)
            if (previous == NULL or type(<object>previous) is not int
                    or PyLong_AsLongLongAndOverflow(<object>previous, &overflow) != value.i or overflow):
                PyDict_SetItem(current_limits, key, value.i)
        elif value.tag == T_NONE:
            PyDict_SetItem(current_limits, key, None)
        else:
            PyDict_SetItem(current_limits, key, int(box(value)))
        return 0

    cdef int rule_method(self, Value* method, Value* args, int32_t n, Value* out) except -1:
        """Stat, StatAvg, Control or GetControl of a row or an entity (``method``), once
        for both storages; 0 when the Python method must decide: another method, a
        wrong argument count (checked first, as Python does), a name that is not a str."""
        cdef int32_t id = method.aux
        cdef int32_t field = -1
        cdef int state
        if id == M_STAT:
            if n != 1 and n != 2:
                return 0
        elif id == M_CONTROL:
            if n != 2:
                return 0
        elif id != M_STATAVG and id != M_GETCONTROL or n != 1:
            return 0
        if args[0].tag != T_OBJ or type(<object>args[0].o) is not str:
            return 0
        name = <object>args[0].o
        if id == M_CONTROL:
            out.tag = T_NONE
            return self.set_control(method, name, &args[1])
        if id == M_GETCONTROL:
            return self.get_control(method, name, out)
        state = declared(self, method, name, &field)  # KeyError if it is not
        if state <= 0:
            return 0
        if id == M_STAT:
            out.tag = T_NONE
            if state == 1:  # no samples yet
                return 1
            state = latest(self, method, field, name, out)
            if state < 0:
                return 0
            if state == 0 and n == 2:
                vcopy(out, &args[1])
            return 1
        if state == 1:
            raise _EntityError("Statistic '%s' not available" % name)
        return self.average(method, field, name, out)

    # (the storage-specific parts: declared() and latest() above the class, inline)

    cdef int average(self, Value* method, int32_t field, object name, Value* out) except -1:
        """StatAvg's mean over the samples, oldest first as the reference sums; 0 when
        the Python method must decide (a Python object or a big int in the history)."""
        cdef TableInfo* t
        cdef int32_t count, slot, k, history
        cdef Average average
        cdef Py_ssize_t base, j
        cdef PyObject* found
        cdef int64_t number
        cdef int overflow = 0
        memset(&average, 0, sizeof(Average))
        if method.tag == T_ROWMETHOD:
            t = &self.tables[method.slot]
            count = t.count[method.i]
            history = t.history
            base = (field * t.capacity + method.i) * history
            slot = t.head[method.i] - count + 1  # the oldest sample's slot, wrapped below
            if slot < 0:
                slot += history
            # oldest first: from that slot to the ring's end, then on from its start
            k = min(count, history - slot)
            if not average_run(t, base + slot, k, &average) or not average_run(t, base, count - k, &average):
                return 0
            return average_result(&average, out)
        statistics = read_attribute(self.types[method.slot].state[1], <object>method.o, "statistics")
        for j in range(PyList_GET_SIZE(statistics)):
            sample = <object>PyList_GET_ITEM(statistics, j)
            if type(sample) is not dict:
                return 0
            found = PyDict_GetItemWithError(sample, name)
            if found == NULL or <object>found is None:
                continue
            kind = type(<object>found)
            if kind is float:
                average_float(&average, <double>(<object>found))
            elif kind is int or kind is bool:
                number = PyLong_AsLongLongAndOverflow(<object>found, &overflow)
                if overflow or not average_int(&average, number):
                    return 0
            else:
                return 0
        return average_result(&average, out)

    cdef int32_t look_up_control(self, TableInfo* info, object name, bint create) except -2:
        """control_column() past its cache: the view's index (or a new column), remembered."""
        cdef int32_t column
        cdef PyObject* found = PyDict_GetItemWithError(<object>info.control_index, name)
        if found != NULL:
            column = <int32_t>(<object>found)
        elif not create:
            return -1
        else:
            column = (<object>info.view).add_control(name)
            self.load_view(info, (<object>info.table).column_view())  # the arrays may be new
        remember(info.controls, &info.ncontrols, name, column)
        return column

    cdef int set_control(self, Value* method, object name, Value* value) except -1:
        """``Control``: into a row's control columns, or an entity's dict; 1, or 0 when
        the Python method must decide."""
        cdef TableInfo* info
        cdef int32_t column
        cdef Py_ssize_t at
        cdef int8_t tag
        cdef double number
        if method.tag == T_ENTMETHOD:
            controls = read_attribute(self.types[method.slot].state[2], <object>method.o, "controls")
            if type(controls) is not dict:
                return 0
            PyDict_SetItem(controls, name, box(value))
            return 1
        info = &self.tables[method.slot]
        column = control_column(self, info, name, True)
        at = method.i * info.control_width + column
        if info.control_tags[at] == S_OBJECT:
            (<object>info.control_objects).pop((method.i, column), None)
        if value.tag == T_NONE:
            tag = S_NONE
        elif value.tag == T_BOOL:
            tag = S_BOOL
            info.control_payload[at] = value.i
        elif value.tag == T_INT:
            tag = S_INT
            info.control_payload[at] = value.i
        elif value.tag == T_FLOAT:
            tag = S_FLOAT
            number = value.f
            memcpy(&info.control_payload[at], &number, sizeof(double))
        else:
            tag = S_OBJECT
            (<object>info.control_objects)[(method.i, column)] = box(value)
        info.control_tags[at] = tag
        if info.control_order[at] == 0:
            info.control_count[method.i] += 1
            info.control_order[at] = info.control_count[method.i]
        return 1

    cdef int get_control(self, Value* method, object name, Value* out) except -1:
        """``GetControl``: the value, or None; 1, or 0 when the Python method must decide."""
        cdef TableInfo* info
        cdef int32_t column
        cdef Py_ssize_t at
        cdef int8_t tag
        cdef PyObject* found
        out.tag = T_NONE
        if method.tag == T_ENTMETHOD:
            controls = read_attribute(self.types[method.slot].state[2], <object>method.o, "controls")
            if type(controls) is not dict:
                return 0
            found = PyDict_GetItemWithError(controls, name)
            if found != NULL:
                unbox(self, <object>found, out)
            return 1
        info = &self.tables[method.slot]
        column = control_column(self, info, name, False)
        if column < 0:
            return 1
        at = method.i * info.control_width + column
        tag = info.control_tags[at]
        if not stored_scalar(tag, info.control_payload[at], out) and tag == S_OBJECT:
            unbox(self, (<object>info.control_objects)[(method.i, column)], out)
        return 1

    # ## Reading ahead (a hint to the memory system: no result depends on it)

    cdef void warm(self, TableInfo* t, int32_t* rows, int64_t n, uint64_t fields) noexcept:
        """Read the objects a loop is about to read, for its next ``n`` rows at once.

        The per-guest records a policy reads (a guest's IO-tune list, its disks, their
        dicts of limits) lie scattered in memory and are cold when the policy runs,
        after a collection round: the loop's body reads them one chain at a time, each
        read waiting for the one before.  Here the chains of ``n`` rows are walked level
        by level (the object cells of ``fields``, then what each object holds: a list's
        items, the slots of a declared type, see find_type), so that the reads of one level,
        independent of each other, overlap; of a dict only the address of its table is
        read, and the table asked for (prefetched), as are the objects of the last
        level.  The body then finds them cached.

        Only reads: no reference taken, no Python code run, no cache of this machine
        filled (a type not met yet is not looked into), so nothing can change or free
        what is read while this runs.  Bounded: WARM_LEVELS levels of at most
        WARM_NODES objects, WARM_FANOUT items of a list.  No result depends on it.
        """
        cdef PyObject* frontier[2][WARM_NODES]
        cdef int32_t size[2]
        cdef int32_t _level, k, j, side = 0
        cdef int64_t r, row, at
        cdef int32_t field
        cdef PyObject* node
        cdef PyObject* kind
        cdef Py_ssize_t items, index
        cdef TypeInfo* info
        cdef Py_ssize_t nobjects = PyList_GET_SIZE(<object>t.objects)
        size[0] = 0
        for r in range(n):
            row = rows[r]
            if row < 0 or row >= t.capacity or t.count[row] == 0:
                continue
            for field in range(min(t.nfields, 64)):
                if not (fields >> field) & 1:
                    continue
                at = field * t.capacity + row
                if t.latest_tags[at] != S_OBJECT:
                    continue
                index = t.latest_payload[at]
                if 0 <= index < nobjects:
                    push(frontier[0], &size[0], PyList_GET_ITEM(<object>t.objects, index))
        for _level in range(WARM_LEVELS):
            size[1 - side] = 0
            for k in range(size[side]):
                node = frontier[side][k]
                kind = <PyObject*>Py_TYPE(<object>node)
                if kind == <PyObject*>list:
                    items = min(PyList_GET_SIZE(<object>node), WARM_FANOUT)
                    for j in range(items):
                        push(frontier[1 - side], &size[1 - side], PyList_GET_ITEM(<object>node, j))
                elif kind == <PyObject*>dict:
                    mom_prefetch(<PyObject*>(<PyDictObject*>node).ma_keys)  # its table, for the lookups
                elif (kind == <PyObject*>int or kind == <PyObject*>float or kind == <PyObject*>str
                        or kind == <PyObject*>bool or node == <PyObject*>None):
                    pass  # read: its header, which holds its value
                else:
                    info = cached_type(self, kind)
                    if info == NULL:
                        continue
                    for j in range(info.nslots):  # (its declared values' and state's among them)
                        push(frontier[1 - side], &size[1 - side], mom_slot_value(info.slots[j], node))
            side = 1 - side
            if size[side] == 0:
                return
        for k in range(size[side]):
            mom_prefetch(frontier[side][k])


cdef inline void push(PyObject** nodes, int32_t* n, PyObject* node) noexcept:
    if node != NULL and n[0] < WARM_NODES:
        nodes[n[0]] = node
        n[0] += 1


cdef inline TypeInfo* cached_type(Rows rows, PyObject* kind) noexcept:
    """The cache's entry for a type, NULL if it has none (not filled here)."""
    cdef int32_t k
    for k in range(rows.ntypes):
        if rows.types[k].kind_type == kind:
            return &rows.types[k]
    return NULL
