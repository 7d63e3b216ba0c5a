"""The operators of the policy language on VM values (the reference: mom.dsl.builtins).

Ints and floats are computed in C where the result is certainly Python's; anything
else goes through the same Python operations the reference uses, so values, types and
error messages agree.
"""

from cpython.object cimport PyObject_RichCompare
from cpython.object cimport Py_LT, Py_LE, Py_EQ, Py_NE, Py_GT, Py_GE
from cpython.number cimport PyNumber_Subtract, PyNumber_TrueDivide, PyNumber_Rshift

from mom._fastpath.opcodes cimport *
from mom._fastpath.rows cimport unbox
from mom._fastpath.values cimport *

from mom.dsl import builtins as _builtins

cdef extern from "Python.h":
    Py_ssize_t PyObject_Length(object o) except -1


cdef int binary(Rows rows, object limits, int32_t op, Value* a, Value* b, Value* out) except -1:
    """A binary operator of the policy language, in C where Python's result is certain."""
    cdef int64_t x, y, r
    cdef double p, q
    if is_intlike(a) and is_intlike(b):
        x = a.i
        y = b.i
        if op == OP_ADD:
            if not mom_add_overflow(x, y, &r):
                out.tag = T_INT
                out.i = r
                return 0
        elif op == OP_SUB:
            if not mom_sub_overflow(x, y, &r):
                out.tag = T_INT
                out.i = r
                return 0
        elif op == OP_MUL:
            if not mom_mul_overflow(x, y, &r):
                out.tag = T_INT
                out.i = r
                return 0
        elif op == OP_DIV:
            if y == 0:
                raise ZeroDivisionError("division by zero")
            if mom_small(x) and mom_small(y):
                out.tag = T_FLOAT
                out.f = <double>x / <double>y
                return 0
        elif op == OP_LT or op == OP_GT or op == OP_LE or op == OP_GE or op == OP_EQ or op == OP_NE:
            out.tag = T_BOOL
            out.i = compare_int(op, x, y)
            return 0
        elif op == OP_SHL:
            if 0 <= y < 63:
                r = x << y
                if (r >> y) == x:
                    out.tag = T_INT
                    out.i = r
                    return 0
        elif op == OP_SHR:
            if y >= 0:
                out.tag = T_INT
                out.i = x >> (y if y < 63 else 63)
                return 0
    elif (a.tag == T_FLOAT or is_intlike(a)) and (b.tag == T_FLOAT or is_intlike(b)) and op != OP_SHL and op != OP_SHR:
        # one float at least: Python converts the int (int64 -> double rounds alike)
        if a.tag == T_FLOAT:
            p = a.f
        elif op >= OP_LT and op <= OP_NE and not mom_small(a.i):
            return generic(rows, limits, op, a, b, out)  # exact int/float comparison
        else:
            p = <double>a.i
        if b.tag == T_FLOAT:
            q = b.f
        elif op >= OP_LT and op <= OP_NE and not mom_small(b.i):
            return generic(rows, limits, op, a, b, out)
        else:
            q = <double>b.i
        return float_op(op, p, q, out)
    elif (op == OP_EQ or op == OP_NE) and (a.tag == T_NONE or b.tag == T_NONE) and a.tag != T_OBJ and b.tag != T_OBJ:
        out.tag = T_BOOL
        out.i = (a.tag == b.tag) == (op == OP_EQ)
        return 0
    elif (op == OP_EQ or op == OP_NE) and a.tag == T_ROW and b.tag == T_ROW:
        out.tag = T_BOOL
        out.i = (a.o == b.o and a.i == b.i) == (op == OP_EQ)
        return 0
    return generic(rows, limits, op, a, b, out)

cdef int generic(Rows rows, object limits, int32_t op, Value* a, Value* b, Value* out) except -1:
    """The operator on Python objects, exactly as the reference computes it."""
    x = box(a)
    y = box(b)
    if op == OP_ADD:
        result = _builtins.checked_add(x, y, limits)
    elif op == OP_SUB:
        result = PyNumber_Subtract(x, y)
    elif op == OP_MUL:
        result = _builtins.checked_mul(x, y, limits)
    elif op == OP_DIV:
        result = PyNumber_TrueDivide(x, y)
    elif op == OP_SHL:
        result = _builtins.checked_shl(x, y, limits)
    elif op == OP_SHR:
        result = PyNumber_Rshift(x, y)
    elif op == OP_LT:
        result = PyObject_RichCompare(x, y, Py_LT)
    elif op == OP_GT:
        result = PyObject_RichCompare(x, y, Py_GT)
    elif op == OP_LE:
        result = PyObject_RichCompare(x, y, Py_LE)
    elif op == OP_GE:
        result = PyObject_RichCompare(x, y, Py_GE)
    elif op == OP_EQ:
        result = PyObject_RichCompare(x, y, Py_EQ)
    else:
        result = PyObject_RichCompare(x, y, Py_NE)
    unbox(rows, result, out)
    return 0

cdef int less(Rows rows, object limits, Value* a, Value* b, int python_op) except -1:
    """``a < b`` (or ``>``) as a truth value, for min and max."""
    cdef Value result
    result.o = NULL
    binary(rows, limits, OP_LT if python_op == Py_LT else OP_GT, a, b, &result)
    try:
        return truthy(&result)
    finally:
        vclear(&result)

cdef int nary(Rows rows, object limits, int32_t op, Value* values, int32_t n, Value* out) except -1:
    """and, or, min, max, valid, null over ``n`` evaluated values."""
    cdef int32_t k, j
    cdef Py_ssize_t length
    if op == OP_AND or op == OP_OR:
        for k in range(n):
            if truthy(&values[k]) == (op == OP_OR):
                vcopy(out, &values[k])
                return 0
        vcopy(out, &values[n - 1])
        return 0
    if op == OP_VALID:
        out.tag = T_BOOL
        out.i = 1
        for k in range(n):
            if values[k].tag == T_NONE:
                out.i = 0
                break
        return 0
    if op == OP_NULL:
        out.tag = T_BOOL
        out.i = 1
        for k in range(n):
            if values[k].tag == T_NONE:
                continue
            if values[k].tag != T_OBJ:
                out.i = 0  # numbers, bools and entities have no len()
                break
            try:
                length = PyObject_Length(<object>values[k].o)
            except TypeError:
                out.i = 0
                break
            if length != 0:
                out.i = 0
                break
        return 0
    # min / max: Python's order: keep the first, replace on strictly less / greater
    k = 0
    for j in range(1, n):
        if less(rows, limits, &values[j], &values[k], Py_LT if op == OP_MIN else Py_GT):
            k = j
    vcopy(out, &values[k])
    return 0
