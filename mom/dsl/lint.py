"""Static checks of policy programs: mistakes found in the forms, without evaluating them.

A program is one or more policy texts read separately (so positions are per file) and
checked as the concatenation MOM evaluates, in the order given.  The checks follow
the language's real semantics (spec section 5): variables are looked up before
builtins, ``defvar`` binds only a name its scope does not hold yet, arguments of a
user function are bound one after another inside the callee's scope, ``and``/``or``
evaluate every argument, and scoping is dynamic: a function body sees whatever its
callers have bound.  That last rule is why a misspelt parameter can go unnoticed
(vdsm's ``(def guest_qos (quest) ... guest.balloon_cur ...)`` reads its caller's
``guest``), and it is the one this module explains most carefully.

Severities: ``error`` is something that fails when evaluated (or makes the policy not
load); ``warning`` is almost certainly a mistake that does not fail; ``note`` is
probably dead code.  Everything here is a pure function of the forms, as the front
end (:mod:`mom.dsl.syntax`) classifies them: this module adds what a static check can
say, not another reading of the forms.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

from mom.dsl import syntax
from mom.dsl.builtins import (
    BUILTINS,
    SHADOWABLE,
    STACK_FUNCTIONS,
    arity_error,
    call_error,
    call_message,
    non_symbol_argument,
)
from mom.dsl.reader import ReadResult, Source, Token, read
from mom.dsl.render import render
from mom.errors import PolicyError

__all__ = [
    "ERROR",
    "WARNING",
    "NOTE",
    "PREDEFINED",
    "Diagnostic",
    "read_unit",
    "lint",
]

ERROR = "error"
WARNING = "warning"
NOTE = "note"

#: names every evaluation binds before the policy runs (``nil`` is a literal, not a name)
PREDEFINED = ("Host", "Guests", *STACK_FUNCTIONS)

Time = tuple[int, int]  # (unit index, character offset): program order at top level


@dataclass(frozen=True)
class Diagnostic:
    """One finding: ``offset`` is a character offset in unit ``unit``'s text."""

    severity: str
    code: str
    message: str
    unit: int
    offset: int


# ## Reading


def read_unit(text: str, unit: int = 0) -> tuple[ReadResult | None, list[Diagnostic]]:
    """Read one policy text: its forms (None if it does not parse) and what reading found."""
    try:
        result = read(text)
    except PolicyError as error:
        offset = 0 if error.position is None else Source(text).offset(*error.position)
        message = str(error) + (f": {error.detail}" if error.detail else "")
        return None, [Diagnostic(ERROR, "parse-error", message, unit, offset)]
    diagnostics = []
    at = result.discarded_at
    if at is not None:
        lines = len(text[at:].splitlines())
        diagnostics.append(
            Diagnostic(
                WARNING,
                "discarded-text",
                f"{text[at]!r} is not part of the policy language: MOM silently ignores "
                f"everything from here on ({lines} line{'s' if lines != 1 else ''}), and every "
                "policy loaded after this one",
                unit,
                at,
            )
        )
    return result, diagnostics


# ## Program model


@dataclass(eq=False)
class _Binding:
    """A name bound somewhere: a global, a parameter, a let/with/defvar local."""

    name: str
    #: predefined, global, param, let, with, local (defvar inside a scope), or
    #: callee-param (a callee's parameter seen while its later arguments are evaluated)
    kind: str
    unit: int
    offset: int
    #: the form that binds it (def, let, with, defvar)
    node: Any = None
    #: defvar's value expression
    value: Any = None
    function: _Function | None = None
    branch: tuple[tuple[int, int], ...] = ()
    #: when a global becomes bound
    time: Time = (-1, -1)
    used: bool = False


@dataclass(eq=False)
class _Function:
    name: str
    unit: int
    node: Any
    #: the parameters, or None if the parameter list is malformed
    params: list[syntax.Symbol] | None
    body: Any
    #: when the top-level ``def`` runs; None for a def nested in a function body
    time: Time | None
    branch: tuple[tuple[int, int], ...]
    #: the function whose body holds this def (None at top level)
    owner: _Function | None = None
    param_bindings: list[_Binding] = field(default_factory=list)
    free: list[_FreeRef] = field(default_factory=list)


@dataclass(eq=False)
class _FreeRef:
    """A name a function body reads (or sets) without binding it."""

    name: str
    unit: int
    offset: int
    write: bool
    #: names visible in the function at that point, for suggestions
    nearby: tuple[str, ...]


@dataclass(eq=False)
class _CallSite:
    caller: _Function | None
    callee: str
    unit: int
    offset: int
    nargs: int
    #: the local bindings visible at the call (they are the callee's dynamic scope)
    visible: dict[str, _Binding]
    time: Time


@dataclass(eq=False)
class _Context:
    unit: int
    function: _Function | None
    #: innermost last; at top level scopes[0] is the root (globals)
    scopes: list[dict[str, _Binding]]
    branch: tuple[tuple[int, int], ...] = ()


def _offset(node: Any) -> int:
    """Where a node (or the reader's token or form) starts in its text."""
    if isinstance(node, syntax.Expr):
        node = node.origin
    offset = getattr(node, "offset", -1)
    return offset if offset is not None and offset >= 0 else 0


def _text(node: Any, limit: int) -> str:
    """A node's source text, shortened."""
    return render(node.origin if isinstance(node, syntax.Expr) else node, limit)


def _exclusive(a: tuple[tuple[int, int], ...], b: tuple[tuple[int, int], ...]) -> bool:
    """Whether two places sit in different branches of one ``if`` (never both run)."""
    branches = dict(a)
    return any(key in branches and branches[key] != branch for key, branch in b)


def _is_symbol(node: Any) -> bool:
    return isinstance(node, Token) and node.kind == "symbol"


def _symbols(node: Any) -> Iterator[str]:
    """Every symbol name in a node (iteratively: nesting depth is unbounded)."""
    work = [node]
    while work:
        item = work.pop()
        if isinstance(item, list):
            work.extend(item)
        elif _is_symbol(item) and item.line is not None:  # not a {}'s synthetic eval
            yield item.value


def _all_defs(nodes: Sequence[syntax.Expr]) -> Iterator[syntax.Def]:
    """Every well-formed ``(def name params body)`` anywhere, in source order."""
    for node in syntax.walk(nodes):
        if isinstance(node, syntax.Def):
            yield node


def _suggest(name: str, candidates: Sequence[str]) -> str:
    match = difflib.get_close_matches(name, sorted(set(candidates) - {name}), n=1, cutoff=0.75)
    return f" (did you mean '{match[0]}'?)" if match else ""


# ## The checker


class _Linter:
    def __init__(self, units: Sequence[tuple[str, ReadResult | None]]) -> None:
        self.names = [name for name, _ in units]
        self.results = [result for _, result in units]
        self.nodes = [None if result is None else syntax.expressions(result.forms) for result in self.results]
        self.diagnostics: list[Diagnostic] = []
        #: some unit did not parse: names it defines are unknown
        self.incomplete = any(result is None for result in self.results)
        self.root: dict[str, _Binding] = {
            name: _Binding(name, "predefined", -1, -1, used=True) for name in PREDEFINED
        }
        self.bindings: list[_Binding] = []
        self.functions: list[_Function] = []
        self.by_name: dict[str, list[_Function]] = defaultdict(list)
        self.sites: list[_CallSite] = []
        #: top-level reads and sets of names not bound when they run
        self.unbound: list[tuple[str, int, int, bool, tuple[str, ...]]] = []
        #: every function name any def defines, and the parameters of its last def
        self.function_names: set[str] = set()
        self.params_of: dict[str, list[syntax.Param] | None] = {}
        for nodes in self.nodes:
            for node in _all_defs(nodes or ()):
                self.function_names.add(node.target.name)
                self.params_of[node.target.name] = node.params

    # ## Reporting

    def report(self, severity: str, code: str, message: str, unit: int, offset: int) -> None:
        self.diagnostics.append(Diagnostic(severity, code, message, unit, offset))

    def line_of(self, unit: int, offset: int) -> int:
        result = self.results[unit]
        assert result is not None
        return result.source.position(offset)[0]

    def where(self, unit: int, offset: int, relative_to: int) -> str:
        """A place in the program, short when it is in the same file."""
        if unit < 0:
            return "predefined"
        line = self.line_of(unit, offset)
        return f"line {line}" if unit == relative_to else f"{self.names[unit]}:{line}"

    def describe_binding(self, binding: _Binding, relative_to: int) -> str:
        place = self.where(binding.unit, binding.offset, relative_to)
        kind = binding.kind
        if kind == "param" or kind == "callee-param":
            owner = binding.function.name if binding.function else "?"
            return f"parameter '{binding.name}' of '{owner}' ({place})"
        if kind == "with":
            return f"the loop variable of {_text(binding.node, 40)} ({place})"
        if kind == "let":
            return f"the let binding of '{binding.name}' ({place})"
        if kind == "global":
            return f"the global '{binding.name}' ({place})"
        return f"the local (defvar {binding.name} ...) ({place})"

    # ## Scopes

    def lookup(self, ctx: _Context, name: str) -> _Binding | None:
        for scope in reversed(ctx.scopes):
            binding = scope.get(name)
            if binding is not None:
                return binding
        return None

    def visible_names(self, ctx: _Context) -> tuple[str, ...]:
        return tuple(name for scope in ctx.scopes for name in scope)

    def visible_locals(self, ctx: _Context) -> dict[str, _Binding]:
        scopes = ctx.scopes[1:] if ctx.function is None else ctx.scopes
        visible: dict[str, _Binding] = {}
        for scope in scopes:
            visible.update(scope)
        return visible

    def bind(self, ctx: _Context, binding: _Binding, scope: dict[str, _Binding]) -> None:
        scope[binding.name] = binding
        self.bindings.append(binding)
        name = binding.name
        where = (binding.unit, binding.offset)
        if name in SHADOWABLE:
            self.report(
                WARNING,
                "shadowing",
                f"binding '{name}' shadows the builtin '{name}': while it is bound, "
                f"({name} ...) calls its value instead (MOM looks variables up before builtins)",
                *where,
            )
        elif name in STACK_FUNCTIONS:
            self.report(
                WARNING, "shadowing", f"binding '{name}' hides the function '{name}' while it is bound", *where
            )
        elif name in self.function_names:
            self.report(
                WARNING,
                "shadowing",
                f"'{name}' is also a function: while this variable is bound, ({name} ...) "
                "calls the variable's value instead, and fails",
                *where,
            )
        elif name == "nil":
            self.report(WARNING, "shadowing", "'nil' always reads as nil: binding it has no effect", *where)

    # ## Walking forms

    def top_level(self) -> None:
        for unit, nodes in enumerate(self.nodes):
            if nodes is None:
                continue
            ctx = _Context(unit, None, [self.root])
            for node in nodes:
                self.visit(node, ctx)
        analysed = 0
        while analysed < len(self.functions):  # bodies may define more functions
            self.function_body(self.functions[analysed])
            analysed += 1

    def function_body(self, function: _Function) -> None:
        scope: dict[str, _Binding] = {}
        ctx = _Context(function.unit, function, [scope])
        for param in function.params or ():
            if param.name in scope:
                continue  # reported at the def; the first binding wins (let* semantics)
            binding = _Binding(param.name, "param", function.unit, _offset(param), function.node, function=function)
            function.param_bindings.append(binding)
            self.bind(ctx, binding, scope)
        self.visit(function.body, ctx)

    def visit(self, node: syntax.Expr, ctx: _Context) -> None:
        if isinstance(node, syntax.Compound):
            self.form(node, ctx)
        elif isinstance(node, (syntax.Symbol, syntax.Attribute)):
            self.read(node.name, node, ctx)
        elif isinstance(node, syntax.BadNumber):
            self.report(
                ERROR, "bad-literal", f"{node.origin.value} is not a valid number (ValueError when evaluated)",
                ctx.unit, _offset(node),
            )
        elif isinstance(node, syntax.BadToken):
            line = self.line_of(ctx.unit, _offset(node))
            self.report(
                ERROR,
                "bad-token",
                f"{syntax.bad_token_error(node.kind, line)}: "
                f"'{node.origin.value}' can only start a form, as in ({node.origin.value} a b)",
                ctx.unit,
                _offset(node),
            )

    def read(self, name: str, token: Any, ctx: _Context, write: bool = False) -> None:
        """A read (or, for ``set``, a write) of a name; dotted names check their head."""
        if name == "nil" and not write:
            return
        head = name if write else name.partition(".")[0]
        binding = self.lookup(ctx, head)
        unit, offset = ctx.unit, _offset(token)
        if binding is not None:
            if binding.kind == "callee-param" and not write:
                owner = binding.function.name if binding.function else "?"
                self.report(
                    WARNING,
                    "argument-capture",
                    f"this argument of '{owner}' reads '{head}', which is by then the callee's own "
                    f"parameter '{head}' (arguments are bound one after another inside the "
                    f"function's scope): it gets the value of that earlier argument, not the "
                    f"caller's '{head}'",
                    unit,
                    offset,
                )
            if not write:
                binding.used = True
            return
        if ctx.function is None:
            self.unbound.append((head, unit, offset, write, self.visible_names(ctx)))
        else:
            ctx.function.free.append(_FreeRef(head, unit, offset, write, self.visible_names(ctx)))

    def form(self, node: syntax.Compound, ctx: _Context) -> None:
        unit, offset = ctx.unit, _offset(node)
        if isinstance(node, syntax.EmptyForm):
            self.report(ERROR, "empty-form", f"{_text(node, 80)} is empty: evaluating it raises IndexError", unit, offset)
            return
        if isinstance(node, syntax.FormHead):
            self.report(ERROR, "malformed", f"{syntax.FORM_HEAD}: a form cannot start with a form", unit, offset)
            return
        if isinstance(node, syntax.TokenHead):
            line = self.line_of(unit, _offset(node.origin[0]))
            self.report(
                ERROR,
                "bad-token",
                f"{syntax.token_head_error(node.kind, line)}: a form starts with a function or builtin name",
                unit,
                offset,
            )
            return
        assert isinstance(node, syntax.Named)
        name = node.name
        head = node.origin[0]
        if head.kind == "symbol":
            # a variable is looked up first: a stack function (abs, debug) or a method
            binding = self.lookup(ctx, name)
            if binding is None and ctx.function is not None:
                binding = self.root.get(name)
            if binding is not None:
                binding.used = True
                self.stack_function_arity(binding, name, len(node.origin) - 1, unit, offset)
                self.values(node.arguments(), ctx)
                return
            if isinstance(node, syntax.MethodCall):
                self.read(name, head, ctx)
                self.values(node.args, ctx)
                return
        if isinstance(node, syntax.BadCall):
            self.bad_call(node, ctx)
        elif isinstance(node, syntax.EmptyEval):
            self.report(ERROR, "empty-form", "{} is empty: evaluating it raises IndexError", unit, offset)
        elif isinstance(node, syntax.Call):
            if name in self.function_names:
                self.user_call(name, node, node.args, ctx)
                return
            candidates = list(self.function_names) + list(BUILTINS) + list(STACK_FUNCTIONS)
            self.report(
                ERROR,
                "undefined-function",
                f"call of undefined function '{name}' (KeyError when evaluated){_suggest(name, candidates)}",
                unit,
                offset,
            )
            self.values(node.args, ctx)
        else:
            check = _CHECKS.get(type(node))
            if check is not None:
                check(self, node, ctx)
            else:
                self.values(node.arguments(), ctx)

    def values(self, args: Sequence[syntax.Expr], ctx: _Context) -> None:
        for arg in args:
            self.visit(arg, ctx)

    def stack_function_arity(self, binding: _Binding, name: str, nargs: int, unit: int, offset: int) -> None:
        if binding.kind != "predefined":
            return
        if name == "abs" and nargs != 1:
            self.report(ERROR, "arity", call_message(STACK_FUNCTIONS["abs"], nargs), unit, offset)
        elif name == "debug" and nargs == 0:
            self.report(ERROR, "arity", "debug needs at least one argument (IndexError when evaluated)", unit, offset)

    # ## Builtins

    def bad_call(self, node: syntax.BadCall, ctx: _Context) -> None:
        """A builtin called with the wrong arguments: upstream's message with the real line."""
        unit, offset = ctx.unit, _offset(node)
        spec, args = BUILTINS[node.name], node.origin[1:]
        line = self.line_of(unit, offset)
        error = call_error(spec, args, line)
        # with the arity right, the error is about an argument that must be a name
        index = non_symbol_argument(spec, args) if arity_error(spec, len(args), line) is None else None
        if index is not None:
            self.report(
                ERROR,
                "malformed",
                f"{error}: argument {index + 1} of {node.name} must be a name, not {render(args[index], 30)}",
                unit,
                offset,
            )
            return
        hint = ""
        if spec.impl_name == "c_def" and len(args) > 3:
            hint = ": a function has exactly one body expression; group several in { }"
        elif spec.impl_name == "c_if" and len(args) == 2:
            hint = ": if needs both branches; write 0 for an empty one"
        self.report(ERROR, "arity", str(error) + hint, unit, offset)

    def b_def(self, node: syntax.Def, ctx: _Context) -> None:
        name_token, params, raw_params = node.target, node.params, node.origin[2]
        name = name_token.name
        unit = ctx.unit
        tokens: list[syntax.Symbol] | None = None
        if params is None:
            self.report(
                ERROR,
                "malformed",
                f"the parameters of '{name}' must be a list, as in (def {name} (a b) ...): "
                "calling it fails with TypeError",
                unit,
                _offset(raw_params),
            )
        else:
            tokens = []
            seen: set[str] = set()
            for param in params:
                if isinstance(param, syntax.NotAName):
                    self.report(
                        ERROR, "malformed", f"parameter {_text(param, 30)} of '{name}' is not a name",
                        unit, _offset(param) if not isinstance(param.origin, list) else _offset(raw_params),
                    )
                    tokens = None
                    break
                if param.name in seen:
                    self.report(
                        WARNING, "duplicate-parameter",
                        f"parameter '{param.name}' of '{name}' appears twice: it gets the first argument",
                        unit, _offset(param),
                    )
                seen.add(param.name)
                tokens.append(param)
        if name in SHADOWABLE or name in STACK_FUNCTIONS:
            self.report(
                WARNING,
                "shadowing",
                f"function '{name}' can never be called: the builtin '{name}' takes precedence",
                unit,
                _offset(name_token),
            )
        time = (unit, _offset(node)) if ctx.function is None else None
        for previous in self.by_name.get(name, ()):
            if previous.owner is ctx.function and not _exclusive(previous.branch, ctx.branch):
                self.report(
                    WARNING,
                    "redefined-function",
                    f"function '{name}' is defined again: this definition replaces the one at "
                    f"{self.where(previous.unit, _offset(previous.node), unit)}",
                    unit,
                    _offset(name_token),
                )
                break
        function = _Function(name, unit, node, tokens, node.body, time, ctx.branch, ctx.function)
        self.functions.append(function)
        self.by_name[name].append(function)

    def b_defvar(self, node: syntax.Defvar, ctx: _Context) -> None:
        name_token, value = node.target, node.value
        self.visit(value, ctx)
        name = name_token.name
        scope = ctx.scopes[-1]
        existing = scope.get(name)
        unit = ctx.unit
        if existing is not None:
            if existing.branch and _exclusive(existing.branch, ctx.branch):
                return  # the other branch of an if binds the same name: one variable
            if existing.kind == "predefined":
                already = f"'{name}' is predefined"
            elif existing.kind == "param":
                already = f"'{name}' is a parameter of this function"
            else:
                already = f"'{name}' is already bound in this scope ({self.where(existing.unit, existing.offset, unit)})"
            self.report(
                WARNING,
                "defvar-no-op",
                f"(defvar {name} ...) changes nothing: {already}, and defvar only binds a name its "
                "scope does not hold yet; use (set ...) to change it",
                unit,
                _offset(node),
            )
            return
        kind = "global" if ctx.function is None and len(ctx.scopes) == 1 else "local"
        binding = _Binding(
            name, kind, unit, _offset(name_token), node, value, ctx.function, ctx.branch,
            (unit, getattr(node.origin, "end", _offset(node))),
        )
        self.bind(ctx, binding, scope)

    def b_set(self, node: syntax.Set, ctx: _Context) -> None:
        name_token, value = node.target, node.value
        self.visit(value, ctx)
        name = name_token.name
        if "." in name:
            self.report(
                ERROR,
                "malformed",
                f"set cannot assign an attribute: (set {name} ...) fails with 'undefined symbol {name}'",
                ctx.unit,
                _offset(node),
            )
            return
        self.read(name, name_token, ctx, write=True)

    def b_let(self, node: syntax.Let, ctx: _Context) -> None:
        unit = ctx.unit
        scope: dict[str, _Binding] = {}
        ctx.scopes.append(scope)
        for target, value in node.bindings:
            self.visit(value, ctx)  # inside the new scope, after the bindings before it
            if target.name in scope:
                self.report(
                    WARNING, "duplicate-binding",
                    f"'{target.name}' is bound twice in this let: the first binding wins",
                    unit, _offset(target),
                )
                continue
            self.bind(ctx, _Binding(target.name, "let", unit, _offset(target), node, function=ctx.function), scope)
        failure = node.failure
        if failure is not None:  # the let fails here: its body never runs
            if isinstance(failure, syntax.NotAPair):
                message = f"{syntax.NOT_PAIRS}: {_text(failure, 30)} is not (name value)"
            else:
                message = f"{syntax.NOT_A_SYMBOL}: {render(failure.name, 30)} is not a name"
            self.report(ERROR, "malformed", message, unit, _offset(failure))
            ctx.scopes.pop()
            return
        self.values(node.body, ctx)
        ctx.scopes.pop()

    def let_without_list(self, node: syntax.LetWithoutList, ctx: _Context) -> None:
        self.report(ERROR, "malformed", syntax.NOT_A_LIST, ctx.unit, _offset(node.origin[1]))

    def b_with(self, node: syntax.With, ctx: _Context) -> None:
        self.read(node.iterable.name, node.iterable, ctx)
        scope: dict[str, _Binding] = {}
        ctx.scopes.append(scope)
        variable = node.variable
        self.bind(
            ctx, _Binding(variable.name, "with", ctx.unit, _offset(variable), node, function=ctx.function), scope
        )
        self.visit(node.body, ctx)
        ctx.scopes.pop()

    def b_if(self, node: syntax.If, ctx: _Context) -> None:
        self.visit(node.condition, ctx)
        saved = ctx.branch
        for index, branch in enumerate((node.then, node.otherwise)):
            ctx.branch = saved + ((id(node), index),)
            self.visit(branch, ctx)
        ctx.branch = saved

    def b_variadic(self, node: syntax.Variadic, ctx: _Context) -> None:
        if node.name == "and":
            self.no_short_circuit(node, node.args, ctx, "and", "valid")
        elif node.name == "or":
            self.no_short_circuit(node, node.args, ctx, "or", "null")
        self.values(node.args, ctx)

    def no_short_circuit(
        self, node: syntax.Variadic, args: list[syntax.Expr], ctx: _Context, name: str, guard: str
    ) -> None:
        """``(and (valid x) (< x 1))`` does not protect the comparison: all are evaluated."""
        guarded: set[str] = set()
        for arg in args:
            if guarded:
                for symbol in _symbols(arg.origin):
                    if any(symbol == g or symbol.startswith(g + ".") for g in guarded):
                        self.report(
                            WARNING,
                            "no-short-circuit",
                            f"'{name}' evaluates all its arguments: the ({guard} ...) test does not keep "
                            f"the later ones from using '{symbol}' when it is nil; nest an "
                            f"(if ({guard} ...) ... 0) instead",
                            ctx.unit,
                            _offset(node),
                        )
                        return
            if isinstance(arg, syntax.Variadic) and arg.name == guard:
                guarded.update(t.value for t in arg.origin[1:] if _is_symbol(t))

    # ## User functions

    def user_call(self, name: str, node: syntax.Call, args: list[syntax.Expr], ctx: _Context) -> None:
        unit, offset = ctx.unit, _offset(node)
        self.sites.append(
            _CallSite(ctx.function, name, unit, offset, len(args), self.visible_locals(ctx), (unit, offset))
        )
        params = self.params_of.get(name) or []
        # upstream binds the parameters one by one inside the callee's new scope, each
        # argument evaluated after the parameters before it are bound
        scope: dict[str, _Binding] = {}
        ctx.scopes.append(scope)
        owner = _Function(name, unit, node, None, None, None, ())
        for index, arg in enumerate(args):
            self.visit(arg, ctx)
            param = params[index] if index < len(params) else None
            if isinstance(param, syntax.Symbol) and param.name not in scope:
                scope[param.name] = _Binding(param.name, "callee-param", unit, offset, function=owner, used=True)
        ctx.scopes.pop()

    # ## Whole-program resolution

    def resolve(self) -> None:
        dynamic, earliest = self.dynamic_scopes()
        self.resolve_top_level()
        self.resolve_calls(earliest)
        for function in self.functions:
            self.resolve_free(function, dynamic.get(function.name, {}), earliest.get(function.name))
        self.report_unused()

    def dynamic_scopes(self) -> tuple[dict[str, dict[str, list[_Binding]]], dict[str, Time]]:
        """What callers bind around each function, and when it first runs (fixed point)."""
        dynamic: dict[str, dict[str, list[_Binding]]] = defaultdict(dict)
        earliest: dict[str, Time] = {}
        changed = True
        while changed:
            changed = False
            for site in self.sites:
                if site.callee not in self.by_name:
                    continue
                incoming: dict[str, list[_Binding]] = {}
                if site.caller is not None:
                    incoming.update((n, list(bs)) for n, bs in dynamic[site.caller.name].items())
                for name, binding in site.visible.items():
                    incoming[name] = [binding]
                env = dynamic[site.callee]
                for name, bindings in incoming.items():
                    known = env.setdefault(name, [])
                    for binding in bindings:
                        if not any(b is binding for b in known):
                            known.append(binding)
                            changed = True
                start = site.time if site.caller is None else earliest.get(site.caller.name)
                if start is not None and (site.callee not in earliest or start < earliest[site.callee]):
                    earliest[site.callee] = start
                    changed = True
        return dynamic, earliest

    def resolve_top_level(self) -> None:
        if self.incomplete:
            return
        for name, unit, offset, write, nearby in self.unbound:
            later = self.root.get(name)
            if later is not None and later.kind == "global":
                later.used = later.used or not write
                detail = f": it is defined only later, at {self.where(later.unit, later.offset, unit)}"
            elif name in self.function_names:
                detail = f": '{name}' is a function, and functions are not values"
            else:
                detail = _suggest(name, list(nearby) + list(self.root))
            verb = "set" if write else "read"
            self.report(ERROR, "undefined-symbol", f"undefined symbol '{name}' {verb} here{detail}", unit, offset)

    def resolve_calls(self, earliest: dict[str, Time]) -> None:
        for site in self.sites:
            definitions = self.by_name.get(site.callee)
            if not definitions:
                continue
            function = definitions[-1]
            line = self.line_of(site.unit, site.offset)
            if function.params is not None and len(function.params) != site.nargs:
                self.report(
                    ERROR,
                    "arity",
                    f'Function "{site.callee}" invoked with incorrect arity on line {line}: it takes '
                    f"{len(function.params)} argument{'s' if len(function.params) != 1 else ''}, not {site.nargs}",
                    site.unit,
                    site.offset,
                )
            if self.incomplete:
                continue
            times = [d.time for d in definitions if d.time is not None]
            if len(times) != len(definitions) or not times:
                continue  # defined inside a function: when is not known statically
            runs_at = site.time if site.caller is None else earliest.get(site.caller.name)
            if runs_at is not None and runs_at < min(times):
                first = definitions[times.index(min(times))]
                self.report(
                    ERROR,
                    "call-before-definition",
                    f"'{site.callee}' is called before its definition "
                    f"({self.where(first.unit, _offset(first.node), site.unit)}) has run (KeyError when evaluated)",
                    site.unit,
                    site.offset,
                )

    def resolve_free(self, function: _Function, callers: dict[str, list[_Binding]], runs_at: Time | None) -> None:
        reported: set[tuple[str, bool]] = set()
        for ref in function.free:
            key = (ref.name, ref.write)
            outer = callers.get(ref.name, [])
            glob = self.root.get(ref.name)
            if outer:
                if not ref.write:
                    for binding in outer:
                        binding.used = True
                    if glob is not None:
                        glob.used = True
                if key in reported:
                    continue
                reported.add(key)
                self.dynamic_scope_warning(function, ref, outer, glob)
            elif glob is not None:
                if not ref.write:
                    glob.used = True
                if (
                    not self.incomplete
                    and glob.kind == "global"
                    and runs_at is not None
                    and glob.time > runs_at
                    and key not in reported
                ):
                    reported.add(key)
                    self.report(
                        ERROR,
                        "used-before-definition",
                        f"function '{function.name}' uses '{ref.name}', but it first runs "
                        f"({self.where(runs_at[0], runs_at[1], ref.unit)}) before '{ref.name}' is defined "
                        f"({self.where(glob.unit, glob.offset, ref.unit)})",
                        ref.unit,
                        ref.offset,
                    )
            elif not self.incomplete and key not in reported:
                reported.add(key)
                if ref.name in self.function_names:
                    detail = f": '{ref.name}' is a function, and functions are not values"
                else:
                    detail = _suggest(ref.name, list(ref.nearby) + list(self.root) + list(callers))
                verb = "sets" if ref.write else "reads"
                self.report(
                    ERROR,
                    "undefined-symbol",
                    f"undefined symbol '{ref.name}': function '{function.name}' {verb} it, and neither the "
                    f"function, its callers nor the top level bind it{detail}",
                    ref.unit,
                    ref.offset,
                )

    def dynamic_scope_warning(
        self, function: _Function, ref: _FreeRef, outer: list[_Binding], glob: _Binding | None
    ) -> None:
        sources = "; ".join(self.describe_binding(b, ref.unit) for b in outer[:3])
        if len(outer) > 3:
            sources += f"; and {len(outer) - 3} more"
        verb, does = ("sets", "changes") if ref.write else ("reads", "sees")
        instead = f" instead of the global '{ref.name}'" if glob is not None and glob.kind != "predefined" else ""
        message = (
            f"function '{function.name}' {verb} '{ref.name}' without binding it, so it {does} its "
            f"caller's '{ref.name}'{instead} (dynamic scoping): {sources}"
        )
        unused = [b.name for b in function.param_bindings if not b.used]
        match = difflib.get_close_matches(ref.name, unused, n=1, cutoff=0.75)
        if match:
            message += f"; is parameter '{match[0]}' a misspelling of '{ref.name}'?"
        self.report(WARNING, "dynamic-scope", message, ref.unit, ref.offset)

    def report_unused(self) -> None:
        for binding in self.bindings:
            if binding.used or binding.name.startswith("_"):
                continue
            where = (binding.unit, binding.offset)
            if binding.kind == "global":
                if self.incomplete or isinstance(binding.value, syntax.Atom):
                    # a constant is a tunable: a parameters policy (vdsm's
                    # setNamedPolicy) may set it, and others may read it
                    continue
                self.report(NOTE, "unused-global", f"'{binding.name}' is computed but never read", *where)
            elif binding.kind == "param":
                owner = binding.function.name if binding.function else "?"
                self.report(
                    WARNING, "unused-variable", f"parameter '{binding.name}' of '{owner}' is never read", *where
                )
            elif binding.kind == "with":
                self.report(WARNING, "unused-variable", f"loop variable '{binding.name}' is never read", *where)
            else:
                self.report(
                    WARNING, "unused-variable", f"variable '{binding.name}' is bound but never read", *where
                )
        if self.incomplete:
            return
        called = {site.callee for site in self.sites}
        for name, definitions in self.by_name.items():
            if name not in called:
                first = definitions[0]
                self.report(
                    NOTE, "unused-function", f"function '{name}' is never called", first.unit, _offset(first.node)
                )


def lint(units: Sequence[tuple[str, ReadResult | None]]) -> list[Diagnostic]:
    """Check policy texts as one program, in order; ``units`` are (file name, read result).

    A unit whose text did not parse is given as None: names it would define are
    unknown, so checks that need every definition are skipped.  The diagnostics come
    sorted by unit and position.
    """
    linter = _Linter(units)
    linter.top_level()
    linter.resolve()
    unique = dict.fromkeys(linter.diagnostics)  # (in order, each once)
    return sorted(unique, key=lambda d: (d.unit, d.offset))


#: the check of each well-formed builtin with more to check than its arguments
_CHECKS: dict[type, Callable[[_Linter, Any, _Context], None]] = {
    syntax.Def: _Linter.b_def,
    syntax.Defvar: _Linter.b_defvar,
    syntax.Set: _Linter.b_set,
    syntax.Let: _Linter.b_let,
    syntax.LetWithoutList: _Linter.let_without_list,
    syntax.With: _Linter.b_with,
    syntax.If: _Linter.b_if,
    syntax.Variadic: _Linter.b_variadic,
}
