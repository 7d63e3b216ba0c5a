# Opcodes of the policy bytecode, as a C enum for the VM.
# WARNING: must match mom/dsl/opcodes.py (tests/dsl/test_opcodes.py checks it).

cdef enum Opcode:
    OP_CONST = 1
    OP_LOAD = 2
    OP_LOAD_ATTR = 3
    OP_POP = 4
    OP_FAIL = 5
    OP_ADD = 10
    OP_SUB = 11
    OP_MUL = 12
    OP_DIV = 13
    OP_LT = 14
    OP_GT = 15
    OP_LE = 16
    OP_GE = 17
    OP_EQ = 18
    OP_NE = 19
    OP_SHL = 20
    OP_SHR = 21
    OP_NOT = 22
    OP_AND = 30
    OP_OR = 31
    OP_MIN = 32
    OP_MAX = 33
    OP_VALID = 34
    OP_NULL = 35
    OP_JUMP = 40
    OP_JUMP_IF_FALSE = 41
    OP_RETURN = 42
    OP_DEFVAR = 50
    OP_SET = 51
    OP_ENTER = 52
    OP_LEAVE = 53
    OP_BIND = 54
    OP_DEFVAR_VOID = 55
    OP_SET_VOID = 56
    OP_DEF = 60
    OP_CALL = 61
    OP_METHOD = 62
    OP_CALL_METHOD = 63
    OP_CALL_VOID = 64
    OP_CALL_METHOD_VOID = 65
    OP_WITH = 70
    OP_WITH_NEXT = 71
    OP_WITH_STEP = 72

# the keep operand of OP_WITH and OP_WITH_STEP (mom.dsl.opcodes.Keep)
cdef enum Keep:
    KEEP_NOTHING = 0
    KEEP_LIST = 1
    KEEP_CHECKED = 2
