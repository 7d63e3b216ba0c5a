"""User-function calls: the fast path (bodies run in the caller's instruction loop, a
frame per call in progress) agrees with the reference on values, errors (type, text,
position), controls written, and the state left for the next evaluation.

The cases aim at what a frame could get wrong: a function redefined after (or while)
its call sites ran, recursion and mutual recursion, void calls (a value dropped),
calls inside loops and argument thunks, wrong arity, and the step and call-depth
limits hit inside nested calls, after which the machine must still evaluate cleanly.
"""

from __future__ import annotations

from typing import Any

import pytest

from mom.dsl.limits import Limits
from mom.runtime.table import GuestSet, SampleTable
from tests.dsl.same import same
from tests.implementations import load_implementation

LIMITS = Limits(max_steps=400, max_call_depth=12)

CASES = {
    "redefined after its call site ran": "(def f (x) (+ x 1)) (f 1) (def f (x) (* x 10)) (f 2)",
    "redefined by the body it runs": "(def f (x) {(def f (y) (* y -1)) (+ x 100)}) (f 1) (f 1) (f 1)",
    "redefined with another arity": "(def f (x) x) (f 1) (def f (x y) (+ x y)) (f 1 2) (f 3)",
    "redefined inside a loop": "(with items i {(def g (x) (+ x i)) (g i)}) (g 0)",
    "a variable shadows the function": "(def f (x) x) (f 1) (defvar f abs) (f -4)",
    "a let shadows the function": "(def f (x) (+ x 1)) (let ((f abs)) (f -3)) (f 3)",
    "recursion": "(def fact (n) (if (> n 1) (* n (fact (- n 1))) 1)) (fact 10) (fact 0)",
    "mutual recursion": (
        "(def even (n) (if (== n 0) 1 (odd (- n 1)))) (def odd (n) (if (== n 0) 0 (even (- n 1)))) (even 9) (odd 9)"
    ),
    "void calls": "(def f (x) (set total (+ total x))) (defvar total 0) {(f 1) (f 2) 7} (with items i (f i)) total",
    "calls in argument thunks": "(def f (x y) (- x y)) (def g (x) (* x 2)) (f (g 3) (f (g 1) (g 2)))",
    "dynamic scope: a parameter seen by the callee": "(def inner () x) (def outer (x) (inner)) (outer 5) (outer 6)",
    "a later argument sees an earlier parameter": "(def f (x y) (+ x y)) (defvar x 100) (f 1 x)",
    "calls in a loop's body and results": "(def sq (x) (* x x)) (with items i (sq i)) (with items i (if (sq i) (sq (sq i)) 0))",
    "no parameters": "(def seven () 7) (seven) (+ (seven) (seven))",
    "a nested function's value as the whole body": "(def a (x) (b x)) (def b (x) (c x)) (def c (x) (+ x 0.5)) (a 1)",
    "wrong arity": "(def f (x) x) (f 1 2)",
    "wrong arity in a nested call": "(def f (x) (g x)) (def g (x y) x) (f 1)",
    "an undefined function in a body": "(def f (x) (nope x)) (f 1)",
    "an error deep in a body": "(def f (x) (g x)) (def g (x) (+ x \"s\")) {1 (f 1)}",
    "an error in a void call's body": "(def f (x) (+ x \"s\")) {(f 1) 2}",
    "endless recursion": "(def f (x) (f x)) (f 1)",
    "recursion to the depth limit": "(def f (n) (if (> n 0) (+ 1 (f (- n 1))) 0)) (f 11)",
    "recursion past the depth limit": "(def f (n) (if (> n 0) (+ 1 (f (- n 1))) 0)) (f 12)",
    "the step limit in nested calls": "(def f (n) (if (> n 0) {(f (- n 1)) (f (- n 1))} 0)) (f 10)",
    "the step limit in a call in a loop": "(def f (x) (+ x 1)) (with items i (with items j (f j)))",
    "a function of a parameter list that is not a list": "(def f x x) (f 1)",
}


def evaluate(engine: Any, text: str) -> Any:
    """Values or the error, the controls written, then a second evaluation of the same
    program (the machine is reused: what an error left behind must not show)."""
    table = SampleTable(["cur"], history=2)
    rows = [table.add_row(f"vm{i}", {"name": f"vm{i}"}) for i in range(3)]
    for k, row in enumerate(rows):
        table.append(row, {"cur": k})
    text = text + " (with Guests g (g.Control \"t\" (g.Stat \"cur\")))"
    program = engine.compile_policy(text, LIMITS)
    outcomes = []
    for _ in range(2):
        try:
            got = program.execute({"items": list(range(30)), "Guests": GuestSet(table, rows)})
            outcomes.append(("ok", got))
        except Exception as error:  # noqa: BLE001  (every error must match)
            outcomes.append(("error", type(error).__name__, str(error), getattr(error, "position", None)))
        outcomes.append([sorted(table.view(row).controls.items()) for row in rows])
        table.clear_controls()
    return outcomes


@pytest.fixture(scope="module")
def engines(request: pytest.FixtureRequest) -> tuple[Any, Any]:
    return load_implementation("python", request.config), load_implementation("cython", request.config)


@pytest.mark.fastpath
@pytest.mark.parametrize("text", CASES.values(), ids=list(CASES))
def test_calls_agree_with_the_reference(engines: Any, text: str) -> None:
    reference, fast = engines
    expected = evaluate(reference, text)
    got = evaluate(fast, text)
    assert len(got) == len(expected)
    for mine, theirs in zip(got, expected, strict=True):
        if mine and mine[0] == "ok" and theirs[0] == "ok":
            assert same(mine[1], theirs[1]), (mine, theirs)
        else:
            assert mine == theirs


def test_the_cases_reach_their_limits(engines: Any) -> None:
    """The limit cases do fail (else they would test nothing about the limits)."""
    reference, _fast = engines
    for name in ("endless recursion", "recursion past the depth limit", "the step limit in nested calls",
                 "the step limit in a call in a loop", "wrong arity"):
        assert evaluate(reference, CASES[name])[0][0] == "error", name
    assert evaluate(reference, CASES["recursion to the depth limit"])[0][0] == "ok"
