"""The front end: the reader's forms as typed nodes, the one place a form is classified.

The reader (:mod:`mom.dsl.reader`) gives what upstream's parser gives: tokens and
nested lists.  :func:`expressions` turns them into the nodes below, and the three back
ends consume those: the reference compiler (:mod:`mom.dsl.compiler`), the bytecode
compiler (:mod:`mom.dsl.bytecode`) and the linter (:mod:`mom.dsl.lint`).  What a form
is (a call, which builtin, whether its arguments fit) is decided here, once; so is
every error text of a malformed form.

A malformed form is a node too (:class:`Malformed`), never an exception here: upstream
raises its error only when it evaluates the form, so a bad form in a branch that is
not taken costs nothing, and a back end compiles it to code that raises
:meth:`Malformed.error` when reached.  The linter reports it at once.

Every node keeps ``origin``, the reader's token or list it came from: the position of
an error, the text of a message and the fast path's table of nodes are read from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence, Union

from mom.dsl.builtins import BUILTINS, call_error
from mom.dsl.reader import OPERATOR_NAMES, Node, Token, number_value
from mom.errors import PolicyError

__all__ = [
    "Expr",
    "Atom",
    "Compound",
    "Malformed",
    "Literal",
    "Symbol",
    "Attribute",
    "BadNumber",
    "BadToken",
    "EmptyForm",
    "FormHead",
    "TokenHead",
    "Call",
    "MethodCall",
    "Named",
    "Builtin",
    "Eval",
    "EmptyEval",
    "BadCall",
    "If",
    "Binary",
    "Not",
    "Variadic",
    "Defvar",
    "Set",
    "Def",
    "Param",
    "Let",
    "LetWithoutList",
    "NotAPair",
    "NotAName",
    "With",
    "expression",
    "expressions",
    "walk",
    "NOT_A_LIST",
    "NOT_PAIRS",
    "NOT_A_SYMBOL",
    "LIST_HAS_NO_KIND",
]

# ## Upstream's texts for malformed forms (spec 5.3, 5.4)

#: what upstream's ``code[0]`` raises on an empty form, and on ``(eval)``/``{}``
INDEX_ERROR = "list index out of range"
#: a form whose head is itself a form
FORM_HEAD = "Expected simple token as arg 1"
#: let's first argument is not a list
NOT_A_LIST = "Expecting list as arg 1 in let"
#: an item of let's bindings that is not a two-element list
NOT_PAIRS = "Expecting list of tuples in arg1 of let"
#: a let binding (or a def parameter) that is a token but not a symbol
NOT_A_SYMBOL = "Expecting list of (symbol value) in let"
#: ... and one that is a list: upstream asks it for ``.kind``
LIST_HAS_NO_KIND = "'list' object has no attribute 'kind'"


def bad_token_error(kind: str, line: int | None) -> PolicyError:
    """A token that cannot be evaluated (an operator used as a value)."""
    # (upstream formats the line with %d: a token without one fails with TypeError)
    return PolicyError('Unexpected token type "%s" on line %d' % (kind, line), line=line)  # type: ignore[str-format]


def token_head_error(kind: str, line: int | None) -> PolicyError:
    """A form whose head is a number or a string."""
    return PolicyError('Unexpected token type in arg 1 "%s" on line %d' % (kind, line), line=line)  # type: ignore[str-format]


# ## Nodes


@dataclass(slots=True, eq=False)
class Expr:
    """Any node; ``origin`` is the reader's token or list it came from."""

    origin: Any


class Malformed:
    """A form upstream refuses when it evaluates it: :meth:`error` is what it raises.

    (A mix-in without slots of its own, so that a malformed atom is still an atom and
    a malformed builtin form still a builtin form.)
    """

    __slots__ = ()

    def error(self) -> BaseException:
        """A fresh exception, each time the form is evaluated."""
        raise NotImplementedError


@dataclass(slots=True, eq=False)
class Atom(Expr):
    """A token: evaluating it opens no scope and calls nothing."""


@dataclass(slots=True, eq=False)
class Literal(Atom):
    """A number, a string or ``nil``."""

    value: Any


@dataclass(slots=True, eq=False)
class Symbol(Atom):
    """A name without a dot: a variable read, or a name a builtin binds or defines."""

    name: str
    line: int | None


@dataclass(slots=True, eq=False)
class Attribute(Atom):
    """``head.attr``: the first binding of ``head`` that has ``attr`` (one level only)."""

    name: str
    line: int | None
    head: str
    #: the part after the first dot, up to a second one (upstream follows one level)
    attr: str

    @property
    def sealed(self) -> bool:
        """An attribute no object shows: empty, or private (spec 5.7's fix)."""
        return not self.attr or self.attr[0] == "_"


@dataclass(slots=True, eq=False)
class BadNumber(Atom, Malformed):
    """A number token ``int(text, 0)`` refuses (``0o9``): upstream converts when it evaluates."""

    message: str

    def error(self) -> BaseException:
        return ValueError(self.message)


@dataclass(slots=True, eq=False)
class BadToken(Atom, Malformed):
    """A token with no value: an operator outside the head of a form."""

    kind: str
    line: int | None

    def error(self) -> BaseException:
        return bad_token_error(self.kind, self.line)


@dataclass(slots=True, eq=False)
class Compound(Expr):
    """A bracketed form (``origin`` is the reader's list)."""

    def arguments(self) -> list[Expr]:
        """The forms after the head, as expressions: what upstream passes when a
        variable of the head's name takes the call over."""
        return expressions(self.origin[1:])


@dataclass(slots=True, eq=False)
class EmptyForm(Compound, Malformed):
    """``()``, ``[]``."""

    def error(self) -> BaseException:
        return IndexError(INDEX_ERROR)


@dataclass(slots=True, eq=False)
class FormHead(Compound, Malformed):
    """A form whose head is a form: ``((f) 1)``."""

    def error(self) -> BaseException:
        return PolicyError(FORM_HEAD)


@dataclass(slots=True, eq=False)
class TokenHead(Compound, Malformed):
    """A form whose head is a number or a string: ``(1 2)``."""

    kind: str
    line: int | None

    def error(self) -> BaseException:
        return token_head_error(self.kind, self.line)


@dataclass(slots=True, eq=False)
class Named(Compound):
    """A form whose head is a name: ``name`` is the builtin or function it names
    (an operator's builtin, ``+`` is ``add``), ``line`` the head's."""

    name: str
    line: int | None


@dataclass(slots=True, eq=False)
class Call(Named):
    """``(f args...)``: a variable's value (``abs``) or else a user function."""

    args: list[Expr]

    def arguments(self) -> list[Expr]:
        return self.args


@dataclass(slots=True, eq=False)
class MethodCall(Named):
    """``(obj.method args...)``: a method the innermost ``obj`` declares, or else
    whatever the dotted name is bound to, or a user function of that name."""

    args: list[Expr]
    head: str
    attr: str

    @property
    def sealed(self) -> bool:
        return not self.attr or self.attr[0] == "_"

    def arguments(self) -> list[Expr]:
        return self.args


@dataclass(slots=True, eq=False)
class Builtin(Named):
    """A form of a builtin or of ``eval``.  Upstream looks the name up as a variable
    first: one bound to it (``(defvar add 5)``) is called instead, with every
    argument evaluated, whatever this form would do."""


@dataclass(slots=True, eq=False)
class Eval(Builtin):
    """``(eval a b ...)`` and ``{a b ...}``: every item, the last one's value; no scope."""

    items: list[Expr]

    def arguments(self) -> list[Expr]:
        return self.items


@dataclass(slots=True, eq=False)
class EmptyEval(Builtin, Malformed):
    """``(eval)``, ``{}``."""

    def error(self) -> BaseException:
        return IndexError(INDEX_ERROR)


@dataclass(slots=True, eq=False)
class BadCall(Builtin, Malformed):
    """A builtin called with the wrong number of arguments, or with a form where it
    takes a name (``(defvar 1 2)``): :func:`mom.dsl.builtins.call_error`'s message."""

    message: str
    error_line: int | None

    def error(self) -> BaseException:
        return PolicyError(self.message, line=self.error_line)


@dataclass(slots=True, eq=False)
class If(Builtin):
    condition: Expr
    then: Expr
    otherwise: Expr

    def arguments(self) -> list[Expr]:
        return [self.condition, self.then, self.otherwise]


@dataclass(slots=True, eq=False)
class Binary(Builtin):
    """An arithmetic, comparison or shift operator (``name`` says which: add, lt, shl, ...)."""

    left: Expr
    right: Expr

    def arguments(self) -> list[Expr]:
        return [self.left, self.right]


@dataclass(slots=True, eq=False)
class Not(Builtin):
    operand: Expr

    def arguments(self) -> list[Expr]:
        return [self.operand]


@dataclass(slots=True, eq=False)
class Variadic(Builtin):
    """``and or min max null valid``: every argument evaluated, then the builtin."""

    args: list[Expr]

    def arguments(self) -> list[Expr]:
        return self.args


@dataclass(slots=True, eq=False)
class Defvar(Builtin):
    """Binds ``target`` in the innermost scope unless that scope holds it already."""

    target: Symbol
    value: Expr


@dataclass(slots=True, eq=False)
class Set(Builtin):
    """Assigns the innermost binding of ``target`` (``set`` and ``setq``)."""

    target: Symbol
    value: Expr


@dataclass(slots=True, eq=False)
class NotAName(Expr, Malformed):
    """A let binding or def parameter whose name is not a symbol; ``origin`` is the let
    item (for a parameter, the parameter itself), ``name`` the offending node."""

    name: Any

    def error(self) -> BaseException:
        if isinstance(self.name, list):
            return AttributeError(LIST_HAS_NO_KIND)
        return PolicyError(NOT_A_SYMBOL)


@dataclass(slots=True, eq=False)
class NotAPair(Expr, Malformed):
    """An item of let's bindings that is not ``(name value)``."""

    def error(self) -> BaseException:
        return PolicyError(NOT_PAIRS)


#: a def parameter: a name, or what binding it raises when the function is called
Param = Union[Symbol, NotAName]


@dataclass(slots=True, eq=False)
class Def(Builtin):
    """``def``/``defun``: a global user function.  ``params`` is None when the
    parameter list is not a list (upstream fails when the function is called)."""

    target: Symbol
    params: list[Param] | None
    body: Expr
    #: the type upstream's ``len(params)`` names when ``params`` is None (a number's
    #: token is upstream's NumericToken)
    params_type: str = "Token"


@dataclass(slots=True, eq=False)
class Let(Builtin):
    """A scope with the ``bindings`` bound one after another, then the body.

    ``failure`` is the first malformed binding: upstream binds the ones before it,
    then raises its error (the body never runs).
    """

    bindings: list[tuple[Symbol, Expr]]
    failure: NotAPair | NotAName | None
    body: list[Expr]


@dataclass(slots=True, eq=False)
class LetWithoutList(Builtin, Malformed):
    """``(let x ...)``: the bindings are not a list."""

    def error(self) -> BaseException:
        return PolicyError(NOT_A_LIST)


@dataclass(slots=True, eq=False)
class With(Builtin):
    """The list of ``body``'s values, one scope per item of ``iterable`` binding ``variable``."""

    iterable: Symbol
    variable: Symbol
    body: Expr


# ## Reader output to nodes


def expressions(nodes: Sequence[Node]) -> list[Expr]:
    """The nodes of top-level forms (or of any list of reader output)."""
    return [expression(node) for node in nodes]


def expression(node: Node) -> Expr:
    """The node of one token or form, as the reader gives it (or upstream's parser:
    ``Evaluator.eval`` takes hand-made lists too)."""
    if isinstance(node, list):
        return _form(node)
    kind = node.kind
    if kind == "symbol":
        name = node.value
        if name == "nil":
            return Literal(node, None)
        if "." in name:
            head, _, rest = name.partition(".")
            return Attribute(node, name, node.line, head, rest.partition(".")[0])
        return Symbol(node, name, node.line)
    if kind == "number":
        try:
            return Literal(node, number_value(node))
        except ValueError as error:
            return BadNumber(node, str(error))
    if kind == "string":
        return Literal(node, node.value)
    return BadToken(node, kind, node.line)


def _symbol(token: Token) -> Symbol:
    """A name in a binding position, as written (dots and ``nil`` included)."""
    return Symbol(token, token.value, token.line)


def _form(form: list[Any]) -> Expr:
    if not form:
        return EmptyForm(form)
    head = form[0]
    if isinstance(head, list):
        return FormHead(form)
    kind = head.kind
    if kind == "symbol":
        name = head.value
    elif kind == "operator":
        name = OPERATOR_NAMES.get(head.value, head.value)
    else:
        return TokenHead(form, kind, head.line)
    line = head.line
    spec = BUILTINS.get(name)
    if spec is None:
        if name == "eval":
            if len(form) == 1:
                return EmptyEval(form, name, line)
            return Eval(form, name, line, expressions(form[1:]))
        args = expressions(form[1:])
        if "." in name:
            head_name, _, rest = name.partition(".")
            return MethodCall(form, name, line, args, head_name, rest.partition(".")[0])
        return Call(form, name, line, args)
    args = form[1:]
    error = call_error(spec, args, line)
    if error is not None:
        return BadCall(form, name, line, str(error), error.line)
    return _BUILDERS[spec.impl_name](form, name, line, args)


def _def(form: list[Any], name: str, line: int | None, args: list[Any]) -> Expr:
    raw_params = args[1]
    params: list[Param] | None = None
    if isinstance(raw_params, list):
        params = [
            _symbol(param) if isinstance(param, Token) and param.kind == "symbol" else NotAName(param, param)
            for param in raw_params
        ]
    params_type = type(raw_params).__name__ if isinstance(raw_params, Token) else "Token"
    return Def(form, name, line, _symbol(args[0]), params, expression(args[2]), params_type)


def _let(form: list[Any], name: str, line: int | None, args: list[Any]) -> Expr:
    raw_bindings = args[0]
    if not isinstance(raw_bindings, list):
        return LetWithoutList(form, name, line)
    bindings: list[tuple[Symbol, Expr]] = []
    failure: NotAPair | NotAName | None = None
    for item in raw_bindings:
        if not isinstance(item, list) or len(item) != 2:
            failure = NotAPair(item)
            break
        target, value = item
        if isinstance(target, list) or target.kind != "symbol":
            failure = NotAName(item, target)
            break
        bindings.append((_symbol(target), expression(value)))
    return Let(form, name, line, bindings, failure, expressions(args[1:]))


def _with(form: list[Any], name: str, line: int | None, args: list[Any]) -> Expr:
    return With(form, name, line, _symbol(args[0]), _symbol(args[1]), expression(args[2]))


def _if(form: list[Any], name: str, line: int | None, args: list[Any]) -> Expr:
    return If(form, name, line, expression(args[0]), expression(args[1]), expression(args[2]))


def _binary(form: list[Any], name: str, line: int | None, args: list[Any]) -> Expr:
    return Binary(form, name, line, expression(args[0]), expression(args[1]))


def _not(form: list[Any], name: str, line: int | None, args: list[Any]) -> Expr:
    return Not(form, name, line, expression(args[0]))


def _variadic(form: list[Any], name: str, line: int | None, args: list[Any]) -> Expr:
    return Variadic(form, name, line, expressions(args))


def _defvar(form: list[Any], name: str, line: int | None, args: list[Any]) -> Expr:
    return Defvar(form, name, line, _symbol(args[0]), expression(args[1]))


def _set(form: list[Any], name: str, line: int | None, args: list[Any]) -> Expr:
    return Set(form, name, line, _symbol(args[0]), expression(args[1]))


_Builder = Callable[[list[Any], str, Union[int, None], list[Any]], Expr]

#: the node of each builtin, by its implementation (``c_def`` is def and defun)
_BUILDERS: dict[str, _Builder] = {
    "c_def": _def,
    "c_defvar": _defvar,
    "c_set": _set,
    "c_let": _let,
    "c_with": _with,
    "c_if": _if,
    "c_not": _not,
    **{impl: _binary for impl in ("c_add", "c_sub", "c_mul", "c_div", "c_lt", "c_gt", "c_lte", "c_gte", "c_eq", "c_neq", "c_shl", "c_shr")},
    **{impl: _variadic for impl in ("c_and", "c_or", "c_min", "c_max", "c_null", "c_valid")},
}
assert set(_BUILDERS) == {spec.impl_name for spec in BUILTINS.values()}, "a builtin without a node"


# ## Walking


def children(node: Expr) -> list[Expr]:
    """The nodes inside ``node`` that its evaluation may reach, in source order."""
    if isinstance(node, Atom):
        return []
    if isinstance(node, Let):
        inside: list[Expr] = []
        for target, value in node.bindings:
            inside += (target, value)
        if node.failure is not None:
            inside.append(node.failure)
        return inside + node.body
    if isinstance(node, Def):
        return [node.target, *(node.params or ()), node.body]
    if isinstance(node, With):
        return [node.iterable, node.variable, node.body]
    if isinstance(node, (Defvar, Set)):
        return [node.target, node.value]
    if isinstance(node, (Call, MethodCall, Eval, If, Binary, Not, Variadic)):
        return node.arguments()
    return []  # a malformed form: nothing inside it is ever evaluated


def walk(nodes: Sequence[Expr]) -> Iterator[Expr]:
    """Every node of ``nodes`` and inside them, in source order (iteratively: the
    nesting has no depth limit here)."""
    work = list(reversed(nodes))
    while work:
        node = work.pop()
        yield node
        work.extend(reversed(children(node)))
