"""The builtins' argument table (spec 5.4): kinds, and the errors a call's text decides."""

from __future__ import annotations

import pytest

from mom.dsl.builtins import BUILTINS, call_error, non_symbol_argument
from mom.dsl.reader import read


def test_symbol_arguments_come_from_the_kinds() -> None:
    positions = {name: spec.symbol_arguments for name, spec in BUILTINS.items() if spec.symbol_arguments}
    assert positions == {"def": (0,), "defun": (0,), "defvar": (0,), "set": (0,), "setq": (0,), "with": (0, 1)}
    assert (BUILTINS["let"].kinds, BUILTINS["let"].rest) == (("code", "code"), "code")
    assert (BUILTINS["null"].kinds, BUILTINS["null"].rest) == ((), "value")


@pytest.mark.parametrize(
    ("source", "message", "bad"),
    [
        ("(defvar x 1)", None, None),
        ("(with Guests g 1)", None, None),
        ("(add 1 2)", None, None),
        ("(defvar 1 2)", "malformed expression on line 1", 0),
        ("\n(with Guests (g) 1)", "malformed expression on line 2", 1),
        # the arity is checked first
        ("(defvar 1)", "arity mismatch in doc parsing of 'c_defvar' on line 1", None),
        ("(and)", "not enough arguments for 'c_and' on line 1", None),
    ],
)
def test_call_error(source: str, message: str | None, bad: int | None) -> None:
    [form] = read(source).forms
    spec, args = BUILTINS[form[0].value], form[1:]
    error = call_error(spec, args, form[0].line)
    assert (None if error is None else str(error)) == message
    if error is not None:
        assert error.line == form[0].line
    if message is None or "malformed" in message:
        assert non_symbol_argument(spec, args) == bad
