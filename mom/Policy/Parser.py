"""oVirt MOM import path ``mom.Policy.Parser``. Implementation: :mod:`mom.dsl`."""

from __future__ import annotations

from typing import Any

from mom.dsl import evaluator as _evaluator
from mom.dsl.program import evaluate_expression, evaluate_text
from mom.dsl.reader import NumericToken, Token, read
from mom.dsl.scope import VariableStack
from mom.errors import PolicyError

__all__ = ["Evaluator", "PolicyError", "VariableStack", "Token", "NumericToken", "get_code", "eval"]


class Evaluator(_evaluator.Evaluator):
    """Upstream's ``Evaluator``: the evaluation state, and ``eval`` of one expression."""

    __slots__ = ()

    def eval(self, code: Any) -> Any:
        """Evaluate one expression (a token or a list, as the parser returns them)."""
        return evaluate_expression(self, code)


def get_code(evaluator: _evaluator.Evaluator, text: str) -> list[Any]:
    """Parse ``text`` into a list of expressions (tokens and nested lists)."""
    return read(text, evaluator.limits).forms


def eval(evaluator: _evaluator.Evaluator, text: str) -> list[Any]:  # noqa: A001  (upstream's name)
    """Parse and evaluate ``text``; one result per top-level expression."""
    return evaluate_text(evaluator, text)
