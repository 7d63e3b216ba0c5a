"""mom.dsl.lint: one table row per diagnostic, plus the real vdsm and shipped policies."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mom.dsl.builtins import BUILTINS, arity_error, call_error
from mom.dsl.lint import PREDEFINED, lint, read_unit
from mom.dsl.reader import Source
from mom.policy_sets import DEFAULT_SET, shipped_set_dir
from tests.shared_data import shared_path

ROOT = Path(__file__).resolve().parents[2]
VDSM = shared_path("data", "vdsm")


def diagnose(*texts: str) -> list[tuple[str, str, int, int, int, str]]:
    """(severity, code, unit, line, column, message) for texts checked as one program."""
    units = []
    found = []
    for index, text in enumerate(texts):
        result, diagnostics = read_unit(text, index)
        units.append((f"f{index}.policy", result))
        found.extend(diagnostics)
    found.extend(lint(units))
    rows = []
    for d in found:
        line, column = Source(texts[d.unit]).position(d.offset)
        rows.append((d.severity, d.code, d.unit, line, column, d.message))
    return sorted(rows)


# (id, texts, expected [(severity, code, unit, line, column, substring of the message)])
CASES = [
    # ## reading
    ("parse-unclosed", ["(defvar x 1"], [("error", "parse-error", 0, 1, 1, "'(' opened at line 1, column 1 is never closed")]),
    ("parse-extra-closer", ["(defvar x 1))"], [("error", "parse-error", 0, 1, 13, "unexpected ')'")]),
    ("parse-mismatch", ["(debug\n  (+ 1 2])"], [("error", "parse-error", 0, 2, 9, "']' does not close '('")]),
    (
        "discarded-text",
        ["(defvar x 1)\n@ (defvar y 2)\n"],
        [("warning", "discarded-text", 0, 2, 1, "'@' is not part of the policy language")],
    ),
    ("trailing-comment-without-newline", ["(defvar x 1)\n# the end"], []),
    # ## names
    ("undefined-symbol", ["(defvar x y)"], [("error", "undefined-symbol", 0, 1, 11, "undefined symbol 'y' read here")]),
    ("defined-later", ["(defvar x y)\n(defvar y 1)"], [("error", "undefined-symbol", 0, 1, 11, "defined only later, at line 2")]),
    ("did-you-mean", ["(defvar pressure 1)\n(debug presure)"], [("error", "undefined-symbol", 0, 2, 8, "did you mean 'pressure'?")]),
    ("undefined-set", ["(set nothing 1)"], [("error", "undefined-symbol", 0, 1, 6, "undefined symbol 'nothing' set here")]),
    ("dotted-checks-head-only", ["(debug Host.whatever Guests)"], []),
    ("dotted-undefined-head", ["(debug nohost.mem)"], [("error", "undefined-symbol", 0, 1, 8, "'nohost'")]),
    ("predefined", ["(debug Host Guests (abs -1) nil)"], []),
    ("function-is-not-a-value", ["(def f () 1)\n(debug f)\n(f)"], [("error", "undefined-symbol", 0, 2, 8, "'f' is a function")]),
    ("undefined-function", ["(frobnicate 1)"], [("error", "undefined-function", 0, 1, 1, "call of undefined function 'frobnicate'")]),
    ("method-call-on-undefined", ["(nohost.Control 1)"], [("error", "undefined-symbol", 0, 1, 2, "'nohost'")]),
    ("call-before-definition", ["(f)\n(def f () 0)"], [("error", "call-before-definition", 0, 1, 1, "'f' is called before its definition (line 2)")]),
    ("function-free-undefined", ["(def f () nope)\n(f)"], [("error", "undefined-symbol", 0, 1, 11, "function 'f' reads it")]),
    (
        "used-before-definition",
        ["(def f () x)\n(f)\n(defvar x 1)"],
        [("error", "used-before-definition", 0, 1, 11, "first runs (line 2) before 'x' is defined (line 3)")],
    ),
    # ## arity
    ("builtin-arity-exact", ["(if 1 2)"], [("error", "arity", 0, 1, 1, "arity mismatch in doc parsing of 'c_if' on line 1")]),
    ("builtin-arity-minimum", ["(and)"], [("error", "arity", 0, 1, 1, "not enough arguments for 'c_and' on line 1")]),
    ("builtin-arity-operator", ["(debug\n(+ 1))"], [("error", "arity", 0, 2, 1, "arity mismatch in doc parsing of 'c_add' on line 2")]),
    ("def-several-bodies", ["(def f (a) a a)"], [("error", "arity", 0, 1, 1, "group several in { }")]),
    ("user-arity", ["(def f (a) a)\n(f 1 2)"], [("error", "arity", 0, 2, 1, 'Function "f" invoked with incorrect arity on line 2')]),
    ("abs-arity", ["(abs 1 2)"], [("error", "arity", 0, 1, 1, "ExternalFunctions.abs() takes 1 positional argument but 2 were given")]),
    ("debug-arity", ["(debug)"], [("error", "arity", 0, 1, 1, "debug needs at least one argument")]),
    # ## malformed forms
    ("def-name-not-symbol", ['(def "f" (a) a)'], [("error", "malformed", 0, 1, 1, "malformed expression on line 1")]),
    ("params-not-list", ["(def f x 1)\n(f 1)"], [("error", "malformed", 0, 1, 8, "the parameters of 'f' must be a list")]),
    ("param-not-symbol", ["(def f (1) 0)\n(f 1)"], [("error", "malformed", 0, 1, 9, "parameter 1 of 'f' is not a name")]),
    ("let-not-list", ["(let x 1)"], [("error", "malformed", 0, 1, 6, "Expecting list as arg 1 in let")]),
    ("let-not-pairs", ["(let (x 1) x)"], [("error", "malformed", 0, 1, 7, "Expecting list of tuples in arg1 of let")]),
    ("let-not-symbol", ["(let ((1 2)) 0)"], [("error", "malformed", 0, 1, 7, "Expecting list of (symbol value) in let")]),
    ("with-not-symbol", ["(with (Guests) g g)"], [("error", "malformed", 0, 1, 1, "argument 1 of with must be a name")]),
    ("set-attribute", ["(set Host.x 1)"], [("error", "malformed", 0, 1, 1, "set cannot assign an attribute")]),
    ("operator-as-value", ["(defvar x +)"], [("error", "bad-token", 0, 1, 11, 'Unexpected token type "operator" on line 1')]),
    ("number-as-head", ["(1 2)"], [("error", "bad-token", 0, 1, 1, 'Unexpected token type in arg 1 "number"')]),
    ("list-as-head", ["((abs) 1)"], [("error", "malformed", 0, 1, 1, "Expected simple token as arg 1")]),
    ("empty-form", ["(debug ())"], [("error", "empty-form", 0, 1, 8, "() is empty")]),
    ("empty-block", ["{}"], [("error", "empty-form", 0, 1, 1, "{} is empty")]),
    ("bad-octal", ["(debug 0o9)"], [("error", "bad-literal", 0, 1, 8, "0o9 is not a valid number")]),
    # ## unused bindings
    ("unused-let", ["(let ((a 1) (b 2)) a)"], [("warning", "unused-variable", 0, 1, 14, "variable 'b' is bound but never read")]),
    ("unused-param", ["(def f (a b) a)\n(f 1 2)"], [("warning", "unused-variable", 0, 1, 11, "parameter 'b' of 'f' is never read")]),
    ("unused-loop-variable", ["(with Guests g 0)"], [("warning", "unused-variable", 0, 1, 14, "loop variable 'g' is never read")]),
    ("unused-local-defvar", ["(def f () {(defvar t 1) 0})\n(f)"], [("warning", "unused-variable", 0, 1, 20, "variable 't'")]),
    ("set-is-not-a-read", ["(def f () {(defvar t 1) (set t 2) 0})\n(f)"], [("warning", "unused-variable", 0, 1, 20, "variable 't'")]),
    ("underscore-means-unused", ["(def f (_a) 0)\n(f 1)"], []),
    ("computed-global-unread", ["(defvar x (+ 1 2))"], [("note", "unused-global", 0, 1, 9, "'x' is computed but never read")]),
    ("constant-global-is-a-tunable", ["(defvar x 1)\n(defvar flag True)"], [("error", "undefined-symbol", 0, 2, 14, "'True'")]),
    ("set-later-and-read", ["(defvar t (+ 0 1))\n(set t 2)\n(debug t)"], []),
    ("unused-function", ["(def f () 0)"], [("note", "unused-function", 0, 1, 1, "function 'f' is never called")]),
    # ## dynamic scoping
    (
        "dynamic-scope-read",
        ["(def g () (+ x 1))\n(def f (x) (g))\n(f 1)"],
        [("warning", "dynamic-scope", 0, 1, 14, "function 'g' reads 'x' without binding it, so it sees its caller's 'x'")],
    ),
    (
        "dynamic-scope-misspelt-parameter",
        ["(def q (quest) guest.a)\n(with Guests guest (q guest))"],
        [
            ("warning", "dynamic-scope", 0, 1, 16, "is parameter 'quest' a misspelling of 'guest'?"),
            ("warning", "unused-variable", 0, 1, 9, "parameter 'quest' of 'q' is never read"),
        ],
    ),
    (
        "dynamic-scope-hides-global",
        ["(defvar x 1)\n(def g () x)\n(def f (x) (g))\n(f 2)\n(g)"],
        [("warning", "dynamic-scope", 0, 2, 11, "instead of the global 'x'")],
    ),
    (
        "dynamic-scope-set",
        ["(def g () (set x 2))\n(def f (x) {(g) x})\n(f 1)"],
        [("warning", "dynamic-scope", 0, 1, 16, "function 'g' sets 'x' without binding it, so it changes its caller's 'x'")],
    ),
    (
        "dynamic-scope-transitive",
        ["(def h () y)\n(def g () (h))\n(def f (y) (g))\n(f 1)"],
        [("warning", "dynamic-scope", 0, 1, 11, "parameter 'y' of 'f' (line 3)")],
    ),
    ("global-read-is-fine", ["(defvar limit 3)\n(def f (a) (< a limit))\n(f 1)"], []),
    ("recursion", ["(def fact (n) (if (<= n 1) 1 (* n (fact (- n 1)))))\n(debug (fact 5))"], []),
    ("nested-def", ["(def outer () (def inner () 1))\n(outer)\n(inner)"], []),
    # ## defvar and shadowing
    ("defvar-no-op", ["(defvar x 1)\n(defvar x 2)"], [("warning", "defvar-no-op", 0, 2, 1, "already bound in this scope (line 1)")]),
    ("defvar-exclusive-branches", ["(def f (c) {(if c (defvar v 1) (defvar v 2)) v})\n(f 1)"], []),
    ("defvar-of-parameter", ["(def f (a) {(defvar a 2) a})\n(f 1)"], [("warning", "defvar-no-op", 0, 1, 13, "'a' is a parameter")]),
    ("defvar-of-predefined", ["(defvar Host 1)"], [("warning", "defvar-no-op", 0, 1, 1, "'Host' is predefined")]),
    ("shadow-builtin", ["(defvar max 1)"], [("warning", "shadowing", 0, 1, 9, "binding 'max' shadows the builtin 'max'")]),
    ("shadow-function", ["(def g () 1)\n(let ((g 2)) g)\n(g)"], [("warning", "shadowing", 0, 2, 8, "'g' is also a function")]),
    (
        "function-named-like-builtin",
        ["(def min (a) a)"],
        [
            ("note", "unused-function", 0, 1, 1, "function 'min' is never called"),
            ("warning", "shadowing", 0, 1, 6, "function 'min' can never be called"),
        ],
    ),
    ("redefined-function", ["(def f () 1)\n(def f () 2)\n(f)"], [("warning", "redefined-function", 0, 2, 6, "replaces the one at line 1")]),
    ("duplicate-parameter", ["(def f (a a) a)\n(f 1 2)"], [("warning", "duplicate-parameter", 0, 1, 11, "appears twice")]),
    # ## evaluation order
    (
        "argument-capture",
        ["(defvar a 5)\n(def f (a b) (+ a b))\n(f 1 a)"],
        [("warning", "argument-capture", 0, 3, 6, "by then the callee's own parameter 'a'")],
    ),
    (
        "and-does-not-short-circuit",
        ["(defvar x nil)\n(debug (and (valid x) (< x 1)))"],
        [("warning", "no-short-circuit", 0, 2, 8, "'and' evaluates all its arguments")],
    ),
    (
        "or-does-not-short-circuit",
        ["(defvar x nil)\n(debug (or (null x) (< x 1)))"],
        [("warning", "no-short-circuit", 0, 2, 8, "'or' evaluates all its arguments")],
    ),
    ("nested-if-guard-is-fine", ["(defvar x nil)\n(debug (if (valid x) (< x 1) 0))"], []),
    # ## several files, one program
    ("files-in-order", ["(defvar True 1)\n", "(debug True)"], []),
    ("files-out-of-order", ["(debug True)", "(defvar True 1)"], [("error", "undefined-symbol", 0, 1, 8, "defined only later, at f1.policy:1")]),
    ("parse-error-skips-name-checks", ["(defvar x 1", "(debug x)"], [("error", "parse-error", 0, 1, 1, "never closed")]),
    (
        "function-in-other-file",
        ["(def g () helper_var)\n", "(def f (helper_var) (g))\n(f 1)"],
        [("warning", "dynamic-scope", 0, 1, 11, "parameter 'helper_var' of 'f' (f1.policy:1)")],
    ),
]


@pytest.mark.parametrize("texts, expected", [pytest.param(t, e, id=i) for i, t, e in CASES])
def test_diagnostic(texts: list[str], expected: list[tuple[str, str, int, int, int, str]]) -> None:
    found = diagnose(*texts)
    assert [row[:5] for row in found] == sorted(row[:5] for row in expected), found
    for row, want in zip(found, sorted(expected, key=lambda r: r[:5])):
        assert want[5] in row[5], (want[5], row[5])


def test_case_ids_are_unique() -> None:
    ids = [case[0] for case in CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(
    "source, name, nargs",
    [("(if 1 2)", "if", 2), ("(def f)", "def", 1), ("(let ((a 1)))", "let", 1), ("(or)", "or", 0), ("(not 1 2)", "not", 2)],
)
def test_builtin_arity_messages_are_the_engines(source: str, name: str, nargs: int) -> None:
    """The lint says what evaluating would raise, with the real line."""
    [(_, code, _, line, _, message)] = diagnose(source)
    assert code == "arity"
    expected = arity_error(BUILTINS[name], nargs, line)
    assert expected is not None
    assert message.startswith(str(expected))


@pytest.mark.parametrize("source", ["(defvar 1 2)", "(with Guests (g) g)", "(set \"x\" 1)", "(def (f) () 0)"])
def test_malformed_messages_are_the_engines(source: str) -> None:
    [(_, code, _, line, _, message)] = diagnose(source)
    assert code == "malformed"
    form = read_unit(source)[0].forms[0]  # type: ignore[union-attr]
    expected = call_error(BUILTINS[form[0].value], form[1:], line)
    assert expected is not None
    assert message.startswith(str(expected) + ": argument ")


@pytest.mark.parametrize(
    ("text", "discarded_at"),
    [("(a)\n# end", None), ("(a)\n# end\n@", 10), ("(a) @ # only a comment after", 4)],
)
def test_only_real_discarded_text_is_reported(text: str, discarded_at: int | None) -> None:
    """A final comment without a newline is a comment, not discarded text."""
    result, diagnostics = read_unit(text)
    assert result is not None and result.discarded_at == discarded_at
    assert [(d.code, d.offset) for d in diagnostics] == ([] if discarded_at is None else [("discarded-text", discarded_at)])


def test_predefined_names() -> None:
    assert set(PREDEFINED) == {
        "Host", "Guests", "abs", "debug", "has_word",
        "sla_balloon", "sla_controls", "sla_cpu_quota", "sla_io_limits", "sla_numa_place",
    }  # fmt: skip


def test_lint_does_not_evaluate() -> None:
    """Checking a policy with side effects and endless recursion returns at once."""
    found = diagnose("(def f (n) (f n))\n(f 1)\n(Host.Control \"ksm_run\" (/ 1 0))")
    assert found == []


def _vdsm_units() -> list[tuple[str, object]]:
    units = []
    for index, path in enumerate(sorted(VDSM.glob("*.policy"))):
        result, diagnostics = read_unit(path.read_text(), index)
        assert diagnostics == []
        units.append((path.name, result))
    return units


def test_vdsm_policies_have_the_guest_qos_bug() -> None:
    units = _vdsm_units()
    found = lint(units)  # type: ignore[arg-type]
    rows = []
    for d in found:
        line, column = units[d.unit][1].source.position(d.offset)  # type: ignore[attr-defined]
        rows.append((units[d.unit][0], line, column, d.severity, d.code, d.message))
    assert [row[:5] for row in rows] == [
        ("02-balloon.policy", 130, 17, "warning", "unused-variable"),
        ("02-balloon.policy", 132, 12, "warning", "dynamic-scope"),
    ]
    assert "parameter 'quest' of 'guest_qos' is never read" in rows[0][5]
    assert "function 'guest_qos' reads 'guest' without binding it" in rows[1][5]
    assert "(with Guests guest (guest_qos guest))" in rows[1][5]
    assert "is parameter 'quest' a misspelling of 'guest'?" in rows[1][5]


def test_vdsm_policy_alone_reports_its_missing_definitions() -> None:
    """02-balloon.policy without 00-defines: balloonEnabled is undefined."""
    text = (VDSM / "02-balloon.policy").read_text()
    found = diagnose(text)
    undefined = [row for row in found if row[1] == "undefined-symbol"]
    assert [row[5] for row in undefined] == [
        "undefined symbol 'balloonEnabled': function 'balloon_logic' reads it, and neither the function, "
        "its callers nor the top level bind it"
    ]


def test_shipped_policies_are_clean() -> None:
    texts = [path.read_text() for path in sorted(Path(shipped_set_dir(DEFAULT_SET)).glob("*.policy"))]
    assert len(texts) == 6
    assert diagnose(*texts) == []


_WORDS = [
    "def", "defun", "defvar", "set", "setq", "let", "with", "if", "and", "or", "not", "valid", "null", "min",
    "max", "abs", "debug", "eval", "+", "-", "<", "==", "x", "y", "f", "g", "Host", "Guests", "Host.mem",
    "g.Control", "nil", "1", "0o9", "2.5", '"s"', "()", "{}",
]  # fmt: skip


def _program() -> st.SearchStrategy[str]:
    atoms = st.sampled_from(_WORDS)
    forms = st.recursive(
        atoms,
        lambda inner: st.tuples(st.sampled_from(["()", "{}", "[]"]), st.lists(inner, max_size=5)).map(
            lambda pair: pair[0][0] + " ".join(pair[1]) + pair[0][1]
        ),
        max_leaves=25,
    )
    return st.lists(forms, min_size=1, max_size=6).map("\n".join)


def test_lint_never_crashes() -> None:
    """Any text that reads gets diagnostics, never an exception: the linter runs on user input."""

    @settings(max_examples=300, deadline=None)
    @given(_program())
    def check(text: str) -> None:
        result, _ = read_unit(text)
        for d in lint([("p.policy", result)]):
            assert d.severity in ("error", "warning", "note")
            assert 0 <= d.offset <= len(text)

    check()
