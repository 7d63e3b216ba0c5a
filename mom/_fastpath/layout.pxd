# The tables of mom/dsl/layout.py for C: the column store's storage tags, the rule
# method ids, the kinds a class declares.  tests/dsl/test_layout.py compares them with
# the Python ones (vm.C_TABLES exports these values as compiled).

# what a cell of a column store holds (its int8 tag)
cdef enum StorageTag:
    S_NONE = 0
    S_BOOL = 1
    S_INT = 2
    S_FLOAT = 3
    S_OBJECT = 4
    S_ABSENT = 8

# the rule methods, indexes of RULE_METHOD_NAMES
cdef enum RuleMethod:
    M_PROP = 0
    M_STAT = 1
    M_STATAVG = 2
    M_SETVAR = 3
    M_GETVAR = 4
    M_CONTROL = 5
    M_GETCONTROL = 6

# what a class declares as _policy_kind (0: nothing)
cdef enum Kind:
    K_NONE = 0
    K_ROW = 1
    K_ROWS = 2
    K_ENTITY = 3
    K_IO_TUNE = 4
