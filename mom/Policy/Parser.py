"""oVirt MOM import path ``mom.Policy.Parser``. Implementation: :mod:`mom.dsl`."""

from __future__ import annotations

from typing import Any

from mom.dsl.evaluator import Evaluator
from mom.dsl.program import evaluate_text
from mom.dsl.reader import NumericToken, Token, read
from mom.dsl.scope import VariableStack
from mom.errors import PolicyError

__all__ = ["Evaluator", "PolicyError", "VariableStack", "Token", "NumericToken", "get_code", "eval"]


def get_code(evaluator: Evaluator, text: str) -> list[Any]:
    """Parse ``text`` into a list of expressions (tokens and nested lists)."""
    return read(text, evaluator.limits).forms


def eval(evaluator: Evaluator, text: str) -> list[Any]:  # noqa: A001  (upstream's name)
    """Parse and evaluate ``text``; one result per top-level expression."""
    return evaluate_text(evaluator, text)
