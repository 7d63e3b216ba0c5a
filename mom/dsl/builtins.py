"""The builtins of the policy language: their argument kinds and their value semantics.

Upstream declares each builtin's arguments in a doc string of the words ``symbol``
(a symbol token, passed as its name), ``code`` (passed unevaluated), ``value``
(evaluated) and ``...`` (the previous kind repeats), and re-parses that doc string on
every call.  Here the table is parsed once, at import.  Error messages name the
upstream implementation function (``c_def`` also for ``defun``), as upstream's do.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from mom.dsl.limits import Limits
from mom.dsl.reader import Token
from mom.errors import PolicyError

__all__ = [
    "BuiltinSpec",
    "BUILTINS",
    "SHADOWABLE",
    "STACK_FUNCTIONS",
    "arity_error",
    "call_error",
    "call_message",
    "non_symbol_argument",
    "c_and",
    "c_or",
    "c_null",
    "c_valid",
    "c_min",
    "c_max",
    "debug",
    "SEQUENCE_TYPES",
    "check_length",
    "checked_add",
    "checked_mul",
    "checked_shl",
]

debug_logger = logging.getLogger("mom.Evaluator")


@dataclass(frozen=True)
class BuiltinSpec:
    """How a builtin takes its arguments."""

    name: str
    impl_name: str
    #: kinds of the required arguments, in order
    kinds: tuple[str, ...]
    #: the kind that repeats after the required ones, or None for a fixed arity
    rest: str | None
    #: positions that must be a bare symbol (required ones only: no builtin repeats
    #: ``symbol``)
    symbol_arguments: tuple[int, ...]
    #: the number of required arguments (``len(kinds)``)
    required: int


def _spec(name: str, impl: str, doc: str) -> BuiltinSpec:
    words = doc.split()
    rest = None
    if words and words[-1] == "...":
        words.pop()
        # "value ..." repeats value; a lone "..." means "evaluate them all"
        rest = words[-1] if words else "value"
    symbols = tuple(index for index, kind in enumerate(words) if kind == "symbol")
    return BuiltinSpec(name, impl, tuple(words), rest, symbols, len(words))


_TABLE = [
    ("def", "c_def", "symbol code code"),
    ("defun", "c_def", "symbol code code"),
    ("defvar", "c_defvar", "symbol value"),
    ("set", "c_set", "symbol value"),
    ("setq", "c_set", "symbol value"),
    ("let", "c_let", "code code ..."),
    ("with", "c_with", "symbol symbol code"),
    ("if", "c_if", "value code code"),
    ("add", "c_add", "value value"),
    ("sub", "c_sub", "value value"),
    ("mul", "c_mul", "value value"),
    ("div", "c_div", "value value"),
    ("lt", "c_lt", "value value"),
    ("gt", "c_gt", "value value"),
    ("lte", "c_lte", "value value"),
    ("gte", "c_gte", "value value"),
    ("eq", "c_eq", "value value"),
    ("neq", "c_neq", "value value"),
    ("shl", "c_shl", "value value"),
    ("shr", "c_shr", "value value"),
    ("and", "c_and", "value ..."),
    ("or", "c_or", "value ..."),
    ("not", "c_not", "value"),
    ("min", "c_min", "value ..."),
    ("max", "c_max", "value ..."),
    ("null", "c_null", "..."),
    ("valid", "c_valid", "..."),
]

#: builtin name -> spec
BUILTINS: dict[str, BuiltinSpec] = {name: _spec(name, impl, doc) for name, impl, doc in _TABLE}

#: names whose binding as a variable changes what a call means (upstream looks up
#: variables before builtins, so ``(defvar add 5)`` breaks ``+``); ``eval`` is no
#: builtin, but upstream's default handler, and a variable takes it over too
SHADOWABLE = frozenset(BUILTINS) | {"eval"}


def arity_error(spec: BuiltinSpec, nargs: int, line: int | None) -> PolicyError | None:
    """Upstream's arity message for a call with ``nargs`` arguments, or None if fine."""
    if spec.rest is None:
        if nargs != spec.required:
            return PolicyError(
                "arity mismatch in doc parsing of '%s' on line %d" % (spec.impl_name, line),  # type: ignore[str-format]
                line=line,
            )
    elif nargs < spec.required:
        return PolicyError(
            "not enough arguments for '%s' on line %d" % (spec.impl_name, line),  # type: ignore[str-format]
            line=line,
        )
    return None


def non_symbol_argument(spec: BuiltinSpec, args: Sequence[Any]) -> int | None:
    """The first position that must be a bare symbol and is not, or None."""
    for index in spec.symbol_arguments:
        arg = args[index]
        if not (isinstance(arg, Token) and arg.kind == "symbol"):
            return index
    return None


def call_error(spec: BuiltinSpec, args: Sequence[Any], line: int | None) -> PolicyError | None:
    """Upstream's error for calling the builtin with these argument forms, or None.

    The arity first, then the arguments that must be symbols (``malformed expression``).
    Both are plain from the text, so the compilers and the linter decide them once.
    """
    nargs = len(args)
    if (nargs == spec.required or (nargs > spec.required and spec.rest is not None)) and not spec.symbol_arguments:
        return None  # the usual case, first: the front end asks for every builtin form
    error = arity_error(spec, nargs, line)
    if error is None and spec.symbol_arguments and non_symbol_argument(spec, args) is not None:
        error = PolicyError("malformed expression on line %d" % line, line=line)  # type: ignore[str-format]
    return error


# ## Value semantics shared by both implementations


def c_and(*args: Any) -> Any:
    """First falsy argument, else the last (every argument was already evaluated)."""
    for value in args:
        if not value:
            return value
    return args[-1]


def c_or(*args: Any) -> Any:
    """First truthy argument, else the last."""
    for value in args:
        if value:
            return value
    return args[-1]


def c_null(*args: Any) -> bool:
    """True if every argument is None or empty; an unsized value is not null."""
    for value in args:
        if value is None:
            continue
        try:
            if len(value) != 0:
                return False
        except TypeError:
            return False
    return True


def c_valid(*args: Any) -> bool:
    """True if no argument is None."""
    for value in args:
        if value is None:
            return False
    return True


def c_min(*args: Any) -> Any:
    return min(args)


def c_max(*args: Any) -> Any:
    return max(args)


def debug(*args: Any) -> Any:
    """Log the arguments on ``mom.Evaluator`` and return the last one."""
    debug_logger.debug("debug: %s", args)
    return args[-1]


def abs_(x: Any) -> Any:
    """Python's abs, as a function of upstream's name: an error names it as upstream's
    (``ExternalFunctions.abs() missing 1 required positional argument: 'x'``, a
    comparison with it ``'function'``)."""
    return abs(x)


# upstream's stack functions are static methods of its ExternalFunctions class
abs_.__name__ = "abs"
abs_.__qualname__ = "ExternalFunctions.abs"
debug.__qualname__ = "ExternalFunctions.debug"

def call_message(function: Callable[..., Any], nargs: int) -> str:
    """The TypeError text of calling ``function`` with ``nargs`` arguments, as Python
    words it (for the linter; empty if the call is fine)."""
    try:
        function(*[0] * nargs)
    except TypeError as error:
        return str(error)
    return ""


#: functions every evaluator puts in its root scope, called like variables
STACK_FUNCTIONS: dict[str, Callable[..., Any]] = {"abs": abs_, "debug": debug}


# ## Arithmetic with size limits: the results a correct policy computes are unchanged,
# but a policy cannot build a number or string that exhausts memory.


def _too_large(what: str, limits: Limits) -> PolicyError:
    return PolicyError(
        f"{what} too large (limits: {limits.max_int_bits} bits, {limits.max_sequence_len} items)"
    )


#: the results whose length ``+`` checks
SEQUENCE_TYPES = frozenset({str, list, tuple})


def check_length(value: Any, limits: Limits) -> Any:
    """``value`` (a sequence ``+`` made), or PolicyError if it is past the size limit."""
    if len(value) > limits.max_sequence_len:
        raise PolicyError(f"value too large (limit {limits.max_sequence_len} items)")
    return value


def checked_add(a: Any, b: Any, limits: Limits) -> Any:
    """``a + b``; a string or list past the size limit is refused (repeated + doubles
    them), an int is not (it grows by one bit at most)."""
    result = a + b
    if type(result) in SEQUENCE_TYPES:
        return check_length(result, limits)
    return result


def checked_mul(a: Any, b: Any, limits: Limits) -> Any:
    ka, kb = type(a), type(b)
    if ka is float or kb is float:
        return a * b
    if ka is not int and isinstance(b, int) and hasattr(a, "__len__"):
        if len(a) * b > limits.max_sequence_len:
            raise _too_large("value", limits)
    elif kb is not int and isinstance(a, int) and hasattr(b, "__len__"):
        if len(b) * a > limits.max_sequence_len:
            raise _too_large("value", limits)
    result = a * b
    if type(result) is int and result.bit_length() > limits.max_int_bits:
        raise _too_large("integer", limits)
    return result


def checked_shl(a: Any, b: Any, limits: Limits) -> Any:
    if isinstance(a, int) and isinstance(b, int) and a and b > 0:
        if a.bit_length() + b > limits.max_int_bits:
            raise _too_large("integer", limits)
    return a << b
