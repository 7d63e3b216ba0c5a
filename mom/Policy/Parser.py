"""oVirt MOM import path ``mom.Policy.Parser``. Implementation: :mod:`mom.dsl`."""

from __future__ import annotations

from typing import Any

from mom.dsl import evaluator as _evaluator
from mom.dsl.program import Program, evaluate_expression
from mom.dsl.reader import NumericToken, ReadResult, Token, read
from mom.dsl.scope import VariableStack
from mom.errors import PolicyError

__all__ = ["Evaluator", "PolicyError", "VariableStack", "Token", "NumericToken", "get_code", "eval"]


class Evaluator(_evaluator.Evaluator):
    """Upstream's ``Evaluator``: the evaluation state, and ``eval`` of one expression."""

    __slots__ = ()

    def eval(self, code: Any) -> Any:
        """Evaluate one expression (a token or a list, as the parser returns them)."""
        return evaluate_expression(self, code)


def _read(evaluator: _evaluator.Evaluator, text: str) -> ReadResult:
    result = read(text, evaluator.limits)
    if not result.forms:
        # upstream's parser fails on text without a token ("", "00", "0xg", a comment
        # without a newline), and its get_code and eval let that escape (spec 5.2);
        # only the policy store reads such text as empty
        raise IndexError("list index out of range")
    return result


def get_code(evaluator: _evaluator.Evaluator, text: str) -> list[Any]:
    """Parse ``text`` into a list of expressions (tokens and nested lists)."""
    return _read(evaluator, text).forms


def eval(evaluator: _evaluator.Evaluator, text: str) -> list[Any]:  # noqa: A001  (upstream's name)
    """Parse and evaluate ``text``; one result per top-level expression."""
    result = _read(evaluator, text)
    return Program(result.forms, result.source, result.discarded_at, evaluator.limits).run(evaluator)
