"""The evaluator: the runtime state one evaluation of a policy works on.

An :class:`Evaluator` is the variable stack (dynamic scopes), the global table of user
functions, and the budgets that stop a runaway policy.  It keeps upstream's interface
(``Evaluator()``, ``.stack.set(name, value, True)``, ``.funcs``) so upstream's parser
tests drive it unchanged; upstream's ``.eval(code)``, which compiles, is added by the
shim :mod:`mom.Policy.Parser` (this module sits below the compilers that run on it).
"""

from __future__ import annotations

from typing import Any

from mom.dsl.builtins import SHADOWABLE, STACK_FUNCTIONS
from mom.dsl.limits import DEFAULT_LIMITS, Limits, step_limit_error
from mom.dsl.reader import OPERATOR_NAMES
from mom.dsl.scope import VariableStack
from mom.errors import PolicyError

__all__ = ["Evaluator"]


class Evaluator(VariableStack):
    """Variables, functions and budgets of one evaluation."""

    __slots__ = ("funcs", "limits", "steps_left", "calls", "max_call_depth", "shadowing")

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        super().__init__()
        #: user functions (:class:`mom.dsl.support.UserFunction`) by name, global
        #: whatever scope ``def`` ran in
        self.funcs: dict[str, Any] = {}
        self.limits = limits
        self.steps_left = limits.max_steps
        #: user-function calls in progress
        self.calls = 0
        self.max_call_depth = limits.max_call_depth
        #: True once a builtin's name was bound as a variable; calls then check
        self.shadowing = False
        for name, function in STACK_FUNCTIONS.items():
            self.bind(name, function)

    @property
    def stack(self) -> Evaluator:
        """Upstream's ``evaluator.stack``: the evaluator is its own variable stack."""
        return self

    def set(self, name: str, value: Any, alloc: bool = False) -> Any:
        """Upstream's ``stack.set``; binding a builtin's name makes calls check variables.

        (Compiled policies bind through :meth:`bind` and flag such names themselves.)
        """
        if alloc and name in SHADOWABLE:
            self.shadowing = True
        return super().set(name, value, alloc)

    def get_operators(self) -> list[str]:
        """Upstream's operator keys: the symbolic ones and the word ones."""
        return list(OPERATOR_NAMES) + ["and", "or", "not", "min", "max", "null", "valid"]

    def reset_budget(self) -> None:
        self.steps_left = self.limits.max_steps
        self.calls = 0

    def step_limit_error(self) -> PolicyError:
        return step_limit_error(self.limits)
