"""Run-time support for compiled policies: what generated code calls besides operators.

The compiler (:mod:`mom.dsl.compiler`) turns each form into a Python expression.
Operators, comparisons, ``if``, ``not`` and variable loads become inline Python;
everything with more to do (calls, scopes, loops, checked arithmetic) is a helper
here.  Helpers receive the :class:`~mom.dsl.evaluator.Evaluator` as ``ev``.
"""

from __future__ import annotations

from typing import Any, Callable

from mom.dsl.builtins import (
    SEQUENCE_TYPES,
    SHADOWABLE,
    c_and,
    c_max,
    c_min,
    c_null,
    c_or,
    c_valid,
    check_length,
    checked_mul,
    checked_shl,
)
from mom.dsl.evaluator import Evaluator
from mom.dsl.limits import call_depth_error
from mom.dsl.sandbox import MISSING
from mom.errors import PolicyError

__all__ = [
    "Site", "UserFunction", "LetSpec", "WithSpec", "NAMESPACE", "function_arity_error", "params_not_a_list_error",
    "unresolved",
]  # fmt: skip

Function = Callable[[Evaluator], Any]


def unresolved(ev: Evaluator) -> Any:
    """The body of a spec until the compiler binds the function it generated for it."""
    raise AssertionError("a compiled body was never bound")


class Site:
    """A call form: its name, line and argument functions (generated on demand).

    A call site evaluates its arguments as separate functions only when it has to:
    when the name turns out to be a user function (arguments are evaluated inside the
    new scope) or a variable shadowing a builtin.  ``make`` builds them the first
    time; the compiler supplies it.
    """

    __slots__ = ("name", "line", "arguments", "make")

    def __init__(self, name: str, line: int | None, make: Callable[[], list[Function]]) -> None:
        self.name = name
        self.line = line
        #: the argument functions once made, else None
        self.arguments: list[Function] | None = None
        self.make = make

    def argument_functions(self) -> list[Function]:
        arguments = self.arguments
        if arguments is None:
            arguments = self.arguments = self.make()
        return arguments


class UserFunction:
    """A function defined by ``def``: its parameters and its compiled body."""

    __slots__ = ("name", "nparams", "binders", "body", "params_type")

    def __init__(
        self,
        name: str,
        nparams: int | None,
        binders: list[tuple[str, bool] | Callable[[], BaseException]],
        body: Function,
        params_type: str = "Token",
    ) -> None:
        self.name = name
        #: what upstream's len() of a parameter "list" that is a token names
        self.params_type = params_type
        #: None when the parameter list is not a list (upstream fails when called)
        self.nparams = nparams
        #: per parameter: (name, whether it shadows a builtin), or an error factory
        self.binders = binders
        self.body = body


class LetSpec:
    """A ``let`` form: binding steps (name and value function, or an error) and body."""

    __slots__ = ("steps", "body")

    def __init__(self, steps: list[tuple[str, bool, Function] | Callable[[], BaseException]], body: Function) -> None:
        self.steps = steps
        self.body = body


class WithSpec:
    """A ``with`` form: the iterable's name, the loop variable and the body."""

    __slots__ = ("iterable", "variable", "shadows", "body")

    def __init__(self, iterable: str, variable: str, body: Function) -> None:
        self.iterable = iterable
        self.variable = variable
        self.shadows = variable in SHADOWABLE
        self.body = body


# ## Failing


def fail(factory: Callable[[], BaseException]) -> Any:
    """Raise a fresh exception from ``factory`` (static errors surface at run time)."""
    raise factory()


def params_not_a_list_error(params_type: str) -> TypeError:
    """A call of a function whose parameter list is a token: upstream's len() of it."""
    return TypeError(f"object of type {params_type!r} has no len()")


def function_arity_error(name: str, line: int | None) -> PolicyError:
    """A user function called with the wrong number of arguments (upstream's text:
    without a line, formatting it fails with TypeError as upstream's does)."""
    return PolicyError('Function "%s" invoked with incorrect arity on line %d' % (name, line), line=line)  # type: ignore[str-format]


# ## Names


def load_attribute(ev: Evaluator, name: str, line: int | None) -> Any:
    """``obj.attr`` when the innermost binding has no such public data value."""
    return ev.get(name, line=line)


def method(ev: Evaluator, current: dict[str, Any], head: str, attr: str, name: str) -> Any:
    """What a call head ``obj.attr`` names (``guest.Control``), or None."""
    methods = getattr(current.get(head), "_policy_methods", None)
    if methods is not None and attr in methods:
        return getattr(current[head], attr)
    return ev.get(name, allow_undefined=True)


def bind_shadowing(ev: Evaluator, name: str, value: Any) -> Any:
    """``defvar`` of a builtin's name: from now on calls check for variables."""
    ev.shadowing = True
    return ev.bind(name, value)


# ## Calls


def apply(ev: Evaluator, function: Any, site: Site) -> Any:
    """Call a variable's value with every argument evaluated, as upstream does."""
    return function(*[argument(ev) for argument in site.argument_functions()])


def invoke(ev: Evaluator, name: str, site: Site) -> Any:
    """Call a user function: upstream rewrites ``(f a b)`` to ``(let ((p1 a) (p2 b)) body)``.

    So each argument is evaluated inside the new scope, after the parameters before
    it were bound (let* semantics, which upstream's own tests rely on).
    """
    function = ev.funcs.get(name)
    if function is None:
        raise KeyError(name)
    arguments = site.arguments or site.argument_functions()
    nparams = function.nparams
    if nparams != len(arguments):
        if nparams is None:
            raise params_not_a_list_error(function.params_type)
        raise function_arity_error(name, site.line)
    ev.steps_left -= 1
    calls = ev.calls
    if ev.steps_left < 0:
        raise ev.step_limit_error()
    if calls >= ev.max_call_depth:
        raise call_depth_error(ev.limits, name)
    ev.calls = calls + 1
    scope: dict[str, Any] = {}
    scopes = ev._scopes
    scopes.append(scope)
    current = ev.current
    for binder, argument in zip(function.binders, arguments):
        if callable(binder):
            raise binder()
        param, shadows = binder
        value = argument(ev)
        if param not in scope:
            scope[param] = current.get(param, MISSING)
            current[param] = value
            if shadows:
                ev.shadowing = True
    result = function.body(ev)
    ev.leave_scope()  # (on error upstream leaves the scope on the stack, and so do we)
    ev.calls = calls
    return result


# ## Special forms


def define(ev: Evaluator, function: UserFunction) -> str:
    ev.funcs[function.name] = function
    return function.name


def let(ev: Evaluator, spec: LetSpec) -> Any:
    ev.enter_scope()
    for step in spec.steps:
        if callable(step):
            raise step()
        name, shadows, value = step
        if shadows:
            ev.shadowing = True
        ev.bind(name, value(ev))
    result = spec.body(ev)
    ev.leave_scope()
    return result


def with_(ev: Evaluator, spec: WithSpec) -> list[Any]:
    """A scope per item binding the loop variable; the list of the body's values.

    A scope the body bound nothing else in is the next item's scope as it stands
    (leaving it and entering a fresh one would only put the outer binding back for
    the next item to shadow it again); one the body bound more names in is left.
    On error upstream leaves the scope on the stack, and so do we.
    """
    # upstream looks the iterable up without a line number, so an undefined one fails
    # while formatting its message: TypeError, not PolicyError
    iterable = ev.get(spec.iterable, line=None)
    variable, shadows, body = spec.variable, spec.shadows, spec.body
    results = []
    scopes = ev._scopes
    current = ev.current
    # the body cannot change the outer binding (set and defvar reach the loop's)
    outer = current.get(variable, MISSING)
    scope = None  # this loop's scope while it is on the stack
    for item in iterable:
        steps_left = ev.steps_left = ev.steps_left - 1
        if steps_left < 0:
            raise ev.step_limit_error()
        if scope is None:
            scope = {variable: outer}
            scopes.append(scope)
        current[variable] = item
        if shadows:
            ev.shadowing = True
        results.append(body(ev))
        if len(scope) != 1:
            ev.leave_scope()
            scope = None
    if scope is not None:
        ev.leave_scope()
    return results


# ## Checked arithmetic (results of a correct policy unchanged; runaway sizes refused)


def multiply(ev: Evaluator, a: Any, b: Any) -> Any:
    return checked_mul(a, b, ev.limits)


def shift_left(ev: Evaluator, a: Any, b: Any) -> Any:
    return checked_shl(a, b, ev.limits)


#: the names generated code sees as globals, besides its constants
NAMESPACE: dict[str, Any] = {
    "__builtins__": {},
    "MISSING": MISSING,
    "_EMPTY": {},
    "_NO_METHODS": frozenset(),
    "_SEQUENCES": SEQUENCE_TYPES,
    "_fail": fail,
    "_attr": load_attribute,
    "_method": method,
    "_bind_shadowing": bind_shadowing,
    "_apply": apply,
    "_invoke": invoke,
    "_define": define,
    "_let": let,
    "_with": with_,
    "_check_length": check_length,
    "_multiply": multiply,
    "_shift_left": shift_left,
    "_and": c_and,
    "_or": c_or,
    "_valid": c_valid,
    "_null": c_null,
    "_min": c_min,
    "_max": c_max,
    "type": type,
    "float": float,
    "getattr": getattr,
}
