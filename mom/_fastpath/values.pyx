"""The VM's values: Python objects into tagged C structs and back (see values.pxd).

Ints that overflow int64 stay Python ints; rows of a column store are recognised by
``mom._fastpath.rows.Rows.unbox``, which knows the evaluation's tables.
"""

from cpython.object cimport PyObject_IsTrue

from mom.dsl.layout import IO_TUNE_SETTERS, RULE_METHOD_NAMES

cdef tuple METHOD_NAMES = RULE_METHOD_NAMES
cdef tuple IO_SETTERS = IO_TUNE_SETTERS


cdef int unbox_scalar(object x, Value* out) except -1:
    """Python object -> Value (``out`` must be clear): None, bools, int64s and floats as
    themselves, anything else (a row too) as an object."""
    cdef int overflow = 0
    cdef int64_t n
    cdef type kind = type(x)
    if x is None:
        out.tag = T_NONE
    elif kind is bool:
        out.tag = T_BOOL
        out.i = 1 if x is True else 0
    elif kind is int:
        n = PyLong_AsLongLongAndOverflow(x, &overflow)
        if overflow:
            vobject(out, x)
        else:
            out.tag = T_INT
            out.i = n
    elif kind is float:
        out.tag = T_FLOAT
        out.f = x
    else:
        vobject(out, x)
    return 0


cdef object box(Value* v):
    """Value -> Python object, exactly what the reference would hold."""
    cdef int32_t tag = v.tag
    if tag == T_NONE:
        return None
    if tag == T_BOOL:
        return True if v.i else False
    if tag == T_INT:
        return v.i
    if tag == T_FLOAT:
        return v.f
    if tag == T_OBJ:
        return <object>v.o
    if tag == T_ROW:
        return (<object>v.o).view(v.i)
    if tag == T_ROWMETHOD:
        return getattr((<object>v.o).view(v.i), METHOD_NAMES[v.aux])
    if tag == T_IOSET:
        return getattr(<object>v.o, IO_SETTERS[v.aux][0])
    if tag == T_ENTMETHOD:
        return getattr(<object>v.o, METHOD_NAMES[v.aux])
    raise AssertionError("unboxable value")


cdef int truthy(Value* v) except -1:
    cdef int32_t tag = v.tag
    if tag == T_NONE:
        return 0
    if tag == T_BOOL or tag == T_INT:
        return v.i != 0
    if tag == T_FLOAT:
        return v.f != 0.0  # NaN is true, as in Python
    if tag == T_ROW or tag == T_ROWMETHOD or tag == T_IOSET or tag == T_ENTMETHOD:
        return 1
    return PyObject_IsTrue(box(v))
