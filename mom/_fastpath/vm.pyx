"""The policy bytecode VM: the fast twin of the reference in mom.dsl.compiler.

Values are tagged C structs (None, bool, int64, double, a table row, or a Python
object); ints that overflow int64 become Python ints, and anything unusual goes
through the same Python operations the reference uses, so results, types and error
messages agree.  Variables use shallow binding over symbol ids: the current binding
of every symbol sits in one array, and each scope remembers what it shadowed.
Rows of a SampleTable (the daemon's column store) are read straight from its NumPy
arrays.  See mom/dsl/bytecode.py for the code format and mom/dsl/opcodes.py for the
instruction set.
"""

from cpython.ref cimport PyObject, Py_INCREF, Py_DECREF, Py_XINCREF, Py_XDECREF
from cpython.object cimport PyObject_RichCompare, PyObject_IsTrue
from cpython.object cimport Py_LT, Py_LE, Py_EQ, Py_NE, Py_GT, Py_GE
from cpython.number cimport PyNumber_Subtract, PyNumber_TrueDivide, PyNumber_Rshift
from cpython.list cimport PyList_Append, PyList_GET_ITEM, PyList_GET_SIZE
from cpython.dict cimport PyDict_GetItemWithError, PyDict_SetItem
from cpython.mem cimport PyMem_Malloc, PyMem_Realloc, PyMem_Free
from libc.stdint cimport int64_t, int32_t, int16_t, int8_t
from libc.math cimport fabs
from libc.string cimport memcpy, memset

cimport cython
cimport numpy as cnp

from mom._fastpath.layout cimport *
from mom._fastpath.opcodes cimport *


from mom.dsl import builtins as _builtins
from mom.dsl.limits import (
    call_depth_error as _call_depth_error, step_limit_error as _step_limit_error, too_deep_error as _too_deep_error
)
from mom.dsl.sandbox import MISSING as _MISSING, policy_getattr as _policy_getattr
from mom.dsl.scope import unbound_assignment as _unbound_assignment, undefined_symbol as _undefined_symbol
from mom.dsl.support import function_arity_error as _function_arity_error
from mom.dsl.layout import (
    IO_TUNE_KEYS, IO_TUNE_SETTERS as IO_SETTERS, KIND_ATTRIBUTES as _KIND_ATTRIBUTES, POLICY_KIND as _POLICY_KIND,
    RULE_METHOD_NAMES as METHOD_NAMES
)
from mom.errors import EntityError as _EntityError, PolicyError as _PolicyError

cnp.import_array()

cdef extern from *:
    """
    #include <string.h>
    static inline int mom_add_overflow(int64_t a, int64_t b, int64_t *r) { return __builtin_add_overflow(a, b, r); }
    static inline int mom_sub_overflow(int64_t a, int64_t b, int64_t *r) { return __builtin_sub_overflow(a, b, r); }
    static inline int mom_mul_overflow(int64_t a, int64_t b, int64_t *r) { return __builtin_mul_overflow(a, b, r); }
    static inline double mom_bits_double(int64_t bits) { double d; memcpy(&d, &bits, sizeof d); return d; }
    /* ints of at most 2**53 in magnitude convert to double exactly */
    #define mom_small(i) ((i) >= -9007199254740992LL && (i) <= 9007199254740992LL)
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
    PyObject* PyIter_Next(object o) except? NULL
    Py_ssize_t PyObject_Length(object o) except -1

# ## Values

cdef enum Tag:
    T_NONE = 0
    T_BOOL = 1
    T_INT = 2
    T_FLOAT = 3
    T_OBJ = 4
    T_ROW = 5         # o: the SampleTable, i: the row
    T_ROWMETHOD = 6   # o: the SampleTable, i: the row, aux: rule method id
    T_ITER = 7        # aux: index in the loop stack
    T_IOSET = 8       # o: an IO-tune record, slot: its TypeInfo, aux: which setter (IO_SETTERS)
    T_ENTMETHOD = 9   # o: an entity (K_ENTITY), slot: its TypeInfo, aux: rule method id

ctypedef struct Value:
    int16_t tag
    int16_t slot      # T_ROW, T_ROWMETHOD: the table's slot in Machine.tables
    int32_t aux       # T_ROWMETHOD: rule method id; T_ITER: loop index; T_IOSET: setter id
    int64_t i
    double f
    PyObject* o       # an owned reference, or NULL

ctypedef struct Saved:
    int32_t symbol
    int32_t depth     # scope depth of the shadowed binding, -1 if there was none
    Value value

ctypedef struct Loop:
    PyObject* table   # rows loop: the table (its TableInfo holds it); else NULL
    int16_t slot      # rows loop: the table's slot
    bint is_list      # keep is a list, walked by index
    PyObject* keep    # owned: the rows array, the list, or the Python iterator
    int32_t* rows
    int64_t n
    int64_t position

ctypedef struct Average:
    # Entity.StatAvg's running sum, oldest sample first: ints add exactly until the
    # first float, which turns the sum into a float from then on (as Python's +)
    int64_t total
    double ftotal
    bint floating
    int64_t n         # values summed (None skipped)

ctypedef struct FieldName:
    PyObject* name    # owned while cached, so its address cannot be reused
    int32_t field

DEF FIELD_CACHE = 24

ctypedef struct TableInfo:
    PyObject* table   # owned until reset(): no other table can take its address meanwhile
    PyObject* view    # owned: the table's ColumnView (mom.dsl.layout), which holds the arrays
    PyObject* field_index  # borrowed from the view
    PyObject* objects      # borrowed from the view: the list of object cells
    PyObject* control_index    # borrowed from the view
    PyObject* control_objects  # borrowed from the view
    int32_t* attribute_field  # per attribute name of the code: field index, -1 none, -2 not looked up
    FieldName names[FIELD_CACHE]
    int32_t nnames
    int8_t* tags
    int64_t* payload
    int8_t* latest_tags      # [field, row]: the newest sample, field-major
    int64_t* latest_payload
    Py_ssize_t capacity      # rows: the stride of the field-major arrays
    int32_t* head
    int32_t* count
    int32_t nfields
    int32_t history
    # controls: one column per name (SampleTable.control_*), refreshed when widened
    FieldName controls[FIELD_CACHE]
    int32_t ncontrols
    int8_t* control_tags
    int64_t* control_payload
    int32_t* control_order
    int32_t* control_count
    int32_t control_width

DEF TYPE_CACHE = 32

ctypedef struct TypeInfo:
    PyObject* kind_type       # owned for the machine's life: no other type takes its address
    int32_t kind              # the _policy_kind its own body declares (K_*), K_NONE if none
    PyObject* policy_values   # owned: the data descriptor of _policy_values, NULL: getattr
    PyObject* state[3]        # owned: data descriptors of the kind's KIND_ATTRIBUTES, NULL: getattr

ctypedef struct SiteInfo:
    int32_t symbol
    int32_t nthunks
    int32_t first_thunk   # index into thunk_pcs and thunk_loads

ctypedef struct FunctionInfo:
    int32_t symbol
    int32_t nparams       # -1: the parameter list was not a list
    int32_t first_binder  # index into binders
    int32_t body_pc

ctypedef struct Binder:
    int32_t is_symbol     # 1: bind this symbol; 0: raise the error factory constant
    int32_t index


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


cdef int unbox(object x, Value* out, Machine machine=None) except -1:
    """Python object -> Value (``out`` must be clear); rows need the ``machine``."""
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
    elif machine is not None and machine.type_info(<PyObject*>kind).kind == K_ROW:
        table = x.table
        out.slot = machine.table_slot(<PyObject*>table)
        out.tag = T_ROW
        out.i = x.row
        Py_INCREF(table)
        out.o = <PyObject*>table
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


METHOD_IDS = {name: index for index, name in enumerate(METHOD_NAMES)}

IO_SETTER_IDS = {name: index for index, (name, _key) in enumerate(IO_SETTERS)}
cdef tuple IO_KEYS = IO_TUNE_KEYS

#: the C enums as compiled, for tests/dsl/test_layout.py to compare with mom.dsl.layout
C_TABLES = {
    "storage_tags": {"NONE": S_NONE, "BOOL": S_BOOL, "INT": S_INT, "FLOAT": S_FLOAT, "OBJECT": S_OBJECT, "ABSENT": S_ABSENT},
    "rule_methods": {
        "Prop": M_PROP, "Stat": M_STAT, "StatAvg": M_STATAVG, "SetVar": M_SETVAR, "GetVar": M_GETVAR,
        "Control": M_CONTROL, "GetControl": M_GETCONTROL,
    },
    "kinds": {"ROW": K_ROW, "ROWS": K_ROWS, "ENTITY": K_ENTITY, "IO_TUNE": K_IO_TUNE},
    "opcodes": {
        "CONST": OP_CONST, "LOAD": OP_LOAD, "LOAD_ATTR": OP_LOAD_ATTR, "POP": OP_POP, "FAIL": OP_FAIL, "ADD": OP_ADD,
        "SUB": OP_SUB, "MUL": OP_MUL, "DIV": OP_DIV, "LT": OP_LT, "GT": OP_GT, "LE": OP_LE, "GE": OP_GE, "EQ": OP_EQ,
        "NE": OP_NE, "SHL": OP_SHL, "SHR": OP_SHR, "NOT": OP_NOT, "AND": OP_AND, "OR": OP_OR, "MIN": OP_MIN,
        "MAX": OP_MAX, "VALID": OP_VALID, "NULL": OP_NULL, "JUMP": OP_JUMP, "JUMP_IF_FALSE": OP_JUMP_IF_FALSE,
        "RETURN": OP_RETURN, "DEFVAR": OP_DEFVAR, "SET": OP_SET, "ENTER": OP_ENTER, "LEAVE": OP_LEAVE,
        "BIND": OP_BIND, "DEFVAR_VOID": OP_DEFVAR_VOID, "SET_VOID": OP_SET_VOID, "DEF": OP_DEF, "CALL": OP_CALL,
        "METHOD": OP_METHOD, "CALL_METHOD": OP_CALL_METHOD, "CALL_VOID": OP_CALL_VOID,
        "CALL_METHOD_VOID": OP_CALL_METHOD_VOID, "WITH": OP_WITH, "WITH_NEXT": OP_WITH_NEXT,
        "WITH_STEP": OP_WITH_STEP,
    },
}


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


cdef inline object read_attribute(PyObject* descriptor, object obj, str name):
    """``getattr(obj, name)``, through its data descriptor when the type has one."""
    if descriptor != NULL:
        return Py_TYPE(<object>descriptor).tp_descr_get(descriptor, <PyObject*>obj, <PyObject*>Py_TYPE(obj))
    return getattr(obj, name)


cdef inline bint is_intlike(Value* v) noexcept:
    return v.tag == T_INT or v.tag == T_BOOL


cdef inline bint stored_scalar(int8_t tag, int64_t payload, Value* out) noexcept:
    """A SampleTable cell (storage tag and payload) into ``out``; False for an absent
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


# ## Code: a compiled program's arrays


@cython.final
@cython.no_gc_clear
cdef class Code:
    """Bytecode of one program in C arrays (built once per set_policy)."""

    cdef int32_t* code
    cdef int32_t ncode
    cdef Value* constants
    cdef int32_t nconstants
    cdef list constant_objects
    cdef int32_t nsymbols
    cdef list symbols
    cdef dict symbol_index           # name -> symbol id, for the bindings of execute()
    cdef list stack_bindings         # (symbol, function) of mom.dsl.builtins.STACK_FUNCTIONS
    cdef list attributes
    cdef int32_t* attribute_method   # rule method id of each attribute name, or -1
    cdef int32_t* attribute_setter   # IoTune setter id of each attribute name, or -1
    cdef SiteInfo* sites
    cdef list site_lines
    cdef int32_t* thunk_pcs
    cdef int32_t* thunk_loads        # per thunk: the symbol it only loads, or -1
    cdef FunctionInfo* functions
    cdef Binder* binders
    cdef readonly list top
    cdef int32_t* node_at
    cdef readonly list nodes
    cdef readonly int max_stack
    cdef bint values                 # top-level values collected (Bytecode.values)

    def __cinit__(self):
        self.code = NULL
        self.constants = NULL
        self.attribute_method = NULL
        self.attribute_setter = NULL
        self.sites = NULL
        self.thunk_pcs = NULL
        self.thunk_loads = NULL
        self.functions = NULL
        self.binders = NULL
        self.node_at = NULL

    def __init__(self, bytecode):
        cdef Py_ssize_t k, j, nthunks, nbinders
        code = bytecode.code
        self.ncode = len(code)
        self.code = <int32_t*>PyMem_Malloc(max(1, self.ncode) * sizeof(int32_t))
        self.node_at = <int32_t*>PyMem_Malloc(max(1, self.ncode) * sizeof(int32_t))
        if self.code == NULL or self.node_at == NULL:
            raise MemoryError()
        for k in range(self.ncode):
            self.code[k] = code[k]
            self.node_at[k] = bytecode.node_at[k]
        self.constant_objects = list(bytecode.constants)
        self.nconstants = len(self.constant_objects)
        self.constants = <Value*>PyMem_Malloc(max(1, self.nconstants) * sizeof(Value))
        if self.constants == NULL:
            raise MemoryError()
        memset(self.constants, 0, max(1, self.nconstants) * sizeof(Value))
        for k in range(self.nconstants):
            unbox(self.constant_objects[k], &self.constants[k])
        self.symbols = list(bytecode.symbols)
        self.nsymbols = len(self.symbols)
        self.symbol_index = {name: index for index, name in enumerate(self.symbols)}
        self.stack_bindings = [
            (self.symbol_index[name], function)
            for name, function in _builtins.STACK_FUNCTIONS.items()
            if name in self.symbol_index
        ]
        self.attributes = list(bytecode.attributes)
        self.attribute_method = <int32_t*>PyMem_Malloc(max(1, len(self.attributes)) * sizeof(int32_t))
        self.attribute_setter = <int32_t*>PyMem_Malloc(max(1, len(self.attributes)) * sizeof(int32_t))
        for k in range(len(self.attributes)):
            self.attribute_method[k] = METHOD_IDS.get(self.attributes[k], -1)
            self.attribute_setter[k] = IO_SETTER_IDS.get(self.attributes[k], -1)
        nthunks = sum(len(site.thunks) for site in bytecode.sites)
        self.sites = <SiteInfo*>PyMem_Malloc(max(1, len(bytecode.sites)) * sizeof(SiteInfo))
        self.thunk_pcs = <int32_t*>PyMem_Malloc(max(1, nthunks) * sizeof(int32_t))
        self.thunk_loads = <int32_t*>PyMem_Malloc(max(1, nthunks) * sizeof(int32_t))
        self.site_lines = []
        j = 0
        for k, site in enumerate(bytecode.sites):
            self.sites[k].symbol = site.symbol
            self.sites[k].nthunks = len(site.thunks)
            self.sites[k].first_thunk = j
            for block, load in zip(site.thunks, site.shortcuts, strict=True):
                self.thunk_pcs[j] = bytecode.blocks[block]
                self.thunk_loads[j] = load
                j += 1
            self.site_lines.append(site.line)
        nbinders = sum(len(function.binders) for function in bytecode.functions)
        self.functions = <FunctionInfo*>PyMem_Malloc(max(1, len(bytecode.functions)) * sizeof(FunctionInfo))
        self.binders = <Binder*>PyMem_Malloc(max(1, nbinders) * sizeof(Binder))
        j = 0
        for k, function in enumerate(bytecode.functions):
            self.functions[k].symbol = function.symbol
            self.functions[k].nparams = -1 if function.nparams is None else function.nparams
            self.functions[k].first_binder = j
            self.functions[k].body_pc = bytecode.blocks[function.body]
            for is_symbol, index in function.binders:
                self.binders[j].is_symbol = 1 if is_symbol else 0
                self.binders[j].index = index
                j += 1
        self.top = [bytecode.blocks[block] for block in bytecode.top]
        self.nodes = list(bytecode.nodes)
        self.max_stack = bytecode.max_stack + 8
        self.values = bytecode.values

    def __dealloc__(self):
        cdef int32_t k
        if self.constants != NULL:
            for k in range(self.nconstants):
                vclear(&self.constants[k])
        PyMem_Free(self.code)
        PyMem_Free(self.node_at)
        PyMem_Free(self.constants)
        PyMem_Free(self.attribute_method)
        PyMem_Free(self.attribute_setter)
        PyMem_Free(self.sites)
        PyMem_Free(self.thunk_pcs)
        PyMem_Free(self.thunk_loads)
        PyMem_Free(self.functions)
        PyMem_Free(self.binders)

    def node_of(self, int pc):
        """The form or token the instruction at ``pc`` was compiled from."""
        if 0 <= pc < self.ncode and self.node_at[pc] >= 0:
            return self.nodes[self.node_at[pc]]
        return None


# ## The machine: one evaluation's state


@cython.final
@cython.no_gc_clear  # __dealloc__ releases values through self.c's sizes: keep it set
cdef class Machine:
    """Runs a Code; reusable, one evaluation at a time."""

    cdef Code c
    cdef Py_ssize_t nsymbols     # copy of c.nsymbols, for __dealloc__
    cdef object limits
    cdef Value* current          # per symbol: its innermost binding
    cdef int32_t* depth_of       # per symbol: scope depth of that binding, -1 unbound
    cdef int32_t* functions      # per symbol: user function index, -1 none
    cdef Saved* saved
    cdef Py_ssize_t nsaved
    cdef Py_ssize_t saved_capacity
    cdef int32_t* scope_marks
    cdef Py_ssize_t nscopes
    cdef Py_ssize_t scopes_capacity
    cdef Value* stack
    cdef Py_ssize_t sp
    cdef Py_ssize_t stack_capacity
    cdef Loop* loops
    cdef Py_ssize_t nloops
    cdef Py_ssize_t loops_capacity
    cdef TableInfo* tables
    cdef int32_t ntables
    cdef int32_t tables_capacity
    cdef int64_t steps_left
    cdef int64_t max_steps
    cdef int32_t calls
    cdef int32_t max_calls
    cdef int32_t pc                  # the instruction running (the innermost, after an error)
    cdef Py_ssize_t stack_high       # no block has used the stack above this
    cdef readonly int error_pc
    cdef object abs_function
    # what the types of the values met so far declare (mom.dsl.layout), and how their
    # attributes read; past TYPE_CACHE types, `uncached` (no kind, getattr)
    cdef TypeInfo types[TYPE_CACHE]
    cdef int32_t ntypes
    cdef TypeInfo uncached
    cdef TypeInfo* last_type  # the one found last (types come in runs), or NULL

    def __cinit__(self, Code code, limits):
        cdef Py_ssize_t n = max(1, code.nsymbols)
        self.c = code
        self.nsymbols = code.nsymbols
        self.limits = limits
        self.max_steps = limits.max_steps
        self.max_calls = limits.max_call_depth
        self.current = <Value*>PyMem_Malloc(n * sizeof(Value))
        self.depth_of = <int32_t*>PyMem_Malloc(n * sizeof(int32_t))
        self.functions = <int32_t*>PyMem_Malloc(n * sizeof(int32_t))
        self.saved_capacity = 64
        self.saved = <Saved*>PyMem_Malloc(self.saved_capacity * sizeof(Saved))
        self.scopes_capacity = 64
        self.scope_marks = <int32_t*>PyMem_Malloc(self.scopes_capacity * sizeof(int32_t))
        # every nested block (function body, argument thunk) runs on this stack: room
        # for the deepest allowed call chain, each level a body and a thunk deep
        self.stack_capacity = (2 * self.max_calls + 16) * code.max_stack + 64
        self.stack = <Value*>PyMem_Malloc(self.stack_capacity * sizeof(Value))
        self.loops_capacity = 16
        self.loops = <Loop*>PyMem_Malloc(self.loops_capacity * sizeof(Loop))
        self.tables_capacity = 4
        self.tables = <TableInfo*>PyMem_Malloc(self.tables_capacity * sizeof(TableInfo))
        if (self.tables == NULL or self.current == NULL or self.depth_of == NULL or self.functions == NULL or self.saved == NULL
                or self.scope_marks == NULL or self.stack == NULL or self.loops == NULL):
            raise MemoryError()
        memset(self.current, 0, n * sizeof(Value))
        memset(self.stack, 0, self.stack_capacity * sizeof(Value))
        cdef Py_ssize_t k
        for k in range(n):
            self.depth_of[k] = -1
            self.functions[k] = -1
        self.nsaved = 0
        self.nscopes = 0
        self.sp = 0
        self.stack_high = 0
        self.pc = -1
        self.nloops = 0
        self.ntables = 0
        self.ntypes = 0
        self.last_type = NULL
        memset(&self.uncached, 0, sizeof(TypeInfo))
        self.error_pc = -1
        self.abs_function = abs

    def __dealloc__(self):
        cdef int32_t k, j
        self.reset()
        for k in range(self.ntypes):
            Py_XDECREF(self.types[k].policy_values)
            for j in range(3):
                Py_XDECREF(self.types[k].state[j])
            Py_DECREF(<object>self.types[k].kind_type)
        PyMem_Free(self.current)
        PyMem_Free(self.depth_of)
        PyMem_Free(self.functions)
        PyMem_Free(self.saved)
        PyMem_Free(self.scope_marks)
        PyMem_Free(self.stack)
        PyMem_Free(self.loops)
        PyMem_Free(self.tables)

    cdef void reset(self) noexcept:
        cdef Py_ssize_t k, j
        if self.current == NULL:
            return
        for k in range(self.nsymbols):
            vclear(&self.current[k])
            self.depth_of[k] = -1
            self.functions[k] = -1
        for k in range(self.nsaved):
            vclear(&self.saved[k].value)
        for k in range(max(self.sp, self.stack_high)):
            vclear(&self.stack[k])
        self.stack_high = 0
        for k in range(self.nloops):
            Py_XDECREF(self.loops[k].keep)
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
        self.nsaved = 0
        self.nscopes = 0
        self.sp = 0
        self.nloops = 0
        self.ntables = 0

    # ## Scopes (shallow binding)

    cdef inline int enter(self) except -1:
        if self.nscopes == self.scopes_capacity:
            self.scopes_capacity *= 2
            self.scope_marks = <int32_t*>PyMem_Realloc(self.scope_marks, self.scopes_capacity * sizeof(int32_t))
            if self.scope_marks == NULL:
                raise MemoryError()
        self.scope_marks[self.nscopes] = <int32_t>self.nsaved
        self.nscopes += 1
        return 0

    cdef inline void leave(self) noexcept:
        cdef Saved* entry
        cdef int32_t mark
        self.nscopes -= 1
        mark = self.scope_marks[self.nscopes]
        while self.nsaved > mark:
            self.nsaved -= 1
            entry = &self.saved[self.nsaved]
            vclear(&self.current[entry.symbol])
            self.current[entry.symbol] = entry.value
            self.depth_of[entry.symbol] = entry.depth
            entry.value.o = NULL

    cdef inline int bind(self, int32_t symbol, Value* value) except -1:
        """Bind in the innermost scope unless it binds ``symbol`` already; takes ``value``."""
        cdef Saved* entry
        if self.depth_of[symbol] == self.nscopes:
            vclear(value)
            return 0
        if self.nsaved == self.saved_capacity:
            self.saved_capacity *= 2
            self.saved = <Saved*>PyMem_Realloc(self.saved, self.saved_capacity * sizeof(Saved))
            if self.saved == NULL:
                raise MemoryError()
        entry = &self.saved[self.nsaved]
        self.nsaved += 1
        entry.symbol = symbol
        entry.depth = self.depth_of[symbol]
        entry.value = self.current[symbol]
        self.current[symbol] = value[0]
        value.o = NULL
        value.tag = T_NONE
        self.depth_of[symbol] = <int32_t>self.nscopes
        return 0

    cdef inline Value* outer_binding(self, int32_t symbol, Py_ssize_t* cursor) noexcept:
        """The next outer binding of ``symbol`` below save index ``cursor``, or NULL."""
        cdef Py_ssize_t k = cursor[0]
        while k > 0:
            k -= 1
            if self.saved[k].symbol == symbol:
                cursor[0] = k
                if self.saved[k].depth < 0:
                    return NULL
                return &self.saved[k].value
        cursor[0] = 0
        return NULL

    # ## Tables

    cdef inline TypeInfo* type_info(self, PyObject* kind) except NULL:
        """What a type declares (its kind) and how its attributes read (cached)."""
        if self.last_type != NULL and self.last_type.kind_type == kind:
            return self.last_type
        return self.find_type(kind)

    cdef TypeInfo* find_type(self, PyObject* kind) except NULL:
        cdef int32_t k, j
        cdef TypeInfo* info
        for k in range(self.ntypes):
            if self.types[k].kind_type == kind:
                self.last_type = &self.types[k]
                return self.last_type
        if self.ntypes == TYPE_CACHE:
            return &self.uncached
        t = <object>kind
        declared = t.__dict__.get(_POLICY_KIND, K_NONE)  # its own body: not inherited
        info = &self.types[self.ntypes]
        memset(info, 0, sizeof(TypeInfo))
        info.kind = declared if type(declared) is int and K_ROW <= declared <= K_IO_TUNE else K_NONE
        descriptor = data_descriptor(t, "_policy_values")
        if descriptor is not None:
            Py_INCREF(descriptor)
            info.policy_values = <PyObject*>descriptor
        for j, name in enumerate(_KIND_ATTRIBUTES.get(info.kind, ())):
            descriptor = data_descriptor(t, name)
            if descriptor is not None:
                Py_INCREF(descriptor)
                info.state[j] = <PyObject*>descriptor
        Py_INCREF(t)
        info.kind_type = kind
        self.ntypes += 1
        self.last_type = info
        return info

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

    cdef int32_t control_column(self, TableInfo* info, object name, bint create) except -2:
        """Column of a control name (remembered by address); -1 if absent and not ``create``."""
        cdef PyObject* key = <PyObject*>name
        cdef int32_t k, column
        cdef PyObject* found
        for k in range(info.ncontrols):
            if info.controls[k].name == key:
                return info.controls[k].field
        found = PyDict_GetItemWithError(<object>info.control_index, name)
        if found != NULL:
            column = <int32_t>(<object>found)
        elif not create:
            return -1
        else:
            column = (<object>info.view).add_control(name)
            self.load_view(info, (<object>info.table).column_view())  # the arrays may be new
        if info.ncontrols < FIELD_CACHE:
            Py_INCREF(name)
            info.controls[info.ncontrols].name = key
            info.controls[info.ncontrols].field = column
            info.ncontrols += 1
        return column

    cdef int set_control(self, Value* row, object name, Value* value) except -1:
        """``Control`` on a table row, straight into its control columns."""
        cdef TableInfo* info = &self.tables[row.slot]
        cdef int32_t column = self.control_column(info, name, True)
        cdef Py_ssize_t at = row.i * info.control_width + column
        cdef int8_t tag
        cdef double number
        if info.control_tags[at] == S_OBJECT:
            (<object>info.control_objects).pop((row.i, column), None)
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
            (<object>info.control_objects)[(row.i, column)] = box(value)
        info.control_tags[at] = tag
        if info.control_order[at] == 0:
            info.control_count[row.i] += 1
            info.control_order[at] = info.control_count[row.i]
        return 0

    cdef int get_control(self, Value* row, object name, Value* out) except -1:
        """``GetControl`` on a table row: the value, or None."""
        cdef TableInfo* info = &self.tables[row.slot]
        cdef int32_t column = self.control_column(info, name, False)
        cdef Py_ssize_t at
        cdef int8_t tag
        out.tag = T_NONE
        if column < 0:
            return 0
        at = row.i * info.control_width + column
        tag = info.control_tags[at]
        if not stored_scalar(tag, info.control_payload[at], out) and tag == S_OBJECT:
            unbox((<object>info.control_objects)[(row.i, column)], out, self)
        return 0

    cdef inline int32_t field_of(self, Value* row, object name) except -2:
        """Field index of ``name`` in the row's table, -1 if it has no such field.

        Names repeat (attribute names, Stat arguments), so each table remembers the
        answer by the name object's address, holding a reference meanwhile.
        """
        cdef TableInfo* t = &self.tables[row.slot]
        cdef PyObject* key = <PyObject*>name
        cdef int32_t k, field
        cdef PyObject* found
        for k in range(t.nnames):
            if t.names[k].name == key:
                return t.names[k].field
        found = PyDict_GetItemWithError(<object>t.field_index, name)
        field = -1 if found == NULL else <int32_t>(<object>found)
        if t.nnames < FIELD_CACHE:
            Py_INCREF(name)
            t.names[t.nnames].name = key
            t.names[t.nnames].field = field
            t.nnames += 1
        return field

    cdef inline int row_latest(self, Value* row, int32_t field, Value* out) except -1:
        """The newest value of a field of a row; 0 if no such field, absent or no samples."""
        cdef TableInfo* t
        cdef Py_ssize_t at
        cdef int8_t tag
        if field < 0:
            return 0
        t = &self.tables[row.slot]
        if t.count[row.i] == 0:
            return 0
        at = field * t.capacity + row.i
        tag = t.latest_tags[at]
        if stored_scalar(tag, t.latest_payload[at], out):
            return 1
        if tag == S_ABSENT:
            return 0
        vobject(out, <object>PyList_GET_ITEM(<object>t.objects, t.latest_payload[at]))
        return 1

    cdef inline int32_t field_at(self, Value* row, int32_t attribute) except -2:
        """The field of attribute name ``attribute`` in the row's table (cached)."""
        cdef int32_t field = self.tables[row.slot].attribute_field[attribute]
        if field != -2:
            return field
        return self.attribute_field(row, attribute)

    cdef int32_t attribute_field(self, Value* row, int32_t attribute) except -2:
        cdef int32_t* fields = self.tables[row.slot].attribute_field
        if fields[attribute] == -2:
            fields[attribute] = self.field_of(row, self.c.attributes[attribute])
        return fields[attribute]

    # ## Attributes (the sandbox's rules, see mom.dsl.sandbox)

    cdef inline int attribute(self, Value* holder, int32_t attribute, Value* out) except -1:
        """``holder.attribute`` as a policy may read it into ``out``; 0 if it has none."""
        cdef int32_t method
        cdef PyObject* found_value
        if holder.tag == T_ROW:
            if self.row_latest(holder, self.field_at(holder, attribute), out):
                return 1
            method = self.c.attribute_method[attribute]
            if method >= 0:
                vcopy(out, holder)
                out.tag = T_ROWMETHOD
                out.aux = method
                return 1
            return 0
        if holder.tag != T_OBJ:
            return 0  # plain values declare no attributes
        obj = <object>holder.o
        name = self.c.attributes[attribute]
        values = self.policy_values(obj)  # the common case, in C
        if type(values) is dict:
            found_value = PyDict_GetItemWithError(values, name)
            if found_value != NULL:
                unbox(<object>found_value, out, self)
                return 1
        found = _policy_getattr(obj, name)  # methods and hooks: the shared rules
        if found is _MISSING:
            return 0
        unbox(found, out, self)
        return 1

    cdef object policy_values(self, object obj):
        """``obj._policy_values`` (see mom.dsl.sandbox), None if it has none."""
        cdef TypeInfo* info = self.type_info(<PyObject*>Py_TYPE(obj))
        if info.policy_values != NULL:
            return read_attribute(info.policy_values, obj, "_policy_values")
        return getattr(obj, "_policy_values", None)

    cdef inline int find_attribute(self, int32_t symbol, int32_t attribute, Value* out) except -1:
        """The first binding of ``symbol``, innermost out, that has the attribute."""
        cdef Py_ssize_t cursor = self.nsaved
        cdef Value* binding
        if self.depth_of[symbol] < 0:
            return 0
        if self.attribute(&self.current[symbol], attribute, out):
            return 1
        binding = self.outer_binding(symbol, &cursor)
        while binding != NULL:
            if self.attribute(binding, attribute, out):
                return 1
            binding = self.outer_binding(symbol, &cursor)
        return 0

    cdef int method(self, int32_t symbol, int32_t attribute, Value* out) except -1:
        """What a call head ``sym.attr`` names: a method of the innermost binding, else
        any binding's attribute (upstream asks the whole stack), else KeyError."""
        cdef Value* binding
        cdef TypeInfo* info
        cdef int32_t id
        if self.depth_of[symbol] >= 0:
            binding = &self.current[symbol]
            if binding.tag == T_ROW:
                id = self.c.attribute_method[attribute]
                if id >= 0:
                    vcopy(out, binding)
                    out.tag = T_ROWMETHOD
                    out.aux = id
                    return 0
            elif binding.tag == T_OBJ:
                obj = <object>binding.o
                info = self.type_info(<PyObject*>Py_TYPE(obj))  # a kind is not inherited:
                id = self.c.attribute_method[attribute]   # a subclass may override
                if id >= 0 and info.kind == K_ENTITY:
                    vcopy(out, binding)
                    out.tag = T_ENTMETHOD
                    out.slot = <int16_t>(info - self.types)
                    out.aux = id
                    return 0
                id = self.c.attribute_setter[attribute]
                if id >= 0 and info.kind == K_IO_TUNE:
                    vcopy(out, binding)
                    out.tag = T_IOSET
                    out.slot = <int16_t>(info - self.types)
                    out.aux = id
                    return 0
                name = self.c.attributes[attribute]
                methods = getattr(obj, "_policy_methods", None)
                if methods is not None and name in methods:
                    unbox(getattr(obj, name), out, self)
                    return 0
        if self.find_attribute(symbol, attribute, out) and out.tag != T_NONE:
            return 0
        vclear(out)
        raise KeyError(self.c.symbols[symbol] + "." + self.c.attributes[attribute])

    # ## Operators

    cdef int binary(self, int32_t op, Value* a, Value* b, Value* out) except -1:
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
                out.i = compare(op, x, y)
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
                return self.generic(op, a, b, out)  # exact int/float comparison
            else:
                p = <double>a.i
            if b.tag == T_FLOAT:
                q = b.f
            elif op >= OP_LT and op <= OP_NE and not mom_small(b.i):
                return self.generic(op, a, b, out)
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
        return self.generic(op, a, b, out)

    cdef int generic(self, int32_t op, Value* a, Value* b, Value* out) except -1:
        """The operator on Python objects, exactly as the reference computes it."""
        x = box(a)
        y = box(b)
        if op == OP_ADD:
            result = _builtins.checked_add(x, y, self.limits)
        elif op == OP_SUB:
            result = PyNumber_Subtract(x, y)
        elif op == OP_MUL:
            result = _builtins.checked_mul(x, y, self.limits)
        elif op == OP_DIV:
            result = PyNumber_TrueDivide(x, y)
        elif op == OP_SHL:
            result = _builtins.checked_shl(x, y, self.limits)
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
        unbox(result, out, self)
        return 0

    cdef int less(self, Value* a, Value* b, int python_op) except -1:
        """``a < b`` (or ``>``) as a truth value, for min and max."""
        cdef Value result
        result.o = NULL
        self.binary(OP_LT if python_op == Py_LT else OP_GT, a, b, &result)
        try:
            return truthy(&result)
        finally:
            vclear(&result)

    cdef int nary(self, int32_t op, Value* values, int32_t n, Value* out) except -1:
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
            if self.less(&values[j], &values[k], Py_LT if op == OP_MIN else Py_GT):
                k = j
        vcopy(out, &values[k])
        return 0

    # ## Calls

    cdef int call_value(self, Value* function, Value* args, int32_t n, Value* out) except -1:
        """Call a variable's or attribute's value with evaluated arguments."""
        cdef int32_t k
        cdef int overflow = 0
        cdef PyObject* previous
        if function.tag == T_ROWMETHOD:
            if self.row_method(function, args, n, out):
                return 0
        elif function.tag == T_ENTMETHOD:
            if self.entity_method(function, args, n, out):
                return 0
        elif function.tag == T_IOSET and n == 1:
            # IoTune.setX(v): current[key] = None if v is None else int(v)
            current_limits = read_attribute(self.types[function.slot].state[0], <object>function.o, "_current")
            key = IO_KEYS[function.aux]
            if args[0].tag == T_INT:
                # usually the limit is already that value: leave the dict alone then
                previous = PyDict_GetItemWithError(current_limits, key)
                if (previous == NULL or type(<object>previous) is not int
                        or PyLong_AsLongLongAndOverflow(<object>previous, &overflow) != args[0].i or overflow):
                    PyDict_SetItem(current_limits, key, args[0].i)
            elif args[0].tag == T_NONE:
                PyDict_SetItem(current_limits, key, None)
            else:
                PyDict_SetItem(current_limits, key, int(box(&args[0])))
            out.tag = T_NONE
            return 0
        elif function.tag == T_OBJ and function.o == <PyObject*>self.abs_function and n == 1:
            if args[0].tag == T_INT and args[0].i != (-9223372036854775807 - 1):
                out.tag = T_INT
                out.i = args[0].i if args[0].i >= 0 else -args[0].i
                return 0
            if args[0].tag == T_BOOL:
                out.tag = T_INT
                out.i = args[0].i
                return 0
            if args[0].tag == T_FLOAT:
                out.tag = T_FLOAT
                out.f = fabs(args[0].f)  # what Python's abs does: clears the sign bit (-0.0, NaN)
                return 0
        callee = box(function)
        positional = tuple([box(&args[k]) for k in range(n)])
        unbox(callee(*positional), out, self)
        return 0

    cdef int row_method(self, Value* method, Value* args, int32_t n, Value* out) except -1:
        """A rule method of a table row in C; 0 when the Python method must decide
        (unusual arguments: it raises exactly what the reference raises)."""
        cdef int32_t id = method.aux
        cdef int64_t row = method.i
        cdef int32_t field
        cdef object name
        if n < 1 or args[0].tag != T_OBJ or type(<object>args[0].o) is not str:
            return 0
        name = <object>args[0].o
        if id == M_STAT and (n == 1 or n == 2):
            field = self.field_of(method, name)
            if field < 0:
                raise KeyError("Field '%s' is not declared in any collector." % name)
            if self.tables[method.slot].count[row] == 0:
                out.tag = T_NONE
                return 1
            if not self.row_latest(method, field, out):
                if n == 2:
                    vcopy(out, &args[1])
                else:
                    out.tag = T_NONE
            return 1
        if id == M_STATAVG and n == 1:
            return self.stat_average(method, name, out)
        if id == M_CONTROL and n == 2:
            self.set_control(method, name, &args[1])
            out.tag = T_NONE
            return 1
        if id == M_GETCONTROL and n == 1:
            self.get_control(method, name, out)
            return 1
        return 0

    cdef int entity_method(self, Value* method, Value* args, int32_t n, Value* out) except -1:
        """A rule method of an upstream-style Entity in C, over its list of sample
        dicts; 0 when the Python method must decide (anything unusual)."""
        cdef object entity = <object>method.o
        cdef TypeInfo* info = &self.types[method.slot]
        cdef PyObject* found
        cdef int32_t id = method.aux
        cdef Py_ssize_t count, k
        cdef Average average
        cdef int64_t number
        cdef int overflow = 0
        if n < 1 or args[0].tag != T_OBJ or type(<object>args[0].o) is not str:
            return 0
        name = <object>args[0].o
        if id == M_CONTROL or id == M_GETCONTROL:
            controls = read_attribute(info.state[2], entity, "controls")
            if type(controls) is not dict:
                return 0
            if id == M_CONTROL and n == 2:
                PyDict_SetItem(controls, name, box(&args[1]))
                out.tag = T_NONE
                return 1
            if id == M_GETCONTROL and n == 1:
                found = PyDict_GetItemWithError(controls, name)
                out.tag = T_NONE
                if found != NULL:
                    unbox(<object>found, out, self)
                return 1
            return 0
        if id != M_STAT and id != M_STATAVG:
            return 0
        valid = read_attribute(info.state[0], entity, "_valid")
        if type(valid) is not frozenset:
            return 0
        statistics = read_attribute(info.state[1], entity, "statistics")
        if type(statistics) is not list:
            return 0
        if name not in valid:
            raise KeyError("Field '%s' is not declared in any collector." % name)
        count = PyList_GET_SIZE(statistics)
        if id == M_STAT and (n == 1 or n == 2):
            out.tag = T_NONE
            if count == 0:
                return 1
            sample = <object>PyList_GET_ITEM(statistics, count - 1)
            if type(sample) is not dict:
                return 0
            found = PyDict_GetItemWithError(sample, name)
            if found != NULL:
                unbox(<object>found, out, self)
            elif n == 2:
                vcopy(out, &args[1])
            return 1
        if id != M_STATAVG or n != 1:
            return 0
        if count == 0:
            raise _EntityError("Statistic '%s' not available" % name)
        memset(&average, 0, sizeof(Average))
        for k in range(count):  # oldest first, as Entity.StatAvg sums
            sample = <object>PyList_GET_ITEM(statistics, k)
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

    cdef int stat_average(self, Value* row, object name, Value* out) except -1:
        """Entity.StatAvg over the row's ring, summing oldest first as the reference."""
        cdef int32_t field = self.field_of(row, name)
        cdef TableInfo* t
        cdef int32_t count, slot, k, history
        cdef Average average
        cdef Py_ssize_t base
        cdef int8_t tag
        if field < 0:
            raise KeyError("Field '%s' is not declared in any collector." % name)
        t = &self.tables[row.slot]
        count = t.count[row.i]
        if count == 0:
            raise _EntityError("Statistic '%s' not available" % name)
        history = t.history
        base = (field * t.capacity + row.i) * history
        slot = t.head[row.i] - count + 1  # the oldest sample's slot, wrapped below
        if slot < 0:
            slot += history
        memset(&average, 0, sizeof(Average))
        for k in range(count):
            if k:
                slot += 1
                if slot == history:
                    slot = 0
            tag = t.tags[base + slot]
            if tag == S_NONE or tag == S_ABSENT:
                continue
            if tag == S_OBJECT:
                return 0  # a Python object in the history: the Python method decides
            if tag == S_FLOAT:
                average_float(&average, mom_bits_double(t.payload[base + slot]))
            elif not average_int(&average, t.payload[base + slot]):  # S_INT, S_BOOL
                return 0
        return average_result(&average, out)

    cdef inline int thunk(self, int32_t index, Value* out) except -1:
        """Evaluate argument thunk ``index`` (in whatever scope is current) into ``out``."""
        cdef int32_t symbol = self.c.thunk_loads[index]
        cdef object token
        cdef Value value
        if symbol >= 0:  # just a variable: no need to run its block
            if self.depth_of[symbol] < 0:
                self.pc = self.c.thunk_pcs[index]  # its LOAD, for the error's position
                token = self.c.node_of(self.pc)
                raise _undefined_symbol(token.value, token.line)
            vcopy(out, &self.current[symbol])
            return 0
        self.run(self.c.thunk_pcs[index])
        self.sp -= 1
        value = self.stack[self.sp]  # out may be this very slot: move through a temporary
        self.stack[self.sp].o = NULL
        self.stack[self.sp].tag = T_NONE
        out[0] = value
        return 0

    cdef int call_site(self, int32_t index, Value* out) except -1:
        """Run call site ``index``; its value goes to ``out`` (not on the stack)."""
        cdef SiteInfo* site = &self.c.sites[index]
        cdef int32_t symbol = site.symbol
        cdef int32_t call_pc = self.pc
        cdef int32_t k, n = site.nthunks
        cdef FunctionInfo* function
        cdef Binder* binder
        cdef Value argument
        cdef Py_ssize_t base
        if self.depth_of[symbol] >= 0 and self.current[symbol].tag != T_NONE:
            # a variable's value (abs, debug, Host.Stat...): it and its arguments go on
            # the stack, where an error leaves them for reset() to release
            base = self.sp
            if base + n + 1 > self.stack_capacity:
                raise _too_deep_error()
            vcopy(&self.stack[base], &self.current[symbol])
            self.sp = base + 1
            for k in range(n):
                self.thunk(site.first_thunk + k, &self.stack[self.sp])
                self.sp += 1
            self.pc = call_pc  # errors of the call itself are the call's
            self.call_value(&self.stack[base], &self.stack[base + 1], n, out)
            for k in range(n + 1):
                vclear(&self.stack[base + k])
            self.sp = base
            return 0
        if self.functions[symbol] < 0:
            raise KeyError(self.c.symbols[symbol])
        function = &self.c.functions[self.functions[symbol]]
        if function.nparams != n:
            if function.nparams < 0:
                raise TypeError("object of type 'Token' has no len()")
            raise _function_arity_error(self.c.symbols[symbol], self.c.site_lines[index])
        self.steps_left -= 1
        if self.steps_left < 0:
            raise _step_limit_error(self.limits)
        if self.calls >= self.max_calls:
            raise _call_depth_error(self.limits, self.c.symbols[symbol])
        self.calls += 1
        self.enter()
        for k in range(n):
            binder = &self.c.binders[function.first_binder + k]
            if not binder.is_symbol:
                raise self.c.constant_objects[binder.index]()
            argument.o = NULL
            self.thunk(site.first_thunk + k, &argument)
            self.pc = call_pc
            self.bind(binder.index, &argument)
        self.run(function.body_pc)
        self.sp -= 1
        out[0] = self.stack[self.sp]
        self.stack[self.sp].o = NULL
        self.stack[self.sp].tag = T_NONE
        self.leave()
        self.calls -= 1
        return 0

    # ## with

    cdef int with_begin(self, int32_t symbol, int32_t attribute, int32_t keep) except -1:
        """Push the results (a list or None) and a loop over the iterable."""
        cdef Value iterable
        cdef Loop* loop
        cdef cnp.ndarray rows
        iterable.o = NULL
        iterable.tag = T_NONE
        if attribute < 0:
            if self.depth_of[symbol] < 0:
                raise TypeError("%d format: a real number is required, not NoneType")
            vcopy(&iterable, &self.current[symbol])
        elif not self.find_attribute(symbol, attribute, &iterable):
            raise TypeError("%d format: a real number is required, not NoneType")
        try:
            if self.nloops == self.loops_capacity:
                self.loops_capacity *= 2
                self.loops = <Loop*>PyMem_Realloc(self.loops, self.loops_capacity * sizeof(Loop))
                if self.loops == NULL:
                    raise MemoryError()
            loop = &self.loops[self.nloops]
            if iterable.tag == T_OBJ and self.type_info(<PyObject*>Py_TYPE(<object>iterable.o)).kind == K_ROWS:
                guests = <object>iterable.o
                rows = guests.rows
                if cnp.PyArray_TYPE(rows) != cnp.NPY_INT32 or not rows.flags.c_contiguous:
                    raise ValueError("the rows of a guest set must be a C-contiguous int32 array")
                loop.table = <PyObject*>guests.table
                loop.is_list = False
                loop.slot = self.table_slot(loop.table)
                loop.keep = <PyObject*>rows
                Py_INCREF(rows)
                loop.rows = <int32_t*>cnp.PyArray_DATA(rows)
                loop.n = rows.shape[0]
            elif iterable.tag == T_OBJ and type(<object>iterable.o) is list:
                loop.table = NULL
                loop.is_list = True
                loop.keep = iterable.o
                Py_INCREF(<object>iterable.o)
                loop.rows = NULL
                loop.n = 0
            else:
                iterator = iter(box(&iterable))
                loop.table = NULL
                loop.is_list = False
                loop.keep = <PyObject*>iterator
                Py_INCREF(iterator)
                loop.rows = NULL
                loop.n = 0
            loop.position = 0
            self.nloops += 1
        finally:
            vclear(&iterable)
        if keep:
            vobject(&self.stack[self.sp], [])
        else:
            self.stack[self.sp].tag = T_NONE
        self.sp += 1
        self.stack[self.sp].tag = T_ITER
        self.stack[self.sp].aux = <int32_t>(self.nloops - 1)
        self.stack[self.sp].o = NULL
        self.sp += 1
        return 0

    cdef int with_next(self, int32_t variable) except -1:
        """Bind the next item in a new scope (1), or end the loop (0)."""
        cdef Loop* loop = &self.loops[self.stack[self.sp - 1].aux]
        cdef Value item
        cdef PyObject* next_item
        item.o = NULL
        if loop.rows != NULL:
            if loop.position >= loop.n:
                return self.with_end()
            item.tag = T_ROW
            item.slot = loop.slot
            item.i = loop.rows[loop.position]
            item.o = loop.table
            Py_INCREF(<object>loop.table)
        elif loop.is_list:  # as list iteration: the length is read at each step
            if loop.position >= PyList_GET_SIZE(<object>loop.keep):
                return self.with_end()
            item.tag = T_NONE
            unbox(<object>PyList_GET_ITEM(<object>loop.keep, loop.position), &item, self)
        else:
            next_item = PyIter_Next(<object>loop.keep)
            if next_item == NULL:
                return self.with_end()
            item.tag = T_NONE
            try:
                unbox(<object>next_item, &item, self)
            finally:
                Py_DECREF(<object>next_item)
        loop.position += 1
        self.steps_left -= 1
        if self.steps_left < 0:
            vclear(&item)
            raise _step_limit_error(self.limits)
        self.enter()
        self.bind(variable, &item)
        return 1

    cdef int with_end(self) except -1:
        self.nloops -= 1
        Py_XDECREF(self.loops[self.nloops].keep)
        self.sp -= 1
        self.stack[self.sp].tag = T_NONE
        return 0

    # ## The loop

    cdef int run(self, int32_t pc) except -1:
        """Run the block at ``pc``; its value is left on the stack.

        The stack pointer lives in a local while the block runs and is written back
        to ``self.sp`` around anything that runs nested blocks (calls, loops).
        """
        cdef int32_t* code = self.c.code
        cdef Value* stack = self.stack
        cdef Value* constants = self.c.constants
        cdef Value* current = self.current
        cdef Value* top
        cdef Value result
        cdef int32_t op, start, n
        cdef Py_ssize_t sp = self.sp
        cdef Py_ssize_t k
        cdef double x, y
        if sp + self.c.max_stack > self.stack_capacity:
            raise _too_deep_error()
        if sp + self.c.max_stack > self.stack_high:
            self.stack_high = sp + self.c.max_stack  # what reset() releases after an error
        result.o = NULL
        result.tag = T_NONE
        if True:  # (no try block: entering one saves the exception state every call)
            while True:
                start = pc
                self.pc = pc  # after an error, the innermost failing instruction
                op = code[pc]
                if op == OP_CONST:
                    vcopy(&stack[sp], &constants[code[pc + 1]])
                    sp += 1
                    pc += 2
                elif op == OP_LOAD:
                    n = code[pc + 1]
                    if self.depth_of[n] < 0:
                        token = self.c.node_of(start)
                        raise _undefined_symbol(token.value, token.line)
                    vcopy(&stack[sp], &current[n])
                    sp += 1
                    pc += 2
                elif op == OP_LOAD_ATTR:
                    top = &stack[sp]
                    top.o = NULL
                    top.tag = T_NONE
                    n = code[pc + 1]
                    # the usual case inline: the innermost binding is a row with the field
                    if not (self.depth_of[n] >= 0 and current[n].tag == T_ROW
                            and self.row_latest(&current[n], self.field_at(&current[n], code[pc + 2]), top)):
                        if not self.find_attribute(n, code[pc + 2], top):
                            token = self.c.node_of(start)
                            raise _undefined_symbol(token.value, token.line)
                    sp += 1
                    pc += 3
                elif op == OP_POP:
                    sp -= 1
                    vclear(&stack[sp])
                    pc += 1
                elif op == OP_FAIL:
                    raise self.c.constant_objects[code[pc + 1]]()
                elif (op == OP_ADD or op == OP_SUB or op == OP_MUL or op == OP_DIV or op == OP_LT or op == OP_GT
                        or op == OP_LE or op == OP_GE or op == OP_EQ or op == OP_NE or op == OP_SHL or op == OP_SHR):
                    top = &stack[sp - 2]
                    if ((top[0].tag == T_FLOAT or (top[0].tag == T_INT and mom_small(top[0].i)))
                            and (top[1].tag == T_FLOAT or (top[1].tag == T_INT and mom_small(top[1].i)))
                            and (top[0].tag == T_FLOAT or top[1].tag == T_FLOAT)
                            and op != OP_SHL and op != OP_SHR):
                        # a float and a float or small int: balloon arithmetic, inline
                        # (a small int converts to double exactly, as Python converts it)
                        x = top[0].f if top[0].tag == T_FLOAT else <double>top[0].i
                        y = top[1].f if top[1].tag == T_FLOAT else <double>top[1].i
                        if op >= OP_LT and op <= OP_NE and code[pc + 1] == OP_JUMP_IF_FALSE:  # compare, branch
                            top[0].tag = T_NONE
                            top[1].tag = T_NONE
                            sp -= 2
                            pc = pc + 3 if compare(op, x, y) else code[pc + 2]
                            continue
                        float_op(op, x, y, top)
                        top[1].tag = T_NONE
                        sp -= 1
                        pc += 1
                        continue
                    self.binary(op, top, &top[1], &result)
                    vclear(top)
                    vclear(&top[1])
                    top[0] = result
                    result.o = NULL
                    sp -= 1
                    pc += 1
                elif op == OP_NOT:
                    top = &stack[sp - 1]
                    n = truthy(top)
                    vclear(top)
                    top.tag = T_BOOL
                    top.i = not n
                    pc += 1
                elif op == OP_AND or op == OP_OR or op == OP_MIN or op == OP_MAX or op == OP_VALID or op == OP_NULL:
                    n = code[pc + 1]
                    top = &stack[sp - n]
                    self.nary(op, top, n, &result)
                    for k in range(n):
                        vclear(&top[k])
                    top[0] = result
                    result.o = NULL
                    sp -= n - 1
                    pc += 2
                elif op == OP_JUMP:
                    pc = code[pc + 1]
                elif op == OP_JUMP_IF_FALSE:
                    sp -= 1
                    top = &stack[sp]
                    if top.tag == T_BOOL:
                        n = <int32_t>top.i
                    else:
                        n = truthy(top)
                        vclear(top)
                    pc = pc + 2 if n else code[pc + 1]
                elif op == OP_RETURN:
                    self.sp = sp
                    return 0
                elif op == OP_DEFVAR:
                    n = code[pc + 1]
                    top = &stack[sp - 1]
                    if self.depth_of[n] == self.nscopes:
                        vclear(top)
                        vcopy(top, &current[n])  # set-if-absent: the old value
                    else:
                        vcopy(&result, top)
                        self.bind(n, &result)
                    pc += 2
                elif op == OP_DEFVAR_VOID:
                    sp -= 1
                    n = code[pc + 1]
                    if self.depth_of[n] == self.nscopes:
                        vclear(&stack[sp])  # set-if-absent: nothing changes
                    else:
                        self.bind(n, &stack[sp])
                    pc += 2
                elif op == OP_SET_VOID:
                    sp -= 1
                    n = code[pc + 1]
                    if self.depth_of[n] < 0:
                        raise _unbound_assignment(self.c.symbols[n])
                    vclear(&current[n])
                    current[n] = stack[sp]
                    stack[sp].o = NULL
                    stack[sp].tag = T_NONE
                    pc += 2
                elif op == OP_SET:
                    n = code[pc + 1]
                    if self.depth_of[n] < 0:
                        raise _unbound_assignment(self.c.symbols[n])
                    vclear(&current[n])
                    vcopy(&current[n], &stack[sp - 1])
                    pc += 2
                elif op == OP_ENTER:
                    self.enter()
                    pc += 1
                elif op == OP_LEAVE:
                    self.leave()
                    pc += 1
                elif op == OP_BIND:
                    sp -= 1
                    self.bind(code[pc + 1], &stack[sp])
                    pc += 2
                elif op == OP_DEF:
                    self.functions[code[pc + 1]] = code[pc + 2]
                    vobject(&stack[sp], self.c.symbols[code[pc + 1]])
                    sp += 1
                    pc += 3
                elif op == OP_CALL:
                    self.sp = sp
                    self.call_site(code[pc + 1], &result)
                    stack[sp] = result
                    result.o = NULL
                    result.tag = T_NONE
                    sp += 1
                    self.sp = sp
                    pc += 2
                elif op == OP_CALL_VOID:
                    self.sp = sp
                    self.call_site(code[pc + 1], &result)
                    vclear(&result)
                    pc += 2
                elif op == OP_METHOD:
                    top = &stack[sp]
                    top.o = NULL
                    top.tag = T_NONE
                    self.method(code[pc + 1], code[pc + 2], top)
                    sp += 1
                    pc += 3
                elif op == OP_CALL_METHOD:
                    n = code[pc + 1]
                    top = &stack[sp - n - 1]
                    self.call_value(top, &top[1], n, &result)
                    for k in range(n + 1):
                        vclear(&top[k])
                    top[0] = result
                    result.o = NULL
                    result.tag = T_NONE
                    sp -= n
                    pc += 2
                elif op == OP_CALL_METHOD_VOID:
                    n = code[pc + 1]
                    top = &stack[sp - n - 1]
                    self.call_value(top, &top[1], n, &result)
                    vclear(&result)
                    for k in range(n + 1):
                        vclear(&top[k])
                    sp -= n + 1
                    pc += 2
                elif op == OP_WITH:
                    self.sp = sp
                    self.with_begin(code[pc + 1], code[pc + 2], code[pc + 3])
                    sp = self.sp
                    pc += 4
                elif op == OP_WITH_NEXT:
                    self.sp = sp
                    n = self.with_next(code[pc + 1])
                    sp = self.sp
                    pc = pc + 3 if n else code[pc + 2]
                elif op == OP_WITH_STEP:
                    if code[pc + 2]:  # keep: the body's value goes to the results
                        sp -= 1
                        top = &stack[sp - 2]
                        if top.tag == T_OBJ:
                            PyList_Append(<object>top.o, box(&stack[sp]))
                        vclear(&stack[sp])
                    self.leave()
                    # the WITH_NEXT at the loop head, done here: the next item or the end
                    pc = code[pc + 1]
                    self.sp = sp
                    n = self.with_next(code[pc + 1])
                    sp = self.sp
                    pc = pc + 3 if n else code[pc + 2]
                else:
                    raise SystemError(f"bad opcode {op} at {pc}")

    # ## Entry

    def execute(self, bindings):
        """Evaluate every top-level form with fresh variables; their values (None if
        the code was compiled without them)."""
        cdef int32_t symbol
        cdef Value value
        cdef list results = [] if self.c.values else None
        cdef PyObject* found
        self.pc = -1  # an error before the first instruction has no position
        self.error_pc = -1
        try:
            for symbol, python_value in self.c.stack_bindings:
                value.o = NULL
                value.tag = T_NONE
                unbox(python_value, &value, self)
                self.bind(symbol, &value)
            for name, python_value in bindings.items():
                found = PyDict_GetItemWithError(self.c.symbol_index, name)
                if found != NULL:
                    value.o = NULL
                    value.tag = T_NONE
                    unbox(python_value, &value, self)
                    self.bind(<int32_t>(<object>found), &value)
            for pc in self.c.top:
                self.steps_left = self.max_steps
                self.calls = 0
                self.run(pc)
                self.sp -= 1
                if results is not None:
                    results.append(box(&self.stack[self.sp]))
                vclear(&self.stack[self.sp])
            return results
        except BaseException:
            self.error_pc = self.pc
            raise
        finally:
            self.reset()


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
        out.i = compare(op, x, y)
        return 0
    out.tag = T_FLOAT
    return 0


ctypedef fused compared:
    int64_t
    double


cdef inline int compare(int32_t op, compared x, compared y) noexcept:
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
