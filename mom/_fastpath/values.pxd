# Values of the VM: tagged C structs, and the helpers every part of the VM inlines.
# values.pyx boxes them into Python objects and back.

from cpython.ref cimport PyObject, Py_INCREF, Py_XINCREF, Py_XDECREF
from libc.stdint cimport int64_t, int32_t, int16_t, int8_t

from mom._fastpath.layout cimport S_NONE, S_BOOL, S_INT, S_FLOAT

cdef extern from *:
    """
    #include <string.h>
    static inline int mom_add_overflow(int64_t a, int64_t b, int64_t *r) { return __builtin_add_overflow(a, b, r); }
    static inline int mom_sub_overflow(int64_t a, int64_t b, int64_t *r) { return __builtin_sub_overflow(a, b, r); }
    static inline int mom_mul_overflow(int64_t a, int64_t b, int64_t *r) { return __builtin_mul_overflow(a, b, r); }
    static inline double mom_bits_double(int64_t bits) { double d; memcpy(&d, &bits, sizeof d); return d; }
    /* ints of at most 2**53 in magnitude convert to double exactly */
    #define mom_small(i) ((i) >= -9007199254740992LL && (i) <= 9007199254740992LL)
    /* *d = *s for a Value, field by field, each read as wide as it is written (the
       volatile reads keep the compiler from merging them into wider loads): a Value a
       callee has just written field by field, copied whole at once, would wait for
       those stores to reach the cache (a store-forwarding stall, ~15 cycles) */
    #define mom_vset(d, s) do { \
        (d)->tag = *(volatile const int16_t*)&(s)->tag; \
        (d)->slot = *(volatile const int16_t*)&(s)->slot; \
        (d)->aux = *(volatile const int32_t*)&(s)->aux; \
        (d)->i = *(volatile const int64_t*)&(s)->i; \
        (d)->f = *(volatile const double*)&(s)->f; \
        (d)->o = *(PyObject* volatile const*)&(s)->o; \
    } while (0)
    """
    bint mom_add_overflow(int64_t a, int64_t b, int64_t *r) nogil
    bint mom_sub_overflow(int64_t a, int64_t b, int64_t *r) nogil
    bint mom_mul_overflow(int64_t a, int64_t b, int64_t *r) nogil
    double mom_bits_double(int64_t bits) nogil
    bint mom_small(int64_t i) nogil

cdef extern from "Python.h":
    ctypedef object (*descrgetfunc)(PyObject* descriptor, PyObject* obj, PyObject* kind)
    ctypedef struct PyTypeObject:
        descrgetfunc tp_descr_get
    PyTypeObject* Py_TYPE(object o)
    long long PyLong_AsLongLongAndOverflow(object o, int *overflow) except? -1

cdef enum Tag:
    T_NONE = 0
    T_BOOL = 1
    T_INT = 2
    T_FLOAT = 3
    T_OBJ = 4
    T_ROW = 5         # o: the table, slot: its TableInfo, i: the row
    T_ROWMETHOD = 6   # as T_ROW, aux: rule method id
    T_ITER = 7        # aux: index in the loop stack
    T_IOSET = 8       # o: an IO-tune record, slot: its TypeInfo, aux: which setter (IO_TUNE_SETTERS)
    T_ENTMETHOD = 9   # o: an entity (K_ENTITY), slot: its TypeInfo, aux: rule method id

ctypedef struct Value:
    int16_t tag
    int16_t slot      # T_ROW, T_ROWMETHOD: the table's slot in Rows.tables; T_IOSET, T_ENTMETHOD: type's
    int32_t aux       # T_ROWMETHOD: rule method id; T_ITER: loop index; T_IOSET: setter id
    int64_t i
    double f
    PyObject* o       # an owned reference, or NULL


cdef extern from *:
    void vset "mom_vset"(Value* dst, Value* src) noexcept nogil  # *dst = *src (no reference taken)


cdef inline void vclear(Value* v) noexcept:
    cdef PyObject* o = v.o
    v.tag = T_NONE
    v.o = NULL
    Py_XDECREF(o)


cdef inline void vcopy(Value* dst, Value* src) noexcept:
    dst[0] = src[0]
    Py_XINCREF(dst.o)


cdef inline void vobject(Value* dst, object o) noexcept:
    Py_INCREF(o)
    dst.tag = T_OBJ
    dst.o = <PyObject*>o


cdef inline bint is_intlike(Value* v) noexcept:
    return v.tag == T_INT or v.tag == T_BOOL


cdef inline bint stored_scalar(int8_t tag, int64_t payload, Value* out) noexcept:
    """A column store cell (storage tag and payload) into ``out``; False for an absent
    cell and for an object cell (its payload locates the object: the caller's part)."""
    if tag == S_FLOAT:  # the usual statistic first
        out.tag = T_FLOAT
        out.f = mom_bits_double(payload)
    elif tag == S_INT:
        out.tag = T_INT
        out.i = payload
    elif tag == S_NONE:
        out.tag = T_NONE
    elif tag == S_BOOL:
        out.tag = T_BOOL
        out.i = payload
    else:
        return False
    return True


cdef object box(Value* v)
cdef int unbox_scalar(object x, Value* out) except -1
cdef int truthy(Value* v) except -1
