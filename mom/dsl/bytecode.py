"""Bytecode compiler: typed nodes to the stack-machine code the fast path runs.

The reference implementation (:mod:`mom.dsl.compiler`) generates Python; this module
generates bytecode (opcodes in :mod:`mom.dsl.opcodes`) for the Cython VM in
``mom/_fastpath/vm.pyx``.  Both start from the same nodes (:mod:`mom.dsl.syntax`) and
must agree on every result, error and side effect; the differential tests hold them
to that.  The code's node table holds the reader's tokens and forms (the nodes'
``origin``): the VM reads a failing name's ``value`` and ``line`` from it.

The VM assumes a *static world*: no variable may carry the name of a builtin (upstream
would then call the variable instead of the builtin) and no function name has a dot.
Whether a program breaks that is plain from its text, so the compiler notes it as it
meets the binding forms (:attr:`Bytecode.unsupported`), and the engine hands such
programs to the reference.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from mom.dsl import syntax as s
from mom.dsl.builtins import SHADOWABLE
from mom.dsl.opcodes import OPERANDS, Keep, Op
from mom.dsl.reader import Source
from mom.dsl.scope import undefined_symbol

__all__ = ["Bytecode", "Function", "Site", "compile_bytecode", "disassemble"]

_OPERATOR_OPS = {
    "add": Op.ADD, "sub": Op.SUB, "mul": Op.MUL, "div": Op.DIV, "lt": Op.LT, "gt": Op.GT,
    "lte": Op.LE, "gte": Op.GE, "eq": Op.EQ, "neq": Op.NE, "shl": Op.SHL, "shr": Op.SHR,
}  # fmt: skip
_NO_NODES = (-1, -1, -1, -1)
#: an instruction's width (opcode and operands), indexed by opcode
_WIDTH = [1] * (max(OPERANDS) + 1)
for _op, _operands in OPERANDS.items():
    _WIDTH[_op] = 1 + _operands
_NARY_OPS = {"and": Op.AND, "or": Op.OR, "min": Op.MIN, "max": Op.MAX, "valid": Op.VALID, "null": Op.NULL}


@dataclass
class Site:
    """A call ``(name args...)`` of a variable's value or a user function."""

    symbol: int
    line: int | None
    #: block ids of the argument thunks
    thunks: list[int]
    #: per argument: the symbol id when the thunk only loads that variable (the VM
    #: then skips running it), else -1
    shortcuts: list[int]


@dataclass
class Function:
    """A ``def``: its name, parameters and body block."""

    symbol: int
    #: None when the parameter list is not a list (upstream fails when it is called)
    nparams: int | None
    #: per parameter: a symbol id to bind, or the constant index of an error factory
    binders: list[tuple[bool, int]]
    body: int
    #: what upstream's len() of a parameter "list" that is a token names
    params_type: str = "Token"


@dataclass
class Bytecode:
    """A compiled program: code, constants, tables, and where each instruction came from."""

    code: list[int] = field(default_factory=list)
    #: node index of the instruction starting at each offset (-1 inside operands)
    node_at: list[int] = field(default_factory=list)
    nodes: list[Any] = field(default_factory=list)
    constants: list[Any] = field(default_factory=list)
    symbols: list[str] = field(default_factory=list)
    attributes: list[str] = field(default_factory=list)
    sites: list[Site] = field(default_factory=list)
    functions: list[Function] = field(default_factory=list)
    #: entry offset of each block (top-level forms, function bodies, thunks)
    blocks: list[int] = field(default_factory=list)
    #: block ids of the top-level forms, in order
    top: list[int] = field(default_factory=list)
    #: the deepest the value stack gets in any block
    max_stack: int = 0
    #: whether the top-level forms' values are computed and returned
    values: bool = True
    #: the checked variant (``values=CHECKED``): the values are computed but not
    #: collected; the VM keeps aside those that might hold what upstream's results line
    #: cannot show (mom.dsl.results), for ``evaluate``
    checked: bool = False
    #: why the VM cannot run this program (the reference then does), or None
    unsupported: str | None = None


#: ``values`` of the checked variant, and ``want`` of the code whose value becomes a
#: top-level value there (truthy: computed as for True)
CHECKED: Any = 2


def compile_bytecode(nodes: Sequence[s.Expr], source: Source | None = None, values: bool = True) -> Bytecode:
    """Compile top-level nodes (:func:`mom.dsl.syntax.expressions`); the VM runs the
    code only if ``unsupported`` is None.

    With ``values=False`` the top-level forms' values are not computed where that
    saves work (a ``with`` collects no results); their blocks return None.  With
    ``values=CHECKED`` they are computed as with True, but a ``with`` whose list would
    be a top-level value (or an item of one) collects nothing: the VM looks at each
    value where it would have been collected, and keeps aside only a Python int or
    container (see the VM's ``Machine.suspects``).  The policy engine runs that
    variant (upstream's results line fails on an int over the digit limit, debug on or
    off) and the valued one only to log results.
    """
    compiler = _Compiler(source)
    compiler.bytecode.checked = values is CHECKED
    compiler.bytecode.values = bool(values) and values is not CHECKED
    compiler.bytecode.top = [compiler.new_block([node], want=values) for node in nodes]
    compiler.finish()
    return compiler.bytecode


class _Compiler:
    def __init__(self, source: Source | None) -> None:
        self.source = source
        self.bytecode = Bytecode()
        self._symbols: dict[str, int] = {}
        self._attributes: dict[str, int] = {}
        self._pending: list[tuple[int, Sequence[s.Expr], bool]] = []
        self._depth = 0
        # the lists emit() appends to, reached without two attribute lookups each time
        self._code = self.bytecode.code
        self._node_at = self.bytecode.node_at

    # ## Tables

    # names and short strings are interned: the dicts they look up (statistics,
    # limits, controls) usually hold interned keys, and then match by address

    def symbol(self, name: str) -> int:
        if name not in self._symbols:
            self._symbols[name] = len(self.bytecode.symbols)
            self.bytecode.symbols.append(sys.intern(name))
        return self._symbols[name]

    def attribute(self, name: str) -> int:
        if name not in self._attributes:
            self._attributes[name] = len(self.bytecode.attributes)
            self.bytecode.attributes.append(sys.intern(name))
        return self._attributes[name]

    def constant(self, value: Any) -> int:
        if type(value) is str and len(value) <= 64:
            value = sys.intern(value)
        self.bytecode.constants.append(value)
        return len(self.bytecode.constants) - 1

    def node(self, node: s.Expr) -> int:
        """The index of ``node``'s token or form in the code's node table."""
        self.bytecode.nodes.append(node.origin)
        return len(self.bytecode.nodes) - 1

    # ## Emitting

    def emit(self, node: int, op: Op, *operands: int) -> int:
        code = self._code
        at = len(code)
        code.append(op)
        node_at = self._node_at
        node_at.append(node)
        if operands:
            code.extend(operands)
            node_at.extend(_NO_NODES[: len(operands)])
        return at

    def patch(self, at: int, operand: int, value: int) -> None:
        self.bytecode.code[at + 1 + operand] = value

    def here(self) -> int:
        return len(self.bytecode.code)

    def binds(self, symbol: s.Symbol) -> None:
        """A name bound as a variable: the VM cannot take one named like a builtin.

        (Only forms that can run count: nothing inside a malformed form is evaluated.)
        """
        if symbol.name in SHADOWABLE and self.bytecode.unsupported is None:
            self.bytecode.unsupported = f"binds the builtin name {symbol.name!r} as a variable"

    def fail(self, node: s.Expr, error: Callable[[], BaseException]) -> None:
        """Code that raises a fresh ``error()`` when it is reached."""
        self.emit(self.node(node), Op.FAIL, self.constant(error))

    def new_block(self, nodes: Sequence[s.Expr], want: bool = True) -> int:
        """Reserve a block compiled later; every block returns one value (None if not ``want``)."""
        block = len(self.bytecode.blocks)
        self.bytecode.blocks.append(-1)
        self._pending.append((block, nodes, want))
        return block

    def peephole(self) -> None:
        """A jump to a RETURN is a RETURN (if/else at the end of a body)."""
        code = self.bytecode.code
        pc = 0
        while pc < len(code):
            op = code[pc]
            if op == Op.JUMP and code[code[pc + 1]] == Op.RETURN:
                code[pc] = Op.RETURN
                code[pc + 1] = Op.RETURN  # unreachable operand slot: keep it harmless
                pc += 2
                continue
            pc += _WIDTH[op]

    def finish(self) -> None:
        while self._pending:
            block, nodes, want = self._pending.pop(0)
            self.bytecode.blocks[block] = self.here()
            self._depth = 0
            self.sequence(nodes, want)
            if not want:
                self.emit(-1, Op.CONST, self.constant(None))
                self.push()
            self.emit(-1, Op.RETURN)
        self.peephole()

    def push(self, n: int = 1) -> None:
        self._depth += n
        if self._depth > self.bytecode.max_stack:
            self.bytecode.max_stack = self._depth

    def sequence(self, nodes: Sequence[s.Expr], want: bool) -> None:
        """Evaluate all, keep the last value (upstream's ``eval``, ``{}``, let bodies)."""
        last = len(nodes) - 1
        for index, node in enumerate(nodes):
            self.expression(node, want if index == last else False)

    def done(self, want: bool) -> None:
        """After code that pushed one value: drop it if nobody wants it."""
        if not want:
            self.emit(-1, Op.POP)
            self._depth -= 1

    # ## Expressions: each pushes one value if ``want``, none otherwise (``want`` is
    # CHECKED, truthy, for the code whose value is a top-level one in the checked variant)

    def expression(self, node: s.Expr, want: bool = True) -> None:
        compile_node: Callable[[_Compiler, Any, bool], None] = _COMPILERS[type(node)]
        compile_node(self, node, want)

    def literal(self, node: s.Literal, want: bool) -> None:
        if want:  # a constant nobody uses costs nothing
            self.emit(self.node(node), Op.CONST, self.constant(node.value))
            self.push()

    def symbol_load(self, node: s.Symbol, want: bool) -> None:
        # still loaded when unused: an undefined name must fail
        self.emit(self.node(node), Op.LOAD, self.symbol(node.name))
        self.push()
        self.done(want)

    def attribute_load(self, node: s.Attribute, want: bool) -> None:
        if node.sealed:  # never visible: always undefined
            name, line = node.name, node.line
            self.fail(node, lambda: undefined_symbol(name, line))
        else:
            self.emit(self.node(node), Op.LOAD_ATTR, self.symbol(node.head), self.attribute(node.attr))
        self.push()
        self.done(want)

    def bad_atom(self, node: s.BadNumber | s.BadToken, want: bool) -> None:
        self.fail(node, node.error)
        self.push()
        self.done(want)

    def malformed(self, node: s.Malformed, want: bool) -> None:
        assert isinstance(node, s.Expr)
        self.fail(node, node.error)
        if want:
            self.push()

    def shortcut(self, arg: s.Expr) -> int:
        """The variable an argument just loads (the VM reads it without running its
        thunk), or -1."""
        return self.symbol(arg.name) if isinstance(arg, s.Symbol) else -1

    def call(self, node: s.Call, want: bool) -> None:
        args = node.args
        thunks = [self.new_block([arg]) for arg in args]
        site = len(self.bytecode.sites)
        shortcuts = [self.shortcut(arg) for arg in args]
        self.bytecode.sites.append(Site(self.symbol(node.name), node.line, thunks, shortcuts))
        self.emit(self.node(node), Op.CALL if want else Op.CALL_VOID, site)
        if want:
            self.push()

    def method_call(self, node: s.MethodCall, want: bool) -> None:
        if node.sealed:  # no such method anywhere, and no dotted functions
            name = node.name
            self.malformed_with(node, lambda: KeyError(name), want)
            return
        here = self.node(node)
        self.emit(here, Op.METHOD, self.symbol(node.head), self.attribute(node.attr))
        self.push()
        for arg in node.args:
            self.expression(arg)
        self.emit(here, Op.CALL_METHOD if want else Op.CALL_METHOD_VOID, len(node.args))
        self._depth -= len(node.args) + (0 if want else 1)

    def malformed_with(self, node: s.Expr, error: Callable[[], BaseException], want: bool) -> None:
        self.fail(node, error)
        if want:
            self.push()

    # ## Builtins

    def b_eval(self, node: s.Eval, want: bool) -> None:
        self.sequence(node.items, want)

    def b_binary(self, node: s.Binary, want: bool) -> None:
        self.expression(node.left)
        self.expression(node.right)
        self.emit(self.node(node), _OPERATOR_OPS[node.name])
        self._depth -= 1
        self.done(want)

    def b_nary(self, node: s.Variadic, want: bool) -> None:
        for arg in node.args:
            self.expression(arg)
        self.emit(self.node(node), _NARY_OPS[node.name], len(node.args))
        self._depth -= len(node.args)
        self.push()
        self.done(want)

    def b_not(self, node: s.Not, want: bool) -> None:
        self.expression(node.operand)
        self.emit(self.node(node), Op.NOT)
        self.done(want)

    def b_if(self, node: s.If, want: bool) -> None:
        here = self.node(node)
        self.expression(node.condition)
        to_else = self.emit(here, Op.JUMP_IF_FALSE, -1)
        self._depth -= 1
        self.expression(node.then, want)
        to_end = self.emit(here, Op.JUMP, -1)
        if want:
            self._depth -= 1
        self.patch(to_else, 0, self.here())
        self.expression(node.otherwise, want)
        self.patch(to_end, 0, self.here())

    def b_defvar(self, node: s.Defvar, want: bool) -> None:
        self.binds(node.target)
        self.expression(node.value)
        self.emit(self.node(node), Op.DEFVAR if want else Op.DEFVAR_VOID, self.symbol(node.target.name))
        if not want:
            self._depth -= 1

    def b_set(self, node: s.Set, want: bool) -> None:
        self.expression(node.value)
        self.emit(self.node(node), Op.SET if want else Op.SET_VOID, self.symbol(node.target.name))
        if not want:
            self._depth -= 1

    def b_def(self, node: s.Def, want: bool) -> None:
        name = node.target.name
        if "." in name and self.bytecode.unsupported is None:
            self.bytecode.unsupported = f"defines the dotted function name {name!r}"
        binders: list[tuple[bool, int]] = []
        nparams: int | None = None
        if node.params is not None:
            nparams = len(node.params)
            for param in node.params:
                if isinstance(param, s.NotAName):
                    binders.append((False, self.constant(param.error)))
                else:
                    self.binds(param)
                    binders.append((True, self.symbol(param.name)))
        function = len(self.bytecode.functions)
        self.bytecode.functions.append(
            Function(self.symbol(name), nparams, binders, self.new_block([node.body]), node.params_type)
        )
        self.emit(self.node(node), Op.DEF, self.symbol(name), function)
        self.push()
        self.done(want)

    def b_let(self, node: s.Let, want: bool) -> None:
        here = self.node(node)
        self.emit(here, Op.ENTER)
        for target, value in node.bindings:
            self.binds(target)
            self.expression(value)
            self.emit(here, Op.BIND, self.symbol(target.name))
            self._depth -= 1
        if node.failure is not None:
            self.fail(node, node.failure.error)
        self.sequence(node.body, want)
        self.emit(here, Op.LEAVE)

    def b_with(self, node: s.With, want: bool) -> None:
        here = self.node(node)
        head, dot, attr = node.iterable.name.partition(".")
        attr_index = self.attribute(attr.partition(".")[0]) if dot else -1
        # (a with in the checked variant's tail positions checks its items: CHECKED
        # goes on to its body, whose values would have been the list's items)
        keep = Keep.CHECKED if want is CHECKED else Keep.LIST if want else Keep.NOTHING
        self.binds(node.variable)
        self.emit(here, Op.WITH, self.symbol(head), attr_index, keep)
        self.push(2)
        loop = self.emit(here, Op.WITH_NEXT, self.symbol(node.variable.name), -1)
        self.expression(node.body, want)
        self.emit(here, Op.WITH_STEP, loop, keep)
        if want:
            self._depth -= 1
        self.patch(loop, 1, self.here())
        self._depth -= 1  # the iterator is gone, the results (or None) stay
        self.done(want)


#: the compiler method of each node type
_COMPILERS: dict[type, Callable[..., None]] = {
    s.Literal: _Compiler.literal,
    s.Symbol: _Compiler.symbol_load,
    s.Attribute: _Compiler.attribute_load,
    s.BadNumber: _Compiler.bad_atom,
    s.BadToken: _Compiler.bad_atom,
    s.EmptyForm: _Compiler.malformed,
    s.FormHead: _Compiler.malformed,
    s.TokenHead: _Compiler.malformed,
    s.EmptyEval: _Compiler.malformed,
    s.BadCall: _Compiler.malformed,
    s.LetWithoutList: _Compiler.malformed,
    s.Call: _Compiler.call,
    s.MethodCall: _Compiler.method_call,
    s.Eval: _Compiler.b_eval,
    s.Binary: _Compiler.b_binary,
    s.Variadic: _Compiler.b_nary,
    s.Not: _Compiler.b_not,
    s.If: _Compiler.b_if,
    s.Defvar: _Compiler.b_defvar,
    s.Set: _Compiler.b_set,
    s.Def: _Compiler.b_def,
    s.Let: _Compiler.b_let,
    s.With: _Compiler.b_with,
}


def disassemble(bytecode: Bytecode) -> str:
    """A readable listing of the code, block by block."""
    lines = []
    starts = {pc: block for block, pc in enumerate(bytecode.blocks)}
    pc = 0
    code = bytecode.code
    while pc < len(code):
        if pc in starts:
            lines.append(f"block {starts[pc]}:")
        op = Op(code[pc])
        operands = code[pc + 1 : pc + 1 + OPERANDS[op]]
        note = ""
        if op in (Op.LOAD, Op.DEFVAR, Op.SET, Op.BIND) or op == Op.WITH_NEXT:
            note = bytecode.symbols[operands[0]]
        elif op == Op.CONST:
            note = repr(bytecode.constants[operands[0]])
        elif op in (Op.LOAD_ATTR, Op.METHOD):
            note = f"{bytecode.symbols[operands[0]]}.{bytecode.attributes[operands[1]]}"
        elif op == Op.CALL:
            site = bytecode.sites[operands[0]]
            note = f"{bytecode.symbols[site.symbol]} thunks={site.thunks}"
        lines.append(f"  {pc:5d} {op.name:<14} {' '.join(map(str, operands)):<12} {note}")
        pc += 1 + OPERANDS[op]
    return "\n".join(lines)
