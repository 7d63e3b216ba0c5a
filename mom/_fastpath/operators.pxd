# The operators of the policy language on VM values (operators.pyx); the float ones
# inline, for the loop's fast path.

from libc.stdint cimport int64_t, int32_t

from mom._fastpath.opcodes cimport OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_LT, OP_GT, OP_LE, OP_GE, OP_EQ
from mom._fastpath.rows cimport Rows
from mom._fastpath.values cimport Value, T_BOOL, T_FLOAT

cdef int binary(Rows rows, object limits, int32_t op, Value* a, Value* b, Value* out) except -1
cdef int nary(Rows rows, object limits, int32_t op, Value* values, int32_t n, Value* out) except -1


cdef inline int compare_int(int32_t op, int64_t x, int64_t y) noexcept:
    if op == OP_LT:
        return x < y
    if op == OP_GT:
        return x > y
    if op == OP_LE:
        return x <= y
    if op == OP_GE:
        return x >= y
    if op == OP_EQ:
        return x == y
    return x != y


cdef inline int compare_float(int32_t op, double x, double y) noexcept:
    if op == OP_LT:
        return x < y
    if op == OP_GT:
        return x > y
    if op == OP_LE:
        return x <= y
    if op == OP_GE:
        return x >= y
    if op == OP_EQ:
        return x == y
    return x != y


cdef inline int float_op(int32_t op, double x, double y, Value* out) except -1:
    """An arithmetic or comparison operator on floats (an int operand already converted,
    as Python converts it); ``out`` holds no object."""
    if op == OP_ADD:
        out.f = x + y
    elif op == OP_SUB:
        out.f = x - y
    elif op == OP_MUL:
        out.f = x * y
    elif op == OP_DIV:
        if y == 0.0:
            raise ZeroDivisionError("float division by zero")
        out.f = x / y
    else:
        out.tag = T_BOOL
        out.i = compare_float(op, x, y)
        return 0
    out.tag = T_FLOAT
    return 0
