"""Errors keep upstream's text and also say where: line, column and the offending form."""

from __future__ import annotations

import pytest

from mom.errors import PolicyError, describe_error


def failure(impl, text):  # type: ignore[no-untyped-def]
    with pytest.raises(Exception) as caught:
        impl.compile_policy(text).execute({"numbers": [1, 0]})
    return caught.value


@pytest.mark.parametrize(
    ("text", "kind", "position", "form"),
    [
        ("(+ 1\n  (* undefined_x 2))", PolicyError, (2, 6), "undefined_x"),
        ("(defvar a 1)\n(and 0 (/ a 0))", ZeroDivisionError, (2, 8), "(/ a 0)"),
        ("(def f (x) (/ 1 x))\n\n(f 0)", ZeroDivisionError, (1, 12), "(/ 1 x)"),
        ("(with numbers n (/ 1 n))", ZeroDivisionError, (1, 17), "(/ 1 n)"),
        ("(if 1)", PolicyError, (1, 1), "(if 1)"),
        ("(nosuch 1)", KeyError, (1, 1), "(nosuch 1)"),
        ('(< 1 "a")', TypeError, (1, 1), '(< 1 "a")'),
        ("  x.y", PolicyError, (1, 3), "x.y"),
    ],
)
def test_innermost_form_is_recorded(impl, text, kind, position, form):  # type: ignore[no-untyped-def]
    error = failure(impl, text)
    assert type(error) is kind
    assert error.position == position
    assert error.form == form


def test_describe_error_renders_everything(impl):  # type: ignore[no-untyped-def]
    error = failure(impl, "(defvar a 1)\n(and 0 (/ a 0))")
    assert describe_error(error) == "ZeroDivisionError: division by zero (line 2, column 8; in (/ a 0))"
    error = failure(impl, "\n  (foo)")
    assert describe_error(error) == "KeyError: 'foo' (line 2, column 3; in (foo))"


def test_parse_error_detail_in_description():
    from mom.dsl.program import compile_policy

    with pytest.raises(PolicyError) as caught:
        compile_policy("(defvar x\n  (+ 1 2)")
    assert caught.value.describe() == (
        "parse error (line 1, column 1; '(' opened at line 1, column 1 is never closed; in (defvar x (+ 1 2))"
    )
