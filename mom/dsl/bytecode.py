"""Bytecode compiler: forms to the stack-machine code the fast path runs.

The reference implementation (:mod:`mom.dsl.compiler`) generates Python; this module
generates bytecode (opcodes in :mod:`mom.dsl.opcodes`) for the Cython VM in
``mom/_fastpath/vm.pyx``.  Both start from the same forms and must agree on every
result, error and side effect; the differential tests hold them to that.

The VM assumes a *static world*: no variable may carry the name of a builtin (upstream
would then call the variable instead of the builtin) and no function name has a dot.
Whether a program breaks that is plain from its text, so :func:`delegation_reason`
says so before compiling, and the engine hands such programs to the reference.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from mom.dsl.builtins import BUILTINS, call_error
from mom.dsl.evaluator import SHADOWABLE
from mom.dsl.opcodes import OPERANDS, Op
from mom.dsl.reader import OPERATOR_NAMES, Node, Source, Token, number_value
from mom.dsl.scope import undefined_symbol
from mom.errors import PolicyError

__all__ = ["Bytecode", "Function", "Site", "compile_bytecode", "delegation_reason", "disassemble"]

_OPERATOR_OPS = {
    "add": Op.ADD, "sub": Op.SUB, "mul": Op.MUL, "div": Op.DIV, "lt": Op.LT, "gt": Op.GT,
    "lte": Op.LE, "gte": Op.GE, "eq": Op.EQ, "neq": Op.NE, "shl": Op.SHL, "shr": Op.SHR,
}  # fmt: skip
_NO_NODES = (-1, -1, -1, -1)
#: an instruction's width (opcode and operands), indexed by opcode
_WIDTH = [1 + OPERANDS.get(op, 0) for op in range(max(OPERANDS) + 1)]  # type: ignore[call-overload]

#: the _Compiler method that compiles each builtin (c_if -> b_if)
_BUILDERS = {name: "b_" + spec.impl_name[2:] for name, spec in BUILTINS.items()}
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


_BINDERS = {"defvar", "with", "let", "def", "defun"}


def delegation_reason(forms: Sequence[Node]) -> str | None:
    """Why the VM cannot run this program (the reference then does), or None.

    The VM assumes no variable is named like a builtin and no function name has a
    dot; both are plain from the binding forms of the text (``defvar``, ``with``,
    ``let``, parameters of ``def``).
    """
    work: list[Any] = [form for form in forms if isinstance(form, list)]
    while work:
        item = work.pop()
        if not item:
            continue
        head = item[0]
        for child in item:
            if isinstance(child, list):
                work.append(child)
        if isinstance(head, list) or head.kind != "symbol" or head.value not in _BINDERS:
            continue
        name = head.value
        names: list[Any] = []
        if name == "defvar":
            names = item[1:2]
        elif name == "with":
            names = item[2:3]
        elif name == "let":
            if len(item) > 1 and isinstance(item[1], list):
                names = [binding[0] for binding in item[1] if isinstance(binding, list) and binding]
        elif len(item) > 1:  # def, defun
            function = item[1]
            if isinstance(function, Token) and function.kind == "symbol" and "." in function.value:
                return f"defines the dotted function name {function.value!r}"
            if len(item) > 2 and isinstance(item[2], list):
                names = list(item[2])
        for token in names:
            if isinstance(token, Token) and token.kind == "symbol" and token.value in SHADOWABLE:
                return f"binds the builtin name {token.value!r} as a variable"
    return None


def compile_bytecode(forms: Sequence[Node], source: Source | None = None, values: bool = True) -> Bytecode:
    """Compile top-level forms; call :func:`delegation_reason` first.

    With ``values=False`` the top-level forms' values are not computed where that
    saves work (a ``with`` collects no results); their blocks return None.  The
    policy engine runs that variant, and the valued one only to log results.
    """
    compiler = _Compiler(source)
    compiler.bytecode.values = values
    compiler.bytecode.top = [compiler.new_block([form], want=values) for form in forms]
    compiler.finish()
    return compiler.bytecode


class _Compiler:
    def __init__(self, source: Source | None) -> None:
        self.source = source
        self.bytecode = Bytecode()
        self._symbols: dict[str, int] = {}
        self._attributes: dict[str, int] = {}
        self._pending: list[tuple[int, Sequence[Node], bool | None]] = []
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

    def node(self, node: Any) -> int:
        self.bytecode.nodes.append(node)
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

    def fail(self, node: Any, factory: Callable[[], BaseException]) -> None:
        self.emit(self.node(node), Op.FAIL, self.constant(factory))

    def new_block(self, nodes: Sequence[Node], want: bool = True) -> int:
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

    def sequence(self, nodes: Sequence[Node], want: bool) -> None:
        """Evaluate all, keep the last value (upstream's ``eval``, ``{}``, let bodies)."""
        last = len(nodes) - 1
        for index, node in enumerate(nodes):
            self.expression(node, want if index == last else False)

    def done(self, want: bool) -> None:
        """After code that pushed one value: drop it if nobody wants it."""
        if not want:
            self.emit(-1, Op.POP)
            self._depth -= 1

    # ## Expressions: each pushes one value if ``want``, none otherwise

    def expression(self, node: Node, want: bool = True) -> None:
        if isinstance(node, list):
            self.form(node, want)
            return
        kind = node.kind
        if kind == "number":
            try:
                value = number_value(node)
            except ValueError as error:
                message = str(error)
                self.fail(node, lambda: ValueError(message))
                self.push()
                self.done(want)
                return
            if want:  # a constant nobody uses costs nothing
                self.emit(self.node(node), Op.CONST, self.constant(value))
                self.push()
            return
        if kind == "string":
            if want:
                self.emit(self.node(node), Op.CONST, self.constant(node.value))
                self.push()
            return
        if kind == "symbol":
            if node.value == "nil" and not want:
                return
            self.load(node)  # still loaded when unused: an undefined name must fail
        else:
            line = node.line
            self.fail(node, lambda: PolicyError('Unexpected token type "%s" on line %d' % (kind, line), line=line))  # type: ignore[str-format]
        self.push()
        self.done(want)

    def load(self, token: Token) -> None:
        name = token.value
        if name == "nil":
            self.emit(self.node(token), Op.CONST, self.constant(None))
            return
        head, dot, attr = name.partition(".")
        if not dot:
            self.emit(self.node(token), Op.LOAD, self.symbol(name))
            return
        attr = attr.partition(".")[0]  # one level only, as upstream
        if not attr or attr[0] == "_":  # never visible: always undefined
            line = token.line
            self.fail(token, lambda: undefined_symbol(name, line))
            return
        self.emit(self.node(token), Op.LOAD_ATTR, self.symbol(head), self.attribute(attr))

    def failed(self, form: Any, factory: Callable[[], BaseException], want: bool) -> None:
        self.fail(form, factory)
        if want:
            self.push()

    def form(self, form: list, want: bool) -> None:  # type: ignore[type-arg]
        if not form:
            self.failed(form, lambda: IndexError("list index out of range"), want)
            return
        head = form[0]
        if isinstance(head, list):
            self.failed(form, lambda: PolicyError("Expected simple token as arg 1"), want)
            return
        kind, line = head.kind, head.line
        if kind == "operator":
            name = OPERATOR_NAMES.get(head.value, head.value)
        elif kind == "symbol":
            name = head.value
        else:
            self.failed(
                form,
                lambda: PolicyError('Unexpected token type in arg 1 "%s" on line %d' % (kind, line), line=line),  # type: ignore[str-format]
                want,
            )
            return
        args = form[1:]
        spec = BUILTINS.get(name)
        if spec is not None:
            error = call_error(spec, args, line)
            if error is not None:
                message, error_line = str(error), error.line
                self.failed(form, lambda: PolicyError(message, line=error_line), want)
                return
            if name in _OPERATOR_OPS:
                self.b_binary(form, args, _OPERATOR_OPS[name], want)
            elif name in _NARY_OPS:
                self.b_nary(form, args, _NARY_OPS[name], want)
            else:
                getattr(self, _BUILDERS[name])(form, args, want)
        elif name == "eval":
            if not args:
                self.failed(form, lambda: IndexError("list index out of range"), want)
            else:
                self.sequence(args, want)
        elif "." in name:
            self.method_call(form, name, args, want)
        else:
            self.call(form, name, args, line, want)

    def shortcut(self, arg: Node) -> int:
        """The variable an argument just loads (the VM reads it without running its
        thunk), or -1."""
        if isinstance(arg, list) or arg.kind != "symbol" or arg.value == "nil" or "." in arg.value:
            return -1
        return self.symbol(arg.value)

    def call(self, form: list, name: str, args: Sequence[Node], line: int | None, want: bool) -> None:  # type: ignore[type-arg]
        thunks = [self.new_block([arg]) for arg in args]
        site = len(self.bytecode.sites)
        shortcuts = [self.shortcut(arg) for arg in args]
        self.bytecode.sites.append(Site(self.symbol(name), line, thunks, shortcuts))
        self.emit(self.node(form), Op.CALL if want else Op.CALL_VOID, site)
        if want:
            self.push()

    def method_call(self, form: list, name: str, args: Sequence[Node], want: bool) -> None:  # type: ignore[type-arg]
        head, _, attr = name.partition(".")
        attr = attr.partition(".")[0]
        here = self.node(form)
        if not attr or attr[0] == "_":  # no such method anywhere, and no dotted functions
            self.failed(form, lambda: KeyError(name), want)
            return
        self.emit(here, Op.METHOD, self.symbol(head), self.attribute(attr))
        self.push()
        for arg in args:
            self.expression(arg)
        self.emit(here, Op.CALL_METHOD if want else Op.CALL_METHOD_VOID, len(args))
        self._depth -= len(args) + (0 if want else 1)

    # ## Builtins

    def b_binary(self, form: list, args: Sequence[Node], op: Op, want: bool) -> None:  # type: ignore[type-arg]
        self.expression(args[0])
        self.expression(args[1])
        self.emit(self.node(form), op)
        self._depth -= 1
        self.done(want)

    def b_nary(self, form: list, args: Sequence[Node], op: Op, want: bool) -> None:  # type: ignore[type-arg]
        for arg in args:
            self.expression(arg)
        self.emit(self.node(form), op, len(args))
        self._depth -= len(args)
        self.push()
        self.done(want)

    def b_not(self, form: list, args: Sequence[Node], want: bool) -> None:  # type: ignore[type-arg]
        self.expression(args[0])
        self.emit(self.node(form), Op.NOT)
        self.done(want)

    def b_if(self, form: list, args: Sequence[Node], want: bool) -> None:  # type: ignore[type-arg]
        here = self.node(form)
        self.expression(args[0])
        to_else = self.emit(here, Op.JUMP_IF_FALSE, -1)
        self._depth -= 1
        self.expression(args[1], want)
        to_end = self.emit(here, Op.JUMP, -1)
        if want:
            self._depth -= 1
        self.patch(to_else, 0, self.here())
        self.expression(args[2], want)
        self.patch(to_end, 0, self.here())

    def b_defvar(self, form: list, args: Sequence[Node], want: bool) -> None:  # type: ignore[type-arg]
        self.expression(args[1])
        self.emit(self.node(form), Op.DEFVAR if want else Op.DEFVAR_VOID, self.symbol(args[0].value))  # type: ignore[union-attr]
        if not want:
            self._depth -= 1

    def b_set(self, form: list, args: Sequence[Node], want: bool) -> None:  # type: ignore[type-arg]
        self.expression(args[1])
        self.emit(self.node(form), Op.SET if want else Op.SET_VOID, self.symbol(args[0].value))  # type: ignore[union-attr]
        if not want:
            self._depth -= 1

    def b_def(self, form: list, args: Sequence[Node], want: bool) -> None:  # type: ignore[type-arg]
        name, params, body = args[0].value, args[1], args[2]  # type: ignore[union-attr]
        binders: list[tuple[bool, int]] = []
        nparams: int | None = None
        if isinstance(params, list):
            nparams = len(params)
            for param in params:
                if isinstance(param, list):
                    factory: Callable[[], BaseException] = lambda: AttributeError("'list' object has no attribute 'kind'")  # noqa: E731
                    binders.append((False, self.constant(factory)))
                elif param.kind != "symbol":
                    binders.append((False, self.constant(lambda: PolicyError("Expecting list of (symbol value) in let"))))
                else:
                    binders.append((True, self.symbol(param.value)))
        function = len(self.bytecode.functions)
        self.bytecode.functions.append(Function(self.symbol(name), nparams, binders, self.new_block([body])))
        self.emit(self.node(form), Op.DEF, self.symbol(name), function)
        self.push()
        self.done(want)

    def b_let(self, form: list, args: Sequence[Node], want: bool) -> None:  # type: ignore[type-arg]
        here = self.node(form)
        bindings = args[0]
        if not isinstance(bindings, list):
            self.failed(form, lambda: PolicyError("Expecting list as arg 1 in let"), want)
            return
        self.emit(here, Op.ENTER)
        for item in bindings:
            if not isinstance(item, list) or len(item) != 2:
                self.fail(form, lambda: PolicyError("Expecting list of tuples in arg1 of let"))
                break
            symbol, value = item
            if isinstance(symbol, list):
                self.fail(form, lambda: AttributeError("'list' object has no attribute 'kind'"))
                break
            if symbol.kind != "symbol":
                self.fail(form, lambda: PolicyError("Expecting list of (symbol value) in let"))
                break
            self.expression(value)
            self.emit(here, Op.BIND, self.symbol(symbol.value))
            self._depth -= 1
        self.sequence(args[1:], want)
        self.emit(here, Op.LEAVE)

    def b_with(self, form: list, args: Sequence[Node], want: bool) -> None:  # type: ignore[type-arg]
        here = self.node(form)
        iterable = args[0].value  # type: ignore[union-attr]
        head, dot, attr = iterable.partition(".")
        attr_index = self.attribute(attr.partition(".")[0]) if dot else -1
        keep = int(bool(want))
        self.emit(here, Op.WITH, self.symbol(head), attr_index, keep)
        self.push(2)
        loop = self.emit(here, Op.WITH_NEXT, self.symbol(args[1].value), -1)  # type: ignore[union-attr]
        self.expression(args[2], bool(want))
        self.emit(here, Op.WITH_STEP, loop, keep)
        if want:
            self._depth -= 1
        self.patch(loop, 1, self.here())
        self._depth -= 1  # the iterator is gone, the results (or None) stay
        self.done(want)


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
