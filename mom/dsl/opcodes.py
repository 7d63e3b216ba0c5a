"""Opcodes of the policy bytecode: the single source of truth.

The bytecode compiler (:mod:`mom.dsl.bytecode`) emits them; the Cython VM
(``mom/_fastpath/vm.pyx``) runs them.  ``mom/_fastpath/opcodes.pxd`` declares the same
names and numbers as a C enum, and a test checks that the two agree.

Code is a flat array of ints: an opcode followed by its operands (``OPERANDS`` gives
how many).  Every instruction leaves the stack one value higher, lower or the same as
``STACK_EFFECT`` says (``None``: depends on an operand).
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["Keep", "Op", "OPERANDS", "STACK_EFFECT"]


class Op(IntEnum):
    # ## Values
    CONST = 1  # k: push constant k
    LOAD = 2  # s: push the innermost binding of symbol s (undefined -> PolicyError)
    LOAD_ATTR = 3  # s a: push attribute name a of the innermost binding of s that has it
    POP = 4  # drop the top value
    FAIL = 5  # k: raise the exception built by factory constant k
    # ## Operators: pop b, pop a, push a <op> b
    ADD = 10
    SUB = 11
    MUL = 12
    DIV = 13
    LT = 14
    GT = 15
    LE = 16
    GE = 17
    EQ = 18
    NE = 19
    SHL = 20
    SHR = 21
    NOT = 22  # pop a, push not a
    # ## n-ary: pop n values, push one
    AND = 30
    OR = 31
    MIN = 32
    MAX = 33
    VALID = 34
    NULL = 35
    # ## Control flow (targets are absolute code offsets)
    JUMP = 40  # t
    JUMP_IF_FALSE = 41  # t: pop the condition
    RETURN = 42  # end of a block: its value is on top
    # ## Variables and scopes
    DEFVAR = 50  # s: pop v, bind s unless the innermost scope has it, push the binding
    SET = 51  # s: pop v, assign the innermost binding of s, push v
    ENTER = 52  # open a scope
    LEAVE = 53  # close the innermost scope (the value on top stays)
    BIND = 54  # s: pop v, bind s in the innermost scope unless already bound there
    DEFVAR_VOID = 55  # s: DEFVAR whose value nobody uses: pop v, bind s
    SET_VOID = 56  # s: SET whose value nobody uses: pop v, assign s
    # ## Functions and methods
    DEF = 60  # s f: define user function f under symbol s, push its name
    CALL = 61  # c: call site c (a variable's value or a user function)
    METHOD = 62  # s a: push the callable attribute a of the innermost binding of s having it
    CALL_METHOD = 63  # n: pop n arguments and the callable, push the result
    CALL_VOID = 64  # c: CALL whose value nobody uses
    CALL_METHOD_VOID = 65  # n: CALL_METHOD whose value nobody uses
    # ## with
    WITH = 70  # s a keep: push the results list (or None) and an iterator over s (or s.a)
    WITH_NEXT = 71  # v t: bind the next item to v in a new scope, or end the loop at t
    WITH_STEP = 72  # t keep: pop the body's value into the results if keep, close the scope, jump to t


class Keep(IntEnum):
    """The ``keep`` operand of WITH and WITH_STEP: what becomes of the body's values."""

    NOTHING = 0  # not computed (nobody wants the with's value)
    LIST = 1  # collected into the results list, the with's value
    CHECKED = 2  # computed, and looked at by the VM instead of collected (the checked variant)


#: number of operands of each opcode
OPERANDS: dict[Op, int] = {
    Op.CONST: 1,
    Op.LOAD: 1,
    Op.LOAD_ATTR: 2,
    Op.POP: 0,
    Op.FAIL: 1,
    **{op: 0 for op in (Op.ADD, Op.SUB, Op.MUL, Op.DIV, Op.LT, Op.GT, Op.LE, Op.GE, Op.EQ, Op.NE, Op.SHL, Op.SHR, Op.NOT)},
    **{op: 1 for op in (Op.AND, Op.OR, Op.MIN, Op.MAX, Op.VALID, Op.NULL)},
    Op.JUMP: 1,
    Op.JUMP_IF_FALSE: 1,
    Op.RETURN: 0,
    Op.DEFVAR: 1,
    Op.SET: 1,
    Op.ENTER: 0,
    Op.LEAVE: 0,
    Op.BIND: 1,
    Op.DEFVAR_VOID: 1,
    Op.SET_VOID: 1,
    Op.DEF: 2,
    Op.CALL: 1,
    Op.METHOD: 2,
    Op.CALL_METHOD: 1,
    Op.CALL_VOID: 1,
    Op.CALL_METHOD_VOID: 1,
    Op.WITH: 3,
    Op.WITH_NEXT: 2,
    Op.WITH_STEP: 2,
}

#: change of the stack height; None where an operand decides it
STACK_EFFECT: dict[Op, int | None] = {
    Op.CONST: 1,
    Op.LOAD: 1,
    Op.LOAD_ATTR: 1,
    Op.POP: -1,
    Op.FAIL: 0,
    **{op: -1 for op in (Op.ADD, Op.SUB, Op.MUL, Op.DIV, Op.LT, Op.GT, Op.LE, Op.GE, Op.EQ, Op.NE, Op.SHL, Op.SHR)},
    Op.NOT: 0,
    **{op: None for op in (Op.AND, Op.OR, Op.MIN, Op.MAX, Op.VALID, Op.NULL)},
    Op.JUMP: 0,
    Op.JUMP_IF_FALSE: -1,
    Op.RETURN: 0,
    Op.DEFVAR: 0,
    Op.SET: 0,
    Op.ENTER: 0,
    Op.LEAVE: 0,
    Op.BIND: -1,
    Op.DEFVAR_VOID: -1,
    Op.SET_VOID: -1,
    Op.DEF: 1,
    Op.CALL: 1,
    Op.METHOD: 1,
    Op.CALL_METHOD: None,
    Op.CALL_VOID: 0,
    Op.CALL_METHOD_VOID: None,
    Op.WITH: 2,
    Op.WITH_NEXT: None,
    Op.WITH_STEP: None,
}
