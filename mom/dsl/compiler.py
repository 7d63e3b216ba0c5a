"""Compiler of the reference implementation: forms to generated Python functions.

Each top-level form (and each function body, ``with`` body and ``let`` part) becomes
one Python function ``f(ev)`` whose body is a single expression: the forms nested in
it are inline Python (``(< a b)`` is ``(cur['a'] < cur['b'])``), so evaluating a
policy costs about what the same logic written in Python would.  Everything upstream
decides on every call (which builtin a name means, how its arguments are taken,
whether the arity fits) is decided here, once; what upstream decides at run time stays
at run time (a variable still shadows a builtin, a malformed form fails only if it is
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
from mom.dsl.builtins import BUILTINS, BuiltinSpec, call_error
from mom.dsl.evaluator import SHADOWABLE, Evaluator
from mom.dsl.limits import DEFAULT_LIMITS, Limits, too_deep_error
from mom.dsl.reader import OPERATOR_NAMES, Node, Source, Token, number_value
from mom.dsl.render import render
from mom.dsl.scope import undefined_symbol
from mom.errors import PolicyError

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
            spans.extend(Span(s.start + offset, s.end + offset, s.node, s.kind) for s in part.spans)
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


def compile_units(forms: Sequence[Node], source: Source | None, limits: Limits = DEFAULT_LIMITS) -> tuple[list[Function], Unit]:
    """Compile top-level forms: one function each, and the unit that holds them."""
    generator = _Generator(source, limits)
    names = [generator.function([form]) for form in forms]
    namespace = generator.finish()
    return [namespace[name] for name in names], generator.unit


def compile_expression(code: Node, limits: Limits = DEFAULT_LIMITS, source: Source | None = None) -> Function:
    """Compile one expression (a token, or a list as the parser returns it)."""
    functions, _unit = compile_units([code], source, limits)
    return functions[0]


def _compile_arguments(args: Sequence[Node], source: Source | None, limits: Limits) -> list[Function]:
    functions, _unit = compile_units(args, source, limits)
    return functions


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

    def function(self, nodes: Sequence[Node]) -> str:
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
            Span(s.start + len(prefix), s.end + len(prefix), s.node, s.kind) for s in body.spans
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

    def failing(self, node: Any, factory: Callable[[], BaseException]) -> Fragment:
        return mark(Fragment(f"_fail({self.constant(factory)})"), node)

    def site(self, name: str, line: int | None, args: Sequence[Node], *, eager: bool = False) -> str:
        """A Site constant whose argument functions are generated now or on first use."""
        if eager:
            names = [self.function([arg]) for arg in args]
            namespace = self.namespace
            site = support.Site(name, line, lambda: [namespace[n] for n in names])
        else:
            source, limits, nodes = self.source, self.limits, list(args)
            site = support.Site(name, line, lambda: _compile_arguments(nodes, source, limits))
        return self.constant(site)

    # ## Atoms

    def expression(self, node: Node, depth: int) -> Fragment:
        if isinstance(node, list):
            if depth >= SPLIT_DEPTH:
                return mark(Fragment(f"{self.function([node])}(ev)"), node)
            return self.form(node, depth)
        kind = node.kind
        if kind == "number":
            return self.number(node)
        if kind == "string":
            return Fragment(self.constant(node.value))
        if kind == "symbol":
            return self.symbol(node)
        line = node.line
        return self.failing(
            node, lambda: PolicyError('Unexpected token type "%s" on line %d' % (kind, line), line=line)  # type: ignore[str-format]
        )

    def number(self, token: Token) -> Fragment:
        try:
            value = number_value(token)
        except ValueError as error:
            # upstream converts when evaluating, so "0o9" fails only if it is reached
            message = str(error)
            return self.failing(token, lambda: ValueError(message))
        return Fragment(self.constant(value))

    def symbol(self, token: Token) -> Fragment:
        name = token.value
        if name == "nil":
            return Fragment("None")
        head, dot, attr = name.partition(".")
        if not dot:
            return mark(Fragment(f"cur[{name!r}]"), token, "var")
        attr = attr.partition(".")[0]  # one level only, as upstream
        slow = f"_attr(ev, {name!r}, {token.line!r})"
        if not attr or attr[0] == "_":
            return mark(Fragment(slow), token)
        # entities keep their statistics in _policy_values: one dict lookup
        t = self.temp()
        return mark(
            Fragment(
                f"({t} if ({t} := getattr(cur.get({head!r}), '_policy_values', _EMPTY)"
                f".get({attr!r}, MISSING)) is not MISSING else {slow})"
            ),
            token,
        )

    # ## Forms

    def form(self, form: list, depth: int) -> Fragment:  # type: ignore[type-arg]
        if not form:
            return self.failing(form, lambda: IndexError("list index out of range"))
        head = form[0]
        if isinstance(head, list):
            return self.failing(form, lambda: PolicyError("Expected simple token as arg 1"))
        kind = head.kind
        line = head.line
        if kind == "operator":
            name = OPERATOR_NAMES.get(head.value, head.value)
        elif kind == "symbol":
            name = head.value
        else:
            return self.failing(
                form,
                lambda: PolicyError(
                    'Unexpected token type in arg 1 "%s" on line %d' % (kind, line),  # type: ignore[str-format]
                    line=line,
                ),
            )
        args = form[1:]
        spec = BUILTINS.get(name)
        if spec is not None:
            fragment = self.builtin(spec, name, args, depth, line)
        elif name == "eval":
            fragment = self.shadowable(name, args, line, self.eval_all(form, args, depth))
        else:
            fragment = self.call(name, args, depth, line)
        return mark(fragment, form)

    def values(self, args: Sequence[Node], depth: int) -> list[Fragment]:
        return [self.expression(arg, depth + 1) for arg in args]

    def shadowable(self, name: str, args: Sequence[Node], line: int | None, inner: Fragment) -> Fragment:
        """Upstream looks a name up as a variable before it tries the builtin."""
        site = self.site(name, line, args)
        t = self.temp()
        return cat(
            f"(_apply(ev, {t}, {site}) if ev.shadowing and ({t} := cur.get({name!r})) is not None else ",
            inner,
            ")",
        )

    def inline(self, node: Node, depth: int = 0) -> bool:
        """Whether ``node`` compiles to inline code only (no calls that open scopes)."""
        if not isinstance(node, list):
            return True
        if not node or isinstance(node[0], list) or depth > 3:
            return False
        head = node[0]
        name = OPERATOR_NAMES.get(head.value, head.value)
        return name in _INLINE_HEADS and all(self.inline(arg, depth + 1) for arg in node[1:])

    def call(self, name: str, args: Sequence[Node], depth: int, line: int | None) -> Fragment:
        """A call of a variable's value (``abs``, ``Host.Stat``) or of a user function."""
        t = self.temp()
        head, dot, attr = name.partition(".")
        if dot:
            site = self.site(name, line, args)
            attr = attr.partition(".")[0]
            lookup = f"_method(ev, cur, {head!r}, {attr!r}, {name!r})"
            if attr and attr[0] != "_":
                # the usual case inline: the innermost binding declares the method
                o = self.temp()
                lookup = (
                    f"(getattr({o}, {attr!r}) if {attr!r} in getattr(({o} := cur.get({head!r})), "
                    f"'_policy_methods', _NO_METHODS) else {lookup})"
                )
            return cat(
                f"({t}(", join(self.values(args, depth)), f") if ({t} := {lookup}) is not None ",
                f"else _invoke(ev, {name!r}, {site}))",
            )
        if all(self.inline(arg) for arg in args):
            # arguments inline for a variable's function (abs); as functions for a
            # user function, which evaluates them inside its new scope
            site = self.site(name, line, args, eager=True)
            return cat(
                f"({t}(", join(self.values(args, depth)), f") if ({t} := cur.get({name!r})) is not None ",
                f"else _invoke(ev, {name!r}, {site}))",
            )
        site = self.site(name, line, args, eager=True)
        return Fragment(
            f"(_apply(ev, {t}, {site}) if ({t} := cur.get({name!r})) is not None else _invoke(ev, {name!r}, {site}))"
        )

    def eval_all(self, form: list, args: Sequence[Node], depth: int) -> Fragment:  # type: ignore[type-arg]
        """Upstream's default handler for ``eval`` (and ``{}``): all, then the last."""
        if not args:
            return self.failing(form, lambda: IndexError("list index out of range"))
        values = self.values(args, depth)
        if len(values) == 1:
            return values[0]
        return cat("(", join(values), ")[-1]")

    # ## Builtins

    def builtin(self, spec: BuiltinSpec, name: str, args: Sequence[Node], depth: int, line: int | None) -> Fragment:
        error = call_error(spec, args, line)
        if error is not None:
            # a fresh exception each time it is raised
            message, error_line = str(error), error.line
            factory: Callable[[], BaseException] = lambda: PolicyError(message, line=error_line)  # noqa: E731
            return self.shadowable(name, args, line, Fragment(f"_fail({self.constant(factory)})"))
        inner: Fragment = getattr(self, "b_" + spec.impl_name[2:])(args, depth)
        return self.shadowable(name, args, line, inner)

    def operator(self, args: Sequence[Node], depth: int, op: str) -> Fragment:
        a, b = self.values(args, depth)
        return cat("(", a, f" {op} ", b, ")")

    def b_add(self, args: Sequence[Node], depth: int) -> Fragment:
        t = self.temp()
        # repeated + doubles a string or list; an int grows by one bit at most
        return cat(
            f"({t} if type({t} := ", self.operator(args, depth, "+"), f") not in _SEQUENCES "
            f"else _check_length({t}, ev.limits))"
        )

    def b_sub(self, args: Sequence[Node], depth: int) -> Fragment:
        return self.operator(args, depth, "-")

    def b_mul(self, args: Sequence[Node], depth: int) -> Fragment:
        a, b = self.values(args, depth)
        ta, tb = self.temp(), self.temp()
        # floats multiply inline; ints and sequences go through the size check
        return cat(
            f"({ta} * {tb} if (({ta} := ", a, f"), ({tb} := ", b, f")) and "
            f"({ta}.__class__ is float or {tb}.__class__ is float) else _multiply(ev, {ta}, {tb}))"
        )

    def b_div(self, args: Sequence[Node], depth: int) -> Fragment:
        return self.operator(args, depth, "/")  # true division, as upstream

    def b_lt(self, args: Sequence[Node], depth: int) -> Fragment:
        return self.operator(args, depth, "<")

    def b_gt(self, args: Sequence[Node], depth: int) -> Fragment:
        return self.operator(args, depth, ">")

    def b_lte(self, args: Sequence[Node], depth: int) -> Fragment:
        return self.operator(args, depth, "<=")

    def b_gte(self, args: Sequence[Node], depth: int) -> Fragment:
        return self.operator(args, depth, ">=")

    def b_eq(self, args: Sequence[Node], depth: int) -> Fragment:
        return self.operator(args, depth, "==")

    def b_neq(self, args: Sequence[Node], depth: int) -> Fragment:
        return self.operator(args, depth, "!=")

    def b_shr(self, args: Sequence[Node], depth: int) -> Fragment:
        return self.operator(args, depth, ">>")

    def b_shl(self, args: Sequence[Node], depth: int) -> Fragment:
        return cat("_shift_left(ev, ", join(self.values(args, depth)), ")")

    def helper(self, helper: str, args: Sequence[Node], depth: int) -> Fragment:
        return cat(f"{helper}(", join(self.values(args, depth)), ")")

    def b_and(self, args: Sequence[Node], depth: int) -> Fragment:
        if len(args) != 2:
            return self.helper("_and", args, depth)
        a, b = self.values(args, depth)
        ta, tb = self.temp(), self.temp()
        # no short circuit: upstream evaluates every argument before the call
        return cat(f"(({tb} if {ta} else {ta}) if (({ta} := ", a, f"), ({tb} := ", b, ")) else None)")

    def b_or(self, args: Sequence[Node], depth: int) -> Fragment:
        if len(args) != 2:
            return self.helper("_or", args, depth)
        a, b = self.values(args, depth)
        ta, tb = self.temp(), self.temp()
        return cat(f"(({ta} if {ta} else {tb}) if (({ta} := ", a, f"), ({tb} := ", b, ")) else None)")

    def b_not(self, args: Sequence[Node], depth: int) -> Fragment:
        (a,) = self.values(args, depth)
        return cat("(not ", a, ")")

    def b_valid(self, args: Sequence[Node], depth: int) -> Fragment:
        if len(args) == 1:
            (a,) = self.values(args, depth)
            return cat("(", a, " is not None)")
        if not 1 < len(args) <= 4:
            return self.helper("_valid", args, depth)
        # every argument first, then the checks: (t1, t2) and t1 is not None and ...
        temps = [self.temp() for _ in args]
        assigned = join([cat(f"({t} := ", value, ")") for t, value in zip(temps, self.values(args, depth))])
        checks = " and ".join(f"{t} is not None" for t in temps)
        return cat("((", assigned, f") and {checks})")

    def b_null(self, args: Sequence[Node], depth: int) -> Fragment:
        return self.helper("_null", args, depth)

    def b_min(self, args: Sequence[Node], depth: int) -> Fragment:
        return self.helper("_min", args, depth)

    def b_max(self, args: Sequence[Node], depth: int) -> Fragment:
        return self.helper("_max", args, depth)

    def b_if(self, args: Sequence[Node], depth: int) -> Fragment:
        condition, yes, no = self.values(args, depth)
        return cat("(", yes, " if ", condition, " else ", no, ")")

    def b_defvar(self, args: Sequence[Node], depth: int) -> Fragment:
        name = args[0].value  # type: ignore[union-attr]
        (value,) = self.values(args[1:], depth)
        if name in SHADOWABLE:
            return cat(f"_bind_shadowing(ev, {name!r}, ", value, ")")
        return cat(f"ev.bind({name!r}, ", value, ")")

    def b_set(self, args: Sequence[Node], depth: int) -> Fragment:
        name = args[0].value  # type: ignore[union-attr]
        (value,) = self.values(args[1:], depth)
        return cat(f"ev.assign({name!r}, ", value, ")")

    def b_def(self, args: Sequence[Node], depth: int) -> Fragment:
        name, params, body = args[0].value, args[1], args[2]  # type: ignore[union-attr]
        binders: list[tuple[str, bool] | Callable[[], BaseException]] = []
        nparams: int | None = None
        if isinstance(params, list):
            nparams = len(params)
            for param in params:
                if isinstance(param, list):
                    binders.append(lambda: AttributeError("'list' object has no attribute 'kind'"))
                elif param.kind != "symbol":
                    binders.append(lambda: PolicyError("Expecting list of (symbol value) in let"))
                else:
                    binders.append((param.value, param.value in SHADOWABLE))
        function = support.UserFunction(name, nparams, binders, None)
        body_name = self.function([body])

        def resolve(namespace: dict[str, Any]) -> None:
            function.body = namespace[body_name]

        self.fixups.append(resolve)
        return Fragment(f"_define(ev, {self.constant(function)})")

    def b_let(self, args: Sequence[Node], depth: int) -> Fragment:
        bindings = args[0]
        if not isinstance(bindings, list):
            return Fragment(f"_fail({self.constant(lambda: PolicyError('Expecting list as arg 1 in let'))})")
        steps: list[Any] = []
        names: list[str | None] = []
        for item in bindings:
            if not isinstance(item, list) or len(item) != 2:
                steps.append(lambda: PolicyError("Expecting list of tuples in arg1 of let"))
                break
            symbol, value = item
            if isinstance(symbol, list):
                steps.append(lambda: AttributeError("'list' object has no attribute 'kind'"))
                break
            if symbol.kind != "symbol":
                steps.append(lambda: PolicyError("Expecting list of (symbol value) in let"))
                break
            steps.append((symbol.value, symbol.value in SHADOWABLE))
            names.append(self.function([value]))
        body_name = self.function(args[1:])
        spec = support.LetSpec([], None)  # type: ignore[arg-type]

        def resolve(namespace: dict[str, Any]) -> None:
            values = iter(names)
            for step in steps:
                if callable(step):
                    spec.steps.append(step)
                else:
                    spec.steps.append((step[0], step[1], namespace[next(values)]))  # type: ignore[index]
            spec.body = namespace[body_name]

        self.fixups.append(resolve)
        return Fragment(f"_let(ev, {self.constant(spec)})")

    def b_with(self, args: Sequence[Node], depth: int) -> Fragment:
        iterable, variable = args[0].value, args[1].value  # type: ignore[union-attr]
        body_name = self.function([args[2]])
        spec = support.WithSpec(iterable, variable, None)  # type: ignore[arg-type]

        def resolve(namespace: dict[str, Any]) -> None:
            spec.body = namespace[body_name]

        self.fixups.append(resolve)
        return Fragment(f"_with(ev, {self.constant(spec)})")
