"""A compiled program's arrays: the code loader of the VM (the format: mom.dsl.bytecode)."""

from cpython.mem cimport PyMem_Malloc, PyMem_Free
from libc.string cimport memset

cimport cython

from mom._fastpath.values cimport unbox_scalar, vclear

from mom.dsl import builtins as _builtins
from mom.dsl.layout import IO_TUNE_SETTERS, RULE_METHOD_NAMES

cdef dict METHOD_IDS = {name: index for index, name in enumerate(RULE_METHOD_NAMES)}
cdef dict IO_SETTER_IDS = {name: index for index, (name, _key) in enumerate(IO_TUNE_SETTERS)}


@cython.final
@cython.no_gc_clear
cdef class Code:
    """Bytecode of one program in C arrays (built once per set_policy)."""

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
            unbox_scalar(self.constant_objects[k], &self.constants[k])
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
        self.params_types = [function.params_type for function in bytecode.functions]
        self.top = [bytecode.blocks[block] for block in bytecode.top]
        self.nodes = list(bytecode.nodes)
        self.max_stack = bytecode.max_stack + 8
        self.values = bytecode.values
        self.checked = bytecode.checked

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
