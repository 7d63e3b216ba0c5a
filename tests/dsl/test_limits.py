"""Runaway policies end with a PolicyError: never a hang, a RecursionError or a crash."""

from __future__ import annotations

import sys
import threading

import pytest

from mom.dsl.evaluator import Evaluator
from mom.dsl.limits import Limits
from mom.dsl.program import evaluate_text
from mom.errors import PolicyError

STEP_LIMIT = "evaluation step limit reached (%d function calls and loop iterations): endless policy?"


def run(impl, text, limits=None):  # type: ignore[no-untyped-def]
    program = impl.compile_policy(text) if limits is None else impl.compile_policy(text, limits)
    return program.execute({"items": list(range(50))})


def test_endless_recursion(impl):  # type: ignore[no-untyped-def]
    with pytest.raises(PolicyError) as caught:
        run(impl, "(def f (x) (f x)) (f 1)")
    assert str(caught.value) == "calls nested deeper than 200 in function 'f': endless recursion?"


def test_recursion_up_to_the_limit_works(impl):  # type: ignore[no-untyped-def]
    text = "(def f (n) (if (> n 0) (+ 1 (f (- n 1))) 0)) (f 199)"
    assert run(impl, text) == ["f", 199]
    with pytest.raises(PolicyError, match="calls nested deeper than 200"):
        run(impl, text.replace("199", "200"))


def test_a_chain_of_calls_as_deep_as_upstream_can_go(impl):  # type: ignore[no-untyped-def]
    """Upstream needs five frames per call in progress: 200 is its ceiling at Python's
    default recursion limit (mom/dsl/limits.py); we evaluate that deep at that limit."""
    chain = " ".join(f"(def f{k} (x) (f{k + 1} x))" for k in range(199)) + " (def f199 (x) x) (f0 5)"
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)  # the evaluation raises it to what the limits need
    try:
        assert run(impl, chain)[-1] == 5
        with pytest.raises(PolicyError, match="calls nested deeper than 200 in function 'f200'"):
            run(impl, chain.replace("(def f199 (x) x)", "(def f199 (x) (f200 x)) (def f200 (x) x)"))
    finally:
        sys.setrecursionlimit(old)


NESTS = {
    "operators": lambda d: "(+ 1 " * d + "1" + ")" * d,
    "ifs": lambda d: "(if 1 " * d + "7" + " 0)" * d,
    "withs": lambda d: "(with items g " * d + "g" + ")" * d,
    "blocks": lambda d: "{1 " * d + "1" + "}" * d,
    "lets": lambda d: "(let ((x 1)) " * (d - 2) + "x" + ")" * (d - 2),  # a binding: two levels more
    "first items": lambda d: "(- " * d + "1 2" + ") 3" * d,
}


@pytest.mark.parametrize("kind", NESTS)
def test_nesting_as_deep_as_upstream_can_parse(impl, kind):  # type: ignore[no-untyped-def]
    """101 nested forms (upstream evaluates them) up to 333, upstream's parser's ceiling
    (three frames per level: mom/dsl/limits.py); one more is refused, as it would crash
    upstream's parser."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        assert run(impl, "(+ 1 " * 101 + "1" + ")" * 101) == [102]
        impl.compile_policy(NESTS[kind](333)).execute({"items": [1]})
        with pytest.raises(PolicyError, match="nesting deeper than 333 levels"):
            impl.compile_policy(NESTS[kind](334))
    finally:
        sys.setrecursionlimit(old)


def test_mutual_recursion_through_deep_forms_stays_off_the_python_stack(impl):  # type: ignore[no-untyped-def]
    # 95 nested forms in a body called 99 deep: no RecursionError even with a low limit
    body = "(+ 0 " * 95 + "(g (- n 1))" + ")" * 95
    text = f"(def g (n) (if (> n 0) {body} 0)) (g 99)"
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        assert run(impl, text) == ["g", 0]
    finally:
        sys.setrecursionlimit(old)


def test_exponential_recursion_hits_the_step_limit(impl):  # type: ignore[no-untyped-def]
    text = "(def f (n) (if (> n 0) {(f (- n 1)) (f (- n 1))} 0)) (f 40)"
    with pytest.raises(PolicyError) as caught:
        run(impl, text, Limits(max_steps=20_000))
    assert str(caught.value) == STEP_LIMIT % 20_000


def test_with_loops_count_steps(impl):  # type: ignore[no-untyped-def]
    with pytest.raises(PolicyError) as caught:
        run(impl, "(with items i (with items j (with items k 0)))", Limits(max_steps=10_000))
    assert str(caught.value) == STEP_LIMIT % 10_000
    assert len(run(impl, "(with items i (with items j 0))", Limits(max_steps=10_000))[0]) == 50


@pytest.mark.parametrize(
    "text",
    [
        "(<< 1 100000)",
        "(def sq (x n) (if n (sq (* x x) (- n 1)) x)) (sq 3 40)",
        '(* "x" 100000000000)',
        '(* 100000000000 "x")',
        '(defvar s "ab") (with items i (set s (+ s s)))',
    ],
)
def test_huge_values_are_refused(impl, text):  # type: ignore[no-untyped-def]
    with pytest.raises(PolicyError, match="too large"):
        run(impl, text)


@pytest.mark.parametrize("text", ["(with items i 0)", "(with items i (with items j 0))", "(with items i (let ((k i)) k))"])
def test_a_loop_stopped_by_the_step_limit_leaves_its_scopes_on_the_stack(text):  # type: ignore[no-untyped-def]
    """As upstream leaves them; unwinding them (as the REPL does) restores every binding."""
    ev = Evaluator(Limits(max_steps=30))
    ev.bind("items", list(range(50)))
    ev.bind("i", "outer")
    before = ev.snapshot()
    with pytest.raises(PolicyError, match="step limit reached"):
        evaluate_text(ev, text)
    assert ev.depth > 1
    while ev.depth > 1:
        ev.leave_scope()
    assert ev.snapshot() == before


def test_addition_past_the_sequence_limit_says_so(impl):  # type: ignore[no-untyped-def]
    limits = Limits(max_sequence_len=10)
    assert run(impl, '(+ "abcde" "fghij") (+ 1 2)', limits) == ["abcdefghij", 3]
    with pytest.raises(PolicyError) as caught:
        run(impl, '(defvar s "abcdef") (+ s s)', limits)
    assert str(caught.value) == "value too large (limit 10 items)"


def test_large_but_reasonable_values_are_fine(impl):  # type: ignore[no-untyped-def]
    assert run(impl, "(<< 1 1000) (* 1e308 10) (* 2.5 4)") == [1 << 1000, float("inf"), 10.0]


def test_deep_source_nesting_is_a_parse_error(impl):  # type: ignore[no-untyped-def]
    with pytest.raises(PolicyError, match="nesting deeper than 333 levels"):
        impl.compile_policy("(+ 1 " * 10_000 + ")" * 10_000)


def test_unterminated_and_garbage_inputs(impl):  # type: ignore[no-untyped-def]
    for text in ["(((((", "(defvar x", "[}", "((())"]:
        with pytest.raises(PolicyError, match="parse error"):
            impl.compile_policy(text)


def test_evaluation_in_a_thread_with_a_small_stack(impl):  # type: ignore[no-untyped-def]
    # the daemon evaluates on a worker thread; the limits must hold there too
    outcome = {}

    def work() -> None:
        try:
            run(impl, "(def f (x) (f x)) (f 1)")
        except PolicyError as error:
            outcome["error"] = str(error)

    old = threading.stack_size(1 << 20)
    try:
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
    finally:
        threading.stack_size(old)
    assert outcome["error"].startswith("calls nested deeper than 200")
