"""The policy language's variable stack: dynamic scoping by shallow binding.

Upstream keeps a list of dicts and walks it on every lookup.  Here the current binding
of every name sits in one dict (``current``), so a lookup is one dict access however
deep the call chain is; each scope remembers the bindings it shadowed and puts them
back when it is left.  What a policy can observe is the same: ``defvar`` binds in the
innermost scope unless the name is already there, ``set`` assigns the innermost
binding, a dotted name looks for the first binding that has the attribute.
"""

from __future__ import annotations

from typing import Any, Iterator

from mom.dsl.sandbox import MISSING, policy_getattr
from mom.errors import PolicyError

__all__ = ["VariableStack", "undefined_symbol", "unbound_assignment"]


def undefined_symbol(name: str, line: int | None) -> PolicyError:
    """Upstream's error for a name no scope holds (``%d`` of None fails as upstream's)."""
    return PolicyError("undefined symbol %s on line %d" % (name, line), line=line)  # type: ignore[str-format]


def unbound_assignment(name: str) -> PolicyError:
    """Upstream's error for ``set`` of a name no scope holds (it gives no line)."""
    return PolicyError("undefined symbol %s" % name)


class VariableStack:
    """Scopes of variables, innermost last; the root scope is never left."""

    __slots__ = ("current", "_scopes")

    def __init__(self) -> None:
        #: name -> its innermost binding
        self.current: dict[str, Any] = {}
        # per scope: name -> the binding it shadows (MISSING if none)
        self._scopes: list[dict[str, Any]] = [{}]

    # ## Scopes

    def enter_scope(self) -> None:
        self._scopes.append({})

    def leave_scope(self) -> None:
        """Leave the innermost scope: put back every binding it shadowed.

        The one way out of a scope (``let``, ``with``, user-function calls).  It runs
        once per loop iteration and call, and its scope usually holds one name (the
        loop variable), for which ``popitem`` is faster than iterating the items.
        """
        scope = self._scopes.pop()
        current = self.current
        while scope:
            name, shadowed = scope.popitem()
            if shadowed is MISSING:
                del current[name]
            else:
                current[name] = shadowed

    @property
    def depth(self) -> int:
        """Number of scopes, the root included."""
        return len(self._scopes)

    # ## Binding

    def bind(self, name: str, value: Any) -> Any:
        """Bind in the innermost scope unless it already binds ``name``; return the binding."""
        scope = self._scopes[-1]
        if name in scope:
            return self.current[name]
        scope[name] = self.current.get(name, MISSING)
        self.current[name] = value
        return value

    def assign(self, name: str, value: Any) -> Any:
        """Assign the innermost binding of ``name`` (upstream ``set`` without alloc)."""
        if name not in self.current:
            raise unbound_assignment(name)
        self.current[name] = value
        return value

    def set(self, name: str, value: Any, alloc: bool = False) -> Any:
        """Upstream's ``VariableStack.set``: ``alloc`` binds, otherwise assigns."""
        if alloc:
            return self.bind(name, value)
        return self.assign(name, value)

    # ## Lookup

    def get(self, name: str, allow_undefined: bool = False, line: int | None = None) -> Any:
        """Upstream's lookup, one level of ``obj.attr`` included.

        An undefined name raises ``undefined symbol`` unless ``allow_undefined``, in
        which case the result is None.
        """
        head, dot, attr = name.partition(".")
        if not dot:
            try:
                return self.current[name]
            except KeyError:
                pass
        else:
            attr = attr.partition(".")[0]  # upstream follows one level only
            for obj in self.bindings(head):
                value = policy_getattr(obj, attr)
                if value is not MISSING:
                    return value
        if allow_undefined:
            return None
        raise undefined_symbol(name, line)

    def bindings(self, name: str) -> Iterator[Any]:
        """Every binding of ``name``, innermost first."""
        value = self.current.get(name, MISSING)
        if value is MISSING:
            return
        for scope in reversed(self._scopes):
            if name in scope:
                yield value
                value = scope[name]
                if value is MISSING:
                    return

    def snapshot(self) -> dict[str, Any]:
        """The visible bindings, for debugging and the REPL."""
        return dict(self.current)
