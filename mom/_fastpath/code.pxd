# A compiled program's bytecode in C arrays (code.pyx loads it from mom.dsl.bytecode).

from libc.stdint cimport int32_t

from mom._fastpath.values cimport Value

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


cdef class Code:
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
    cdef int32_t* attribute_setter   # IO-tune setter id of each attribute name, or -1
    cdef SiteInfo* sites
    cdef list site_lines
    cdef int32_t* thunk_pcs
    cdef int32_t* thunk_loads        # per thunk: the symbol it only loads, or -1
    cdef FunctionInfo* functions
    cdef list params_types           # per function: Function.params_type
    cdef Binder* binders
    cdef readonly list top
    cdef int32_t* node_at
    cdef readonly list nodes
    cdef readonly int max_stack
    cdef bint values                 # top-level values collected (Bytecode.values)
    cdef bint checked                # top-level values checked, not collected (Bytecode.checked)
