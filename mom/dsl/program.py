"""A policy text compiled once, and evaluated as often as the engine ticks.

This is the reference implementation's entry point; :mod:`mom._impl` selects it or
the fast path's twin.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

from mom.dsl import syntax
from mom.dsl.compiler import Function, Unit, compile_expression, compile_units, run
from mom.dsl.evaluator import Evaluator
from mom.dsl.limits import DEFAULT_LIMITS, Limits, ensure_recursion_limit
from mom.dsl.reader import Node, Source, read
from mom.dsl.results import unprintable

__all__ = ["Program", "compile_policy", "evaluate_text", "evaluate_expression"]


class Program:
    """Forms read from one policy text and their compiled closures."""

    __slots__ = ("forms", "source", "functions", "unit", "discarded_at", "limits")

    def __init__(
        self,
        forms: list[Node],
        source: Source,
        discarded_at: int | None,
        limits: Limits,
        nodes: Sequence[syntax.Expr] | None = None,
    ) -> None:
        """``nodes`` are the forms' typed nodes, if the caller has them already."""
        self.forms = forms
        self.source = source
        #: offset where the scanner met a character no rule accepts and dropped the rest
        self.discarded_at = discarded_at
        self.limits = limits
        if nodes is None:
            nodes = syntax.expressions(forms)
        functions, unit = compile_units(nodes, source, limits)
        #: one generated function per top-level form
        self.functions: list[Function] = functions
        #: the generated Python, for error positions and ``mom-policy show``
        self.unit: Unit = unit

    def run(self, evaluator: Evaluator) -> list[Any]:
        """Evaluate every top-level form on ``evaluator``; the list of their values."""
        ensure_recursion_limit(self.limits)
        return [run(function, evaluator) for function in self.functions]

    def execute(self, bindings: Mapping[str, Any] | None = None) -> list[Any]:
        """Evaluate with fresh variables, ``bindings`` in the root scope."""
        evaluator = Evaluator(self.limits)
        for name, value in (bindings or {}).items():
            evaluator.set(name, value, True)
        return self.run(evaluator)

    def evaluate(self, host: Any, guests: Iterable[Any], results: bool = True) -> list[Any]:
        """One policy run with ``Host`` and ``Guests`` bound, as upstream's Policy does.

        A top-level value upstream's results line cannot show fails, as upstream's
        (mom.dsl.results).  (``results`` exists for the fast path's sake; the
        reference always has them.)
        """
        values = self.execute({"Host": host, "Guests": guests})
        error = unprintable(values)
        if error is not None:
            raise error
        return values


def compile_policy(text: str, limits: Limits = DEFAULT_LIMITS) -> Program:
    """Read and compile policy text; raises PolicyError on a parse error or a limit."""
    result = read(text, limits)
    return Program(result.forms, result.source, result.discarded_at, limits)


def evaluate_text(evaluator: Evaluator, text: str) -> list[Any]:
    """Upstream's ``Parser.eval``: parse ``text`` and evaluate it on ``evaluator``."""
    return compile_policy(text, evaluator.limits).run(evaluator)


def evaluate_expression(evaluator: Evaluator, code: Node) -> Any:
    """Upstream's ``Evaluator.eval``: one expression (a token or a list, as the parser
    returns them) evaluated on ``evaluator``."""
    return run(compile_expression(code, evaluator.limits), evaluator)
