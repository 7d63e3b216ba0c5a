"""The policy bytecode VM: the fast twin of the reference in mom.dsl.compiler.

The machine runs a Code (code.pyx) over tagged values (values.pyx): shallow binding over
symbol ids (the current binding of every symbol sits in one array, and each scope
remembers what it shadowed), calls with argument thunks, ``with`` loops, and the
instruction loop.  What it reads of the data (rows, entities, IO-tune records) goes
through rows.pyx, the operators through operators.pyx.  See mom/dsl/bytecode.py for the
code format and mom/dsl/opcodes.py for the instruction set.
"""

from cpython.ref cimport PyObject, Py_INCREF, Py_DECREF, Py_XDECREF
from cpython.list cimport PyList_Append, PyList_GET_ITEM, PyList_GET_SIZE
from cpython.dict cimport PyDict_GetItemWithError
from cpython.mem cimport PyMem_Malloc, PyMem_Realloc, PyMem_Free
from libc.stdint cimport int64_t, int32_t, int16_t, uint64_t
from libc.math cimport fabs
from libc.string cimport memset

cimport cython
cimport numpy as cnp

from mom._fastpath.code cimport Code, SiteInfo, FunctionInfo, Binder
from mom._fastpath.layout cimport *
from mom._fastpath.opcodes cimport *
from mom._fastpath.operators cimport binary, nary, float_op, compare_float, compare_int
from mom._fastpath.rows cimport (
    Rows, TableInfo, WARM_ROWS, call_method, field_at, method_of_row, row_latest, type_info, unbox
)
from mom._fastpath.values cimport *

from mom.dsl.limits import (
    call_depth_error as _call_depth_error, step_limit_error as _step_limit_error, too_deep_error as _too_deep_error
)
from mom.dsl.scope import unbound_assignment as _unbound_assignment, undefined_symbol as _undefined_symbol
from mom.dsl.builtins import STACK_FUNCTIONS as _STACK_FUNCTIONS
from mom.dsl.reader import Token as _Token
from mom.dsl.support import function_arity_error as _function_arity_error, params_not_a_list_error as _params_not_a_list_error

cnp.import_array()

cdef extern from "Python.h":
    PyObject* PyIter_Next(object o) except? NULL
    Py_ssize_t mom_refcount "Py_REFCNT"(PyObject* o) noexcept
    PyObject* mom_type "(PyObject*)Py_TYPE"(PyObject* o) noexcept

ctypedef struct Saved:
    int32_t symbol
    int32_t depth     # scope depth of the shadowed binding, -1 if there was none
    Value value

ctypedef struct Frame:
    # a user function's call in progress, its body run by the caller's run() loop
    int32_t return_pc  # the instruction after the call
    int32_t void       # CALL_VOID: the body's value is dropped on return

ctypedef struct Loop:
    PyObject* table   # rows loop: the table (its TableInfo holds it); else NULL
    int16_t slot      # rows loop: the table's slot
    bint is_list      # keep is a list, walked by index
    PyObject* keep    # owned: the rows array, the list, or the Python iterator
    int32_t* rows
    int64_t n
    int64_t position
    uint64_t fields   # rows loop: fields whose objects its body read (Rows.warm reads ahead)

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
    "keep": {"NOTHING": KEEP_NOTHING, "LIST": KEEP_LIST, "CHECKED": KEEP_CHECKED},
}


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
    cdef Frame* frames
    cdef Py_ssize_t nframes
    cdef Py_ssize_t frames_capacity
    cdef Rows rows                   # the tables and typed objects it reads
    cdef int64_t steps_left
    cdef int64_t max_steps
    cdef int32_t calls
    cdef int32_t max_calls
    cdef int32_t pc                  # the instruction running (the innermost, after an error)
    cdef Py_ssize_t stack_high       # no block has used the stack above this
    cdef readonly int error_pc
    cdef object abs_function
    # the checked variant's (mom.dsl.bytecode.CHECKED) values that might hold an int
    # upstream's results line cannot show, in the order of the values, kept after execute
    cdef readonly list suspects

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
        self.frames_capacity = 16
        self.frames = <Frame*>PyMem_Malloc(self.frames_capacity * sizeof(Frame))
        self.rows = Rows(code)
        if (self.current == NULL or self.depth_of == NULL or self.functions == NULL or self.saved == NULL
                or self.scope_marks == NULL or self.stack == NULL or self.loops == NULL or self.frames == NULL):
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
        self.nframes = 0
        self.error_pc = -1
        self.abs_function = _STACK_FUNCTIONS["abs"]  # computed in C when it can be

    def __dealloc__(self):
        self.reset()
        PyMem_Free(self.current)
        PyMem_Free(self.depth_of)
        PyMem_Free(self.functions)
        PyMem_Free(self.saved)
        PyMem_Free(self.scope_marks)
        PyMem_Free(self.stack)
        PyMem_Free(self.loops)
        PyMem_Free(self.frames)

    cdef void reset(self) noexcept:
        cdef Py_ssize_t k
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
        if self.rows is not None:
            self.rows.reset()
        self.nsaved = 0
        self.nscopes = 0
        self.sp = 0
        self.nloops = 0
        self.nframes = 0  # an error's calls in progress: their scopes were released above

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
            vset(&self.current[entry.symbol], &entry.value)
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
        vset(&entry.value, &self.current[symbol])
        vset(&self.current[symbol], value)
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

    # ## Attributes (the sandbox's rules, see mom.dsl.sandbox)

    cdef inline int find_attribute(self, int32_t symbol, int32_t attribute, Value* out) except -1:
        """The first binding of ``symbol``, innermost out, that has the attribute."""
        cdef Py_ssize_t cursor = self.nsaved
        cdef Value* binding
        if self.depth_of[symbol] < 0:
            return 0
        if self.rows.attribute(&self.current[symbol], attribute, out):
            return 1
        binding = self.outer_binding(symbol, &cursor)
        while binding != NULL:
            if self.rows.attribute(binding, attribute, out):
                return 1
            binding = self.outer_binding(symbol, &cursor)
        return 0

    cdef int method(self, int32_t symbol, int32_t attribute, Value* out) except -1:
        """What a call head ``sym.attr`` names when the innermost binding has no such
        method (the loop, METHOD, asks it first): any binding's attribute (upstream
        asks the whole stack), else KeyError."""
        if self.find_attribute(symbol, attribute, out) and out.tag != T_NONE:
            return 0
        vclear(out)
        return self.no_method(symbol, attribute)

    cdef int no_method(self, int32_t symbol, int32_t attribute) except -1:
        """method()'s KeyError, out of its line: a function with Python locals pays for
        them at every return."""
        # the whole dotted name, as the reference's (x.y.z: upstream looks up only x.y,
        # then fails on the function named x.y.z); the head token of the call's form has it
        form = self.c.node_of(self.pc)
        if isinstance(form, list) and form and isinstance(form[0], _Token):
            raise KeyError(form[0].value)
        raise KeyError(self.c.symbols[symbol] + "." + self.c.attributes[attribute])

    # ## Calls

    cdef int call_value(self, Value* function, Value* args, int32_t n, Value* out) except -1:
        """Call a variable's or attribute's value with evaluated arguments."""
        if function.tag != T_OBJ:
            if call_method(self.rows, function, args, n, out):
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
        return self.call_python(function, args, n, out)

    cdef int call_python(self, Value* function, Value* args, int32_t n, Value* out) except -1:
        """call_value() of a Python callable (out of its line, as no_method)."""
        cdef int32_t k
        callee = box(function)
        positional = tuple([box(&args[k]) for k in range(n)])
        unbox(self.rows, callee(*positional), out)
        if getattr(callee, "_policy_sets_controls", False):
            # it set controls through the column store, which may have widened them
            self.rows.reload_views()
        return 0

    cdef inline int thunk(self, int32_t index, Value* out) except -1:
        """Evaluate argument thunk ``index`` (in whatever scope is current) into ``out``."""
        cdef int32_t symbol = self.c.thunk_loads[index]
        if symbol >= 0 and self.depth_of[symbol] >= 0:  # just a variable: no block to run
            vcopy(out, &self.current[symbol])
            return 0
        return self.run_thunk(index, out)

    cdef int run_thunk(self, int32_t index, Value* out) except -1:
        """thunk() past a bound variable: the thunk's block, or an unbound variable's error."""
        cdef int32_t symbol = self.c.thunk_loads[index]
        cdef Value value
        if symbol >= 0:
            self.pc = self.c.thunk_pcs[index]  # its LOAD, for the error's position
            token = self.c.node_of(self.pc)
            raise _undefined_symbol(token.value, token.line)
        self.run(self.c.thunk_pcs[index])
        self.sp -= 1
        vset(&value, &self.stack[self.sp])  # out may be this very slot: move through a temporary
        self.stack[self.sp].o = NULL
        self.stack[self.sp].tag = T_NONE
        vset(out, &value)
        return 0

    cdef int32_t call_start(self, int32_t index, int32_t return_pc, int32_t void, Value* out) except -2:
        """Start call site ``index``.  A variable's value (abs, debug, Host.Stat...) is
        called now, its value into ``out``: -1.  A user function's scope is entered,
        its arguments bound and a frame pushed: the pc of its body, which the calling
        run() loop goes on at; the body's RETURN pops the frame, leaves the scope and
        goes on at ``return_pc`` with the value on the stack (dropped if ``void``).
        The body runs in the caller's loop, not a nested run(): a C call and a loop
        entry less per call, and no C stack per call level."""
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
            return -1
        if self.functions[symbol] < 0:
            raise KeyError(self.c.symbols[symbol])
        function = &self.c.functions[self.functions[symbol]]
        if function.nparams != n:
            if function.nparams < 0:
                raise _params_not_a_list_error(self.c.params_types[self.functions[symbol]])
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
        # what run() checks on entry, for the body about to run in the caller's loop
        if self.sp + self.c.max_stack > self.stack_capacity:
            raise _too_deep_error()
        if self.sp + self.c.max_stack > self.stack_high:
            self.stack_high = self.sp + self.c.max_stack  # what reset() releases after an error
        if self.nframes == self.frames_capacity:
            self.frames_capacity *= 2
            self.frames = <Frame*>PyMem_Realloc(self.frames, self.frames_capacity * sizeof(Frame))
            if self.frames == NULL:
                raise MemoryError()
        self.frames[self.nframes].return_pc = return_pc
        self.frames[self.nframes].void = void
        self.nframes += 1
        return function.body_pc

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
            # a list first: a guest's disks, once per guest (asking the type cache about
            # list would push out the two types the loop's body reads)
            if iterable.tag == T_OBJ and type(<object>iterable.o) is list:
                loop.table = NULL
                loop.is_list = True
                loop.keep = iterable.o
                Py_INCREF(<object>iterable.o)
                loop.rows = NULL
                loop.n = 0
            elif iterable.tag == T_OBJ and type_info(self.rows, <PyObject*>Py_TYPE(<object>iterable.o)).kind == K_ROWS:
                guests = <object>iterable.o
                rows = guests.rows
                if cnp.PyArray_TYPE(rows) != cnp.NPY_INT32 or not rows.flags.c_contiguous:
                    raise ValueError("the rows of a guest set must be a C-contiguous int32 array")
                loop.table = <PyObject*>guests.table
                loop.is_list = False
                loop.slot = self.rows.table_slot(loop.table)
                loop.keep = <PyObject*>rows
                Py_INCREF(rows)
                loop.rows = <int32_t*>cnp.PyArray_DATA(rows)
                loop.n = rows.shape[0]
                loop.fields = 0
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
        if keep == KEEP_LIST:
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
        cdef TableInfo* table
        cdef PyObject* next_item
        item.o = NULL
        if loop.rows != NULL:
            if loop.position >= loop.n:
                return self.with_end()
            table = &self.rows.tables[loop.slot]
            if table.object_fields:  # what the body read of objects since the last row
                loop.fields |= table.object_fields
                table.object_fields = 0
            if loop.fields and loop.position % WARM_ROWS == 0:
                self.rows.warm(table, loop.rows + loop.position, min(<int64_t>WARM_ROWS, loop.n - loop.position),
                               loop.fields)
            item.tag = T_ROW
            item.slot = loop.slot
            item.i = loop.rows[loop.position]
            item.o = loop.table
            Py_INCREF(<object>loop.table)
        elif loop.is_list:  # as list iteration: the length is read at each step
            if loop.position >= PyList_GET_SIZE(<object>loop.keep):
                return self.with_end()
            item.tag = T_NONE
            unbox(self.rows, <object>PyList_GET_ITEM(<object>loop.keep, loop.position), &item)
        else:
            next_item = PyIter_Next(<object>loop.keep)
            if next_item == NULL:
                return self.with_end()
            item.tag = T_NONE
            try:
                unbox(self.rows, <object>next_item, &item)
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
        cdef Rows rows = self.rows
        cdef Value* top
        cdef Value result
        cdef int32_t op, start, n
        cdef Py_ssize_t sp = self.sp
        cdef Py_ssize_t k
        cdef Py_ssize_t frames_below = self.nframes  # the calls this block's RETURN does not end
        cdef Frame* frame
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
                            and row_latest(&rows.tables[current[n].slot], current[n].i,
                                           field_at(rows, &current[n], code[pc + 2]), top)):
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
                    if op >= OP_LT and op <= OP_NE and is_intlike(&top[0]) and is_intlike(&top[1]):
                        # ints and bools compared (switches, KiB): inline, as binary() does
                        n = compare_int(op, top[0].i, top[1].i)
                        top[1].tag = T_NONE
                        if code[pc + 1] == OP_JUMP_IF_FALSE:  # compare, branch
                            top[0].tag = T_NONE
                            sp -= 2
                            pc = pc + 3 if n else code[pc + 2]
                            continue
                        top[0].tag = T_BOOL
                        top[0].i = n
                        sp -= 1
                        pc += 1
                        continue
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
                            pc = pc + 3 if compare_float(op, x, y) else code[pc + 2]
                            continue
                        float_op(op, x, y, top)
                        top[1].tag = T_NONE
                        sp -= 1
                        pc += 1
                        continue
                    binary(rows, self.limits, op, top, &top[1], &result)
                    vclear(top)
                    vclear(&top[1])
                    vset(top, &result)
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
                    if op == OP_VALID:  # (valid x...) as nary's, inline: none of them None
                        n = 1
                        for k in range(code[pc + 1]):
                            if top[k].tag == T_NONE:
                                n = 0
                            vclear(&top[k])
                        sp -= code[pc + 1]
                        if code[pc + 2] == OP_JUMP_IF_FALSE:  # valid, branch
                            pc = pc + 4 if n else code[pc + 3]
                            continue
                        stack[sp].tag = T_BOOL
                        stack[sp].i = n
                        sp += 1
                        pc += 2
                        continue
                    nary(rows, self.limits, op, top, n, &result)
                    for k in range(n):
                        vclear(&top[k])
                    vset(top, &result)
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
                    if self.nframes == frames_below:  # the block's own end
                        self.sp = sp
                        return 0
                    # a user function's body, called in this loop (call_start): its value
                    # stays where the call puts it, at the stack pointer of the call
                    self.nframes -= 1
                    frame = &self.frames[self.nframes]
                    self.leave()
                    self.calls -= 1
                    if frame.void:
                        sp -= 1
                        vclear(&stack[sp])
                    pc = frame.return_pc
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
                    vset(&current[n], &stack[sp])
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
                elif op == OP_CALL or op == OP_CALL_VOID:
                    self.sp = sp
                    n = self.call_start(code[pc + 1], pc + 2, op == OP_CALL_VOID, &result)
                    if n >= 0:  # a user function: its body, here (its RETURN comes back)
                        sp = self.sp
                        pc = n
                        continue
                    if op == OP_CALL:
                        vset(&stack[sp], &result)
                        result.o = NULL
                        result.tag = T_NONE
                        sp += 1
                        self.sp = sp
                    else:
                        vclear(&result)
                    pc += 2
                elif op == OP_METHOD:
                    top = &stack[sp]
                    top.o = NULL
                    top.tag = T_NONE
                    n = code[pc + 1]
                    # a method of the innermost binding: a row's rule method (Stat,
                    # Control), an entity's or an IO-tune record's; else any binding's attribute
                    if self.depth_of[n] < 0:
                        k = 0
                    elif current[n].tag == T_ROW:
                        k = method_of_row(rows, &current[n], code[pc + 2], top)
                    elif current[n].tag == T_OBJ:
                        k = rows.method_of(&current[n], code[pc + 2], top)
                    else:
                        k = 0
                    if not k:
                        self.method(n, code[pc + 2], top)
                    sp += 1
                    pc += 3
                elif op == OP_CALL_METHOD:
                    n = code[pc + 1]
                    top = &stack[sp - n - 1]
                    if top.tag == T_OBJ:
                        self.call_value(top, &top[1], n, &result)
                    elif not call_method(rows, top, &top[1], n, &result):  # call_value's start, inline
                        self.call_python(top, &top[1], n, &result)
                    for k in range(n + 1):
                        vclear(&top[k])
                    vset(top, &result)
                    result.o = NULL
                    result.tag = T_NONE
                    sp -= n
                    pc += 2
                elif op == OP_CALL_METHOD_VOID:
                    n = code[pc + 1]
                    top = &stack[sp - n - 1]
                    if top.tag == T_OBJ:
                        self.call_value(top, &top[1], n, &result)
                    elif not call_method(rows, top, &top[1], n, &result):  # call_value's start, inline
                        self.call_python(top, &top[1], n, &result)
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
                    n = code[pc + 2]
                    if n != KEEP_NOTHING:  # the body's value: to the results, or looked at
                        sp -= 1
                        if n == KEEP_LIST:
                            top = &stack[sp - 2]
                            if top.tag == T_OBJ:
                                PyList_Append(<object>top.o, box(&stack[sp]))
                        elif stack[sp].tag == T_OBJ:
                            self.suspect(stack[sp].o)
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

    cdef inline int suspect(self, PyObject* value) except -1:
        """A value of the checked variant that would be (in) the results: kept if it may
        hold an int the results line cannot show (mom.dsl.results.unprintable walks
        ints, lists, tuples and dicts; an int object here is past int64).

        A list that only the VM's stack slot holds (a ``with``'s or a function's, about
        to be dropped: nobody can change it any more) and that holds no container and
        no int of more than 64 bits is not kept: no limit of digits lets such ints fail
        (the least, 640 digits, is past 2,000 bits), so the check would pass it."""
        cdef PyObject* kind = mom_type(value)
        if kind == <PyObject*>list:
            if mom_refcount(value) == 1 and scan_items(<list>value, 64) == 0:
                return 0
            self.suspects.append(<object>value)
        elif kind == <PyObject*>int or kind == <PyObject*>tuple or kind == <PyObject*>dict:
            self.suspects.append(<object>value)
        return 0

    def execute(self, bindings):
        """Evaluate every top-level form with fresh variables; their values (None if
        the code was compiled without them; the checked variant keeps ``suspects``)."""
        cdef int32_t symbol
        cdef Value value
        cdef list results = [] if self.c.values else None
        cdef PyObject* found
        cdef bint checked = self.c.checked
        self.pc = -1  # an error before the first instruction has no position
        self.error_pc = -1
        self.suspects = [] if checked else None
        try:
            for symbol, python_value in self.c.stack_bindings:
                value.o = NULL
                value.tag = T_NONE
                unbox(self.rows, python_value, &value)
                self.bind(symbol, &value)
            for name, python_value in bindings.items():
                found = PyDict_GetItemWithError(self.c.symbol_index, name)
                if found != NULL:
                    value.o = NULL
                    value.tag = T_NONE
                    unbox(self.rows, python_value, &value)
                    self.bind(<int32_t>(<object>found), &value)
            for pc in self.c.top:
                self.steps_left = self.max_steps
                self.calls = 0
                self.run(pc)
                self.sp -= 1
                if results is not None:
                    results.append(box(&self.stack[self.sp]))
                elif checked and self.stack[self.sp].tag == T_OBJ:
                    self.suspect(self.stack[self.sp].o)
                vclear(&self.stack[self.sp])
            return results
        except BaseException:
            self.error_pc = self.pc
            raise
        finally:
            self.reset()


# ## Results upstream cannot format (see mom.dsl.results)

cdef inline bint int_over(object number, Py_ssize_t bits) except -1:
    """Whether an int (exactly) has more than ``bits`` bits; those of 64 never have."""
    cdef int overflow = 0
    PyLong_AsLongLongAndOverflow(number, &overflow)
    return overflow and number.bit_length() > bits


cdef int scan_items(list items, Py_ssize_t bits) except -1:
    """The ints of ``items`` looked at: 1 if one has more than ``bits`` bits, else 2 if
    ``items`` holds containers (lists, tuples, dicts), 0 if not."""
    cdef Py_ssize_t k
    cdef int state = 0
    cdef object item, kind
    for k in range(PyList_GET_SIZE(items)):
        item = <object>PyList_GET_ITEM(items, k)
        kind = type(item)
        if kind is int:
            if int_over(item, bits):
                return 1
        elif kind is list or kind is tuple or kind is dict:
            state = 2
    return state


def holds_big_int(object results, Py_ssize_t bits):
    """Whether ``results`` (lists, tuples and dicts walked) holds an int of more than
    ``bits`` bits: the reference's mom.dsl.results.unprintable then decides.

    In C, because a policy's top-level lists hold an item per guest.  A container that
    holds no container (most: a ``with``'s list of numbers, a function's short list) is
    looked at without being remembered or stacked, since it cannot be part of a cycle;
    one that holds containers is walked into once.
    """
    cdef list pending = [results]
    cdef set seen = set()
    cdef list items
    cdef Py_ssize_t k
    cdef int state
    cdef object value, kind, item
    while pending:
        value = pending.pop()
        kind = type(value)
        if kind is int:
            if int_over(value, bits):
                return True
            continue
        if kind is list:
            items = value
        elif kind is tuple:
            items = list(value)
        elif kind is dict:
            items = list(value)
            items.extend(value.values())
        else:
            continue
        state = scan_items(items, bits)
        if state == 1:
            return True
        if state == 0 or id(value) in seen:
            continue
        seen.add(id(value))
        for k in range(PyList_GET_SIZE(items)):
            item = <object>PyList_GET_ITEM(items, k)
            kind = type(item)
            if kind is list:
                state = scan_items(item, bits)  # a list of plain values ends here
                if state == 1:
                    return True
                if state == 2:
                    pending.append(item)
            elif kind is tuple or kind is dict:
                pending.append(item)
    return False
