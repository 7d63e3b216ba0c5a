"""Compiler of the reference implementation: typed nodes to generated Python functions.

Each top-level form (and each function body, ``with`` body and ``let`` part) becomes
one Python function ``f(ev)`` whose body is a single expression: the forms nested in
it are inline Python (``(< a b)`` is ``(cur['a'] < cur['b'])``), so evaluating a
policy costs about what the same logic written in Python would.  Everything upstream
decides on every call (which builtin a name means, how its arguments are taken,
whether the arity fits) is decided once, by the front end (:mod:`mom.dsl.syntax`),
before this module sees the nodes; what upstream decides at run time stays at run
time (a variable still shadows a builtin, a malformed form fails only if it is
evaluated).

Safety of the generated code: policy text never becomes Python text.  Strings,
numbers and every object the code needs are constants bound as globals
(``_k12``); symbol names appear only as ``repr()`` string literals.  The generated
functions run with empty ``__builtins__``.

Error positions: every form and name is recorded with its column span in the
generated line.  When an evaluation fails, :func:`locate` maps the failing
instruction (CPython >= 3.11 keeps a column range per instruction) back to the
innermost form, and records it on the exception.
"""

from __future__ import annotations

import itertools
import weakref
from typing import Any, Callable, NamedTuple, Sequence, Union

from mom.dsl import support
from mom.dsl import syntax as s
from mom.dsl.builtins import SHADOWABLE
from mom.dsl.evaluator import Evaluator
from mom.dsl.limits import DEFAULT_LIMITS, Limits, ensure_recursion_limit, too_deep_error
from mom.dsl.reader import OPERATOR_NAMES, Node, Source
from mom.dsl.render import render
from mom.dsl.scope import undefined_symbol

__all__ = ["Unit", "compile_units", "compile_expression", "locate", "annotate", "run"]

Function = Callable[[Evaluator], Any]

#: forms nested deeper than this inside one generated function get a function of
#: their own, which keeps generated expressions far below CPython's nesting limits
SPLIT_DEPTH = 16

#: forms whose operands are inline Python; a call whose arguments are all made of
#: these (and atoms) passes them inline instead of as argument functions
_INLINE_HEADS = frozenset(OPERATOR_NAMES.values()) | {"not", "and", "or", "valid", "if"}

_unit_ids = itertools.count()
_UNITS: weakref.WeakValueDictionary[str, Unit] = weakref.WeakValueDictionary()


class Span(NamedTuple):
    """Where a node's code sits in a generated line."""

    start: int
    end: int
    node: Any
    #: "var" for a plain variable load, "node" otherwise
    kind: str


class Fragment:
    """Generated expression text with the spans of the nodes inside it."""

    __slots__ = ("text", "spans")

    def __init__(self, text: str, spans: list[Span] | None = None) -> None:
        self.text = text
        self.spans = spans or []


Part = Union[str, Fragment]


def cat(*parts: Part) -> Fragment:
    """Concatenate text and fragments, shifting the fragments' spans."""
    texts: list[str] = []
    spans: list[Span] = []
    offset = 0
    for part in parts:
        if isinstance(part, str):
            texts.append(part)
            offset += len(part)
        else:
            texts.append(part.text)
            spans.extend(Span(span.start + offset, span.end + offset, span.node, span.kind) for span in part.spans)
            offset += len(part.text)
    return Fragment("".join(texts), spans)


def join(fragments: Sequence[Fragment], separator: str = ", ") -> Fragment:
    parts: list[Part] = []
    for index, fragment in enumerate(fragments):
        if index:
            parts.append(separator)
        parts.append(fragment)
    return cat(*parts)


def mark(fragment: Fragment, node: Any, kind: str = "node") -> Fragment:
    fragment.spans.append(Span(0, len(fragment.text), node, kind))
    return fragment


class Unit:
    """The generated Python of one compilation: its text, namespace and spans."""

    def __init__(self, source: Source | None) -> None:
        self.filename = f"<mom-policy-{next(_unit_ids)}>"
        #: the policy text the nodes came from (None for hand-built code)
        self.source = source
        self.python = ""
        #: generated line number -> spans on that line
        self.spans: dict[int, list[Span]] = {}
        self.namespace: dict[str, Any] = {}

    def span_at(self, line: int | None, start: int | None, end: int | None) -> Span | None:
        """The smallest recorded span around the instruction at ``line[start:end]``."""
        if line is None or start is None or end is None:
            return None
        best = None
        for span in self.spans.get(line, ()):
            if span.start <= start and end <= span.end:
                if best is None or span.end - span.start < best.end - best.start:
                    best = span
        return best


def annotate(error: BaseException, node: Any, source: Source | None) -> None:
    """Record on ``error`` the form it came from (its position and its text)."""
    try:
        offset = getattr(node, "offset", -1)
        if source is not None and offset is not None and offset >= 0:
            error.position = source.position(offset)  # type: ignore[attr-defined]
            end = getattr(node, "end", None) or offset + len(str(getattr(node, "value", "")))
            error.form = source.snippet(offset, max(end, offset + 1))  # type: ignore[attr-defined]
        else:
            error.form = render(node)  # type: ignore[attr-defined]
    except AttributeError:  # an exception type that refuses attributes: leave it be
        pass


def locate(error: BaseException) -> BaseException:
    """The exception to report for ``error``, with the innermost failing form recorded.

    A plain variable load that found nothing raised KeyError inside generated code;
    that becomes upstream's ``undefined symbol NAME on line N``.
    """
    if isinstance(error, RecursionError):  # a safety net: the limits should prevent it
        return too_deep_error()
    found = None
    tb = error.__traceback__
    while tb is not None:
        unit = _UNITS.get(tb.tb_frame.f_code.co_filename)
        if unit is not None:
            found = (unit, tb.tb_frame.f_code, tb.tb_lasti)
        tb = tb.tb_next
    if found is None:
        return error
    unit, code, lasti = found
    positions = list(code.co_positions())
    line, _, start, end = positions[lasti // 2] if lasti // 2 < len(positions) else (None, None, None, None)
    span = unit.span_at(line, start, end)
    if span is None:
        return error
    if span.kind == "var" and type(error) is KeyError:
        token = span.node
        replacement = undefined_symbol(token.value, token.line)
        annotate(replacement, token, unit.source)
        return replacement
    annotate(error, span.node, unit.source)
    return error


def run(function: Function, ev: Evaluator) -> Any:
    """Evaluate one compiled top-level form, reporting errors as upstream does."""
    ev.reset_budget()
    try:
        return function(ev)
    except Exception as error:
        reported = locate(error)
        if reported is error:
            raise
        raise reported.with_traceback(error.__traceback__) from None


def compile_units(nodes: Sequence[s.Expr], source: Source | None, limits: Limits = DEFAULT_LIMITS) -> tuple[list[Function], Unit]:
    """Compile top-level nodes: one function each, and the unit that holds them."""
    generator = _Generator(source, limits)
    names = [generator.function([node]) for node in nodes]
    namespace = generator.finish()
    return [namespace[name] for name in names], generator.unit


def compile_expression(code: Node, limits: Limits = DEFAULT_LIMITS, source: Source | None = None) -> Function:
    """Compile one expression (a token, or a list as the parser returns it)."""
    ensure_recursion_limit(limits)  # hand-built forms were never read
    functions, _unit = compile_units([s.expression(code)], source, limits)
    return functions[0]


def _inline(node: s.Expr, depth: int = 0) -> bool:
    """Whether ``node`` compiles to inline code only (no calls that open scopes)."""
    if isinstance(node, s.Atom):
        return True
    if depth > 3 or not isinstance(node, s.Builtin) or node.name not in _INLINE_HEADS:
        return False
    return all(_inline(arg, depth + 1) for arg in node.arguments())


class _Generator:
    """Generates the Python functions of one unit."""

    def __init__(self, source: Source | None, limits: Limits) -> None:
        self.source = source
        self.limits = limits
        self.unit = Unit(source)
        self.namespace: dict[str, Any] = dict(support.NAMESPACE)
        self.namespace["__unit__"] = self.unit  # keeps the unit alive with its functions
        self.lines: list[str] = []
        self.fixups: list[Callable[[dict[str, Any]], None]] = []
        self._constants = 0
        self._functions = 0
        self._temps = 0

    # ## Output

    def constant(self, value: Any) -> str:
        name = f"_k{self._constants}"
        self._constants += 1
        self.namespace[name] = value
        return name

    def temp(self) -> str:
        self._temps += 1
        return f"_t{self._temps}"

    def function(self, nodes: Sequence[s.Expr]) -> str:
        """Generate ``def _fN(ev)`` evaluating ``nodes`` in order, returning the last."""
        saved = self._temps
        self._temps = 0
        fragments = [self.expression(node, 0) for node in nodes]
        body = fragments[0] if len(fragments) == 1 else cat("(", join(fragments), ")[-1]")
        self._temps = saved
        name = f"_f{self._functions}"
        self._functions += 1
        prefix = "    return "
        self.lines.append(f"def {name}(ev):")
        self.lines.append("    cur = ev.current")
        self.lines.append(prefix + body.text)
        self.unit.spans[len(self.lines)] = [
            Span(span.start + len(prefix), span.end + len(prefix), span.node, span.kind) for span in body.spans
        ]
        return name

    def finish(self) -> dict[str, Any]:
        python = "\n".join(self.lines) + "\n"
        exec(compile(python, self.unit.filename, "exec"), self.namespace)
        for fixup in self.fixups:
            fixup(self.namespace)
        self.unit.python = python
        self.unit.namespace = self.namespace
        _UNITS[self.unit.filename] = self.unit
        return self.namespace

    def failing(self, node: s.Expr, error: Callable[[], BaseException]) -> Fragment:
        """Code that raises a fresh ``error()`` when it is reached."""
        return mark(Fragment(f"_fail({self.constant(error)})"), node.origin)

    def eager_site(self, name: str, line: int | None, args: Sequence[s.Expr]) -> str:
        """A Site constant whose argument functions are generated now."""
        names = [self.function([arg]) for arg in args]
        namespace = self.namespace
        return self.constant(support.Site(name, line, lambda: [namespace[n] for n in names]))

    def lazy_site(self, node: s.Named) -> str:
        """A Site constant whose argument functions are generated on first use (rare:
        a variable named like a builtin, a dotted name that is no method).

        It keeps the reader's forms, not the nodes: those are garbage once compiled.
        """
        source, limits, forms = self.source, self.limits, node.origin[1:]
        return self.constant(
            support.Site(node.name, node.line, lambda: compile_units(s.expressions(forms), source, limits)[0])
        )

    # ## Expressions

    def expression(self, node: s.Expr, depth: int) -> Fragment:
        if isinstance(node, s.Compound) and depth >= SPLIT_DEPTH:
            return mark(Fragment(f"{self.function([node])}(ev)"), node.origin)
        compile_node: Callable[[_Generator, Any, int], Fragment] = _COMPILERS[type(node)]
        return compile_node(self, node, depth)

    def values(self, args: Sequence[s.Expr], depth: int) -> list[Fragment]:
        return [self.expression(arg, depth + 1) for arg in args]

    def malformed(self, node: s.Malformed, depth: int) -> Fragment:
        assert isinstance(node, s.Expr)
        return self.failing(node, node.error)

    # ## Atoms

    def literal(self, node: s.Literal, depth: int) -> Fragment:
        return Fragment("None" if node.value is None else self.constant(node.value))

    def symbol(self, node: s.Symbol, depth: int) -> Fragment:
        return mark(Fragment(f"cur[{node.name!r}]"), node.origin, "var")

    def attribute(self, node: s.Attribute, depth: int) -> Fragment:
        name = node.name
        slow = f"_attr(ev, {name!r}, {node.line!r})"
        if node.sealed:
            return mark(Fragment(slow), node.origin)
        # entities keep their statistics in _policy_values: one dict lookup
        t = self.temp()
        return mark(
            Fragment(
                f"({t} if ({t} := getattr(cur.get({node.head!r}), '_policy_values', _EMPTY)"
                f".get({node.attr!r}, MISSING)) is not MISSING else {slow})"
            ),
            node.origin,
        )

    # ## Calls

    def call(self, node: s.Call, depth: int) -> Fragment:
        """A call of a variable's value (``abs``) or of a user function."""
        name, args = node.name, node.args
        t = self.temp()
        site = self.eager_site(name, node.line, args)
        if all(_inline(arg) for arg in args):
            # arguments inline for a variable's function (abs); as functions for a
            # user function, which evaluates them inside its new scope
            fragment = cat(
                f"({t}(", join(self.values(args, depth)), f") if ({t} := cur.get({name!r})) is not None ",
                f"else _invoke(ev, {name!r}, {site}))",
            )
        else:
            fragment = Fragment(
                f"(_apply(ev, {t}, {site}) if ({t} := cur.get({name!r})) is not None else _invoke(ev, {name!r}, {site}))"
            )
        return mark(fragment, node.origin)

    def method_call(self, node: s.MethodCall, depth: int) -> Fragment:
        """``(obj.method ...)``: the declared method, else what the name is bound to,
        else a user function of that name."""
        name, head, attr = node.name, node.head, node.attr
        t = self.temp()
        site = self.lazy_site(node)
        lookup = f"_method(ev, cur, {head!r}, {attr!r}, {name!r})"
        if not node.sealed:
            # the usual case inline: the innermost binding declares the method
            o = self.temp()
            lookup = (
                f"(getattr({o}, {attr!r}) if {attr!r} in getattr(({o} := cur.get({head!r})), "
                f"'_policy_methods', _NO_METHODS) else {lookup})"
            )
        fragment = cat(
            f"({t}(", join(self.values(node.args, depth)), f") if ({t} := {lookup}) is not None ",
            f"else _invoke(ev, {name!r}, {site}))",
        )
        return mark(fragment, node.origin)

    # ## Builtins: each wrapped in the check for a variable of its name

    def builtin(self, node: s.Builtin, depth: int) -> Fragment:
        if isinstance(node, s.Malformed):
            inner = Fragment(f"_fail({self.constant(node.error)})")
        else:
            inner = _BUILTIN_COMPILERS[type(node)](self, node, depth)
        return mark(self.shadowable(node, inner), node.origin)

    def empty_eval(self, node: s.EmptyEval, depth: int) -> Fragment:
        return mark(self.shadowable(node, self.failing(node, node.error)), node.origin)

    def shadowable(self, node: s.Builtin, inner: Fragment) -> Fragment:
        """Upstream looks a name up as a variable before it tries the builtin."""
        name = node.name
        site = self.lazy_site(node)
        t = self.temp()
        return cat(
            f"(_apply(ev, {t}, {site}) if ev.shadowing and ({t} := cur.get({name!r})) is not None else ",
            inner,
            ")",
        )

    def b_eval(self, node: s.Eval, depth: int) -> Fragment:
        """Upstream's default handler for ``eval`` (and ``{}``): all, then the last."""
        values = self.values(node.items, depth)
        if len(values) == 1:
            return values[0]
        return cat("(", join(values), ")[-1]")

    def operator(self, node: s.Binary, depth: int, op: str) -> Fragment:
        a, b = self.values((node.left, node.right), depth)
        return cat("(", a, f" {op} ", b, ")")

    def b_binary(self, node: s.Binary, depth: int) -> Fragment:
        name = node.name
        op = _OPERATORS.get(name)
        if op is not None:
            return self.operator(node, depth, op)
        if name == "add":
            t = self.temp()
            # repeated + doubles a string or list; an int grows by one bit at most
            return cat(
                f"({t} if type({t} := ", self.operator(node, depth, "+"), f") not in _SEQUENCES "
                f"else _check_length({t}, ev.limits))"
            )
        if name == "mul":
            a, b = self.values((node.left, node.right), depth)
            ta, tb = self.temp(), self.temp()
            # floats multiply inline; ints and sequences go through the size check
            return cat(
                f"({ta} * {tb} if (({ta} := ", a, f"), ({tb} := ", b, f")) and "
                f"({ta}.__class__ is float or {tb}.__class__ is float) else _multiply(ev, {ta}, {tb}))"
            )
        assert name == "shl", name
        return cat("_shift_left(ev, ", join(self.values((node.left, node.right), depth)), ")")

    def helper(self, helper: str, args: Sequence[s.Expr], depth: int) -> Fragment:
        return cat(f"{helper}(", join(self.values(args, depth)), ")")

    def b_variadic(self, node: s.Variadic, depth: int) -> Fragment:
        name, args = node.name, node.args
        if name == "and" and len(args) == 2:
            a, b = self.values(args, depth)
            ta, tb = self.temp(), self.temp()
            # no short circuit: upstream evaluates every argument before the call
            return cat(f"(({tb} if {ta} else {ta}) if (({ta} := ", a, f"), ({tb} := ", b, ")) else None)")
        if name == "or" and len(args) == 2:
            a, b = self.values(args, depth)
            ta, tb = self.temp(), self.temp()
            return cat(f"(({ta} if {ta} else {tb}) if (({ta} := ", a, f"), ({tb} := ", b, ")) else None)")
        if name == "valid" and len(args) == 1:
            (a,) = self.values(args, depth)
            return cat("(", a, " is not None)")
        if name == "valid" and 1 < len(args) <= 4:
            # every argument first, then the checks: (t1, t2) and t1 is not None and ...
            temps = [self.temp() for _ in args]
            assigned = join([cat(f"({t} := ", value, ")") for t, value in zip(temps, self.values(args, depth))])
            checks = " and ".join(f"{t} is not None" for t in temps)
            return cat("((", assigned, f") and {checks})")
        return self.helper("_" + name, args, depth)

    def b_not(self, node: s.Not, depth: int) -> Fragment:
        (a,) = self.values((node.operand,), depth)
        return cat("(not ", a, ")")

    def b_if(self, node: s.If, depth: int) -> Fragment:
        condition, yes, no = self.values((node.condition, node.then, node.otherwise), depth)
        return cat("(", yes, " if ", condition, " else ", no, ")")

    def b_defvar(self, node: s.Defvar, depth: int) -> Fragment:
        name = node.target.name
        (value,) = self.values((node.value,), depth)
        if name in SHADOWABLE:
            return cat(f"_bind_shadowing(ev, {name!r}, ", value, ")")
        return cat(f"ev.bind({name!r}, ", value, ")")

    def b_set(self, node: s.Set, depth: int) -> Fragment:
        (value,) = self.values((node.value,), depth)
        return cat(f"ev.assign({node.target.name!r}, ", value, ")")

    def b_def(self, node: s.Def, depth: int) -> Fragment:
        binders: list[tuple[str, bool] | Callable[[], BaseException]] = []
        nparams: int | None = None
        if node.params is not None:
            nparams = len(node.params)
            for param in node.params:
                if isinstance(param, s.NotAName):
                    binders.append(param.error)
                else:
                    binders.append((param.name, param.name in SHADOWABLE))
        function = support.UserFunction(node.target.name, nparams, binders, support.unresolved, node.params_type)
        body_name = self.function([node.body])

        def resolve(namespace: dict[str, Any]) -> None:
            function.body = namespace[body_name]

        self.fixups.append(resolve)
        return Fragment(f"_define(ev, {self.constant(function)})")

    def b_let(self, node: s.Let, depth: int) -> Fragment:
        names = [(target.name, target.name in SHADOWABLE, self.function([value])) for target, value in node.bindings]
        failure = node.failure
        body_name = self.function(node.body)
        spec = support.LetSpec([], support.unresolved)

        def resolve(namespace: dict[str, Any]) -> None:
            spec.steps.extend((name, shadows, namespace[value]) for name, shadows, value in names)
            if failure is not None:
                spec.steps.append(failure.error)
            spec.body = namespace[body_name]

        self.fixups.append(resolve)
        return Fragment(f"_let(ev, {self.constant(spec)})")

    def b_with(self, node: s.With, depth: int) -> Fragment:
        body_name = self.function([node.body])
        spec = support.WithSpec(node.iterable.name, node.variable.name, support.unresolved)

        def resolve(namespace: dict[str, Any]) -> None:
            spec.body = namespace[body_name]

        self.fixups.append(resolve)
        return Fragment(f"_with(ev, {self.constant(spec)})")


#: the Python operator of each builtin that is one, checks needing no helper
_OPERATORS = {
    "sub": "-", "div": "/", "lt": "<", "gt": ">", "lte": "<=", "gte": ">=", "eq": "==", "neq": "!=", "shr": ">>",
}  # fmt: skip

#: the generator method of each node type
_COMPILERS: dict[type, Callable[..., Fragment]] = {
    s.Literal: _Generator.literal,
    s.Symbol: _Generator.symbol,
    s.Attribute: _Generator.attribute,
    s.BadNumber: _Generator.malformed,
    s.BadToken: _Generator.malformed,
    s.EmptyForm: _Generator.malformed,
    s.FormHead: _Generator.malformed,
    s.TokenHead: _Generator.malformed,
    s.Call: _Generator.call,
    s.MethodCall: _Generator.method_call,
    s.EmptyEval: _Generator.empty_eval,
    **{kind: _Generator.builtin for kind in (
        s.Eval, s.BadCall, s.If, s.Binary, s.Not, s.Variadic, s.Defvar, s.Set, s.Def, s.Let, s.LetWithoutList, s.With,
    )},
}  # fmt: skip

#: the code of each well-formed builtin's node type, inside its shadowing check
_BUILTIN_COMPILERS: dict[type, Callable[..., Fragment]] = {
    s.Eval: _Generator.b_eval,
    s.If: _Generator.b_if,
    s.Binary: _Generator.b_binary,
    s.Not: _Generator.b_not,
    s.Variadic: _Generator.b_variadic,
    s.Defvar: _Generator.b_defvar,
    s.Set: _Generator.b_set,
    s.Def: _Generator.b_def,
    s.Let: _Generator.b_let,
    s.With: _Generator.b_with,
}
