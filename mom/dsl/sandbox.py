"""What a policy may reach through ``obj.attr``: the sandbox.

Upstream resolves ``x.y`` with ``getattr`` on anything, so a policy could walk
``Host.Stat.__func__.__globals__`` to ``__import__`` and run any Python (spec 5.7).
Here no object shows a name that starts with ``_``, and:

- **our own objects** (entities, rows, IO-tune records and their value bags: their
  class declares one of the hooks below) show a policy only what they declare:

  - ``_policy_values``: a dict of the data attributes policies may read (an entity's
    statistics, an IO tune's limits);
  - ``_policy_methods``: names of the methods policies may call (``Stat``, ``Control``);
  - ``_policy_attribute(name)``: for anything more dynamic, a method returning the
    value or :data:`MISSING`;
  - ``_policy_kind`` alone (the daemon's guest set) declares nothing readable;

- **foreign objects** (anything else: an integrator's object put on the evaluator's
  stack through upstream's Parser API, a string, a number, the list a ``with``
  returns) show their public attributes, properties and methods as upstream does,
  except what reaches code or frames: the names in :data:`DENIED`, every attribute of
  a type, module, code object, frame, traceback, cell or generator, and values that
  are such objects or functions of a module (``builtins.eval``, ``os.system``).
  (A method's result is not measured against the size limits; the methods that
  make a result of any asked size are denied.)
"""

from __future__ import annotations

import functools
import types
from typing import Any

__all__ = ["MISSING", "DENIED", "policy_getattr"]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


#: "no such attribute / binding" (None is a legitimate policy value)
MISSING: Any = _Missing()

#: the hooks whose presence on a class makes its objects "ours": declared-only
_DECLARATIONS = ("_policy_kind", "_policy_values", "_policy_methods", "_policy_attribute")

#: public names no object shows: each leads to code, frames, or an attribute walk past
#: the underscore rule (``"{0.__class__}".format(x)``)
DENIED = frozenset(
    {
        # format strings read any attribute, underscored ones included
        "format", "format_map",
        # types
        "mro",
        # generators, coroutines and async generators: their frames and code
        "gi_frame", "gi_code", "gi_yieldfrom", "gi_running", "gi_suspended",
        "cr_frame", "cr_code", "cr_await", "cr_origin", "cr_running", "cr_suspended",
        "ag_frame", "ag_code", "ag_await", "ag_running",
        # frames, tracebacks, closures and exceptions
        "f_globals", "f_locals", "f_builtins", "f_back", "f_code", "f_trace",
        "tb_frame", "tb_next", "cell_contents", "with_traceback",
        # Python 2's spellings of the dunder attributes of functions and methods
        "func_globals", "func_code", "func_closure", "func_defaults", "func_dict",
        "im_func", "im_self", "im_class",
        # properties and descriptors: the functions behind them
        "fget", "fset", "fdel", "getter", "setter", "deleter",
        # a string's, bytes' or int's methods that make a result as long as a number
        # says (("a".center 10**12)): the language's size limits (mom.dsl.limits) hold
        "center", "ljust", "rjust", "zfill", "expandtabs", "to_bytes",
        # and those that grow a value past the size limits from small arguments
        # (replacing a character of a long string by that string, twice, is gigabytes;
        # a list extended by itself in a loop doubles each time)
        "replace", "join", "translate", "extend", "append", "insert",
    }
)  # fmt: skip

#: objects whose attributes are never shown, and values never handed out
_SEALED_TYPES = (
    type,
    types.ModuleType,
    types.CodeType,
    types.FrameType,
    types.TracebackType,
    types.CellType,
    types.GeneratorType,
    types.CoroutineType,
    types.AsyncGeneratorType,
)


def _declares(kind: type) -> bool:
    """Whether objects of ``kind`` are ours (see the module's doc)."""
    return any(hasattr(kind, hook) for hook in _DECLARATIONS)


def _handed_out(value: Any) -> bool:
    """Whether an attribute's value may reach a policy."""
    if isinstance(value, _SEALED_TYPES):
        return False
    # a builtin function of a module (builtins.eval, os.system) carries the module as
    # __self__; a bound method of a string or list carries that object instead
    if isinstance(value, types.BuiltinFunctionType) and isinstance(value.__self__, types.ModuleType):
        return False
    # nor a plain function or a partial kept as an attribute (os.popen, subprocess.run,
    # functools.partial(os.system)): only methods bound to an object reach a policy
    if isinstance(value, (types.FunctionType, functools.partial)):
        return False
    return True


def policy_getattr(obj: Any, name: str) -> Any:
    """``getattr`` as a policy may do it: the value, or :data:`MISSING`."""
    if not name or name[0] == "_":
        return MISSING
    kind = type(obj)
    if not _declares(kind):
        return _foreign_getattr(obj, name)
    values = getattr(obj, "_policy_values", None)
    if values is not None:
        value = values.get(name, MISSING)
        if value is not MISSING:
            return value
    methods = getattr(obj, "_policy_methods", None)
    if methods is not None and name in methods:
        return getattr(obj, name)
    hook = getattr(kind, "_policy_attribute", None)
    if hook is not None:
        return hook(obj, name)
    return MISSING


def _foreign_getattr(obj: Any, name: str) -> Any:
    """Upstream's ``hasattr``/``getattr`` on an object that declares nothing.

    As upstream's ``hasattr``, only AttributeError means "no such attribute": anything
    else a property raises reaches the policy.
    """
    if name in DENIED or isinstance(obj, _SEALED_TYPES):
        return MISSING
    try:
        value = getattr(obj, name)
    except AttributeError:
        return MISSING
    return value if _handed_out(value) else MISSING
