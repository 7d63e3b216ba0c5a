"""What a policy may reach through ``obj.attr``: the sandbox.

Upstream resolves ``x.y`` with ``getattr`` on anything, so a policy could walk
``Host.Stat.__func__.__globals__`` to ``__import__`` and run any Python (spec 5.7).
Here an object shows a policy only what it declares, and never a name that starts
with ``_``:

- ``_policy_values``: a dict of the data attributes policies may read (an entity's
  statistics, an IO tune's limits);
- ``_policy_methods``: names of the methods policies may call (``Stat``, ``Control``);
- ``_policy_attribute(name)``: for anything more dynamic, a method returning the
  value or :data:`MISSING`.

Plain values (numbers, strings, lists, dicts, functions) declare nothing and expose
no attributes at all.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MISSING", "policy_getattr"]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


#: "no such attribute / binding" (None is a legitimate policy value)
MISSING: Any = _Missing()


def policy_getattr(obj: Any, name: str) -> Any:
    """``getattr`` as a policy may do it: the value, or :data:`MISSING`."""
    if not name or name[0] == "_":
        return MISSING
    values = getattr(obj, "_policy_values", None)
    if values is not None:
        value = values.get(name, MISSING)
        if value is not MISSING:
            return value
    methods = getattr(obj, "_policy_methods", None)
    if methods is not None and name in methods:
        return getattr(obj, name)
    hook = getattr(type(obj), "_policy_attribute", None)
    if hook is not None:
        return hook(obj, name)
    return MISSING
