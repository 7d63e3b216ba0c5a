"""``mom.Policy.Parser`` as upstream's parser tests drive it."""

from __future__ import annotations

import pytest

import mom.errors
from mom.Policy import Parser


def test_eval_returns_one_result_per_expression():
    evaluator = Parser.Evaluator()
    assert Parser.eval(evaluator, "(+ 1 2) 4 (defvar x 5)") == [3, 4, 5]
    assert Parser.eval(evaluator, "x") == [5]  # the evaluator keeps its variables


def test_stack_set_allocates_in_the_innermost_scope():
    evaluator = Parser.Evaluator()
    evaluator.stack.set("guest_count", 3, True)
    assert Parser.eval(evaluator, "(* guest_count 2)") == [6]
    evaluator.stack.set("add", 1, True)  # shadows + from now on, as upstream
    with pytest.raises(TypeError):
        Parser.eval(evaluator, "(+ 1 2)")


def test_policy_error_is_the_package_error():
    assert Parser.PolicyError is mom.errors.PolicyError
    with pytest.raises(Parser.PolicyError, match="undefined symbol nothing on line 1"):
        Parser.eval(Parser.Evaluator(), "nothing")


def test_functions_persist_across_evaluations():
    evaluator = Parser.Evaluator()
    Parser.eval(evaluator, "(def double (x) (* x 2))")
    assert "double" in evaluator.funcs
    assert Parser.eval(evaluator, "(double 21)") == [42]


def test_get_code_and_evaluator_eval():
    evaluator = Parser.Evaluator()
    code = Parser.get_code(evaluator, "(+ 1 (* 2 3)) 7")
    assert isinstance(code, list) and len(code) == 2
    assert isinstance(code[0], list) and code[0][0].kind == "operator"
    assert [evaluator.eval(expression) for expression in code] == [7, 7]
    assert evaluator.eval([Parser.Token("operator", "+", 1), Parser.Token("number", "2", 1), Parser.Token("number", "3", 1)]) == 5


def test_an_error_mid_function_leaves_the_evaluator_usable():
    evaluator = Parser.Evaluator()
    with pytest.raises(ZeroDivisionError):
        Parser.eval(evaluator, "(def f (x) (/ 1 x)) (f 0)")
    assert Parser.eval(evaluator, "(f 4)") == [0.25]


def test_operators_list():
    assert set(Parser.Evaluator().get_operators()) >= {"+", "<=", ">>", "and", "valid"}


@pytest.mark.parametrize("text", ["", "  \n", "00", "0xg", "# a comment without a newline", "@ 1"])
def test_text_without_tokens_raises_index_error_as_upstream(text):
    with pytest.raises(IndexError, match="list index out of range"):
        Parser.eval(Parser.Evaluator(), text)
    with pytest.raises(IndexError, match="list index out of range"):
        Parser.get_code(Parser.Evaluator(), text)


def test_the_policy_store_still_reads_text_without_tokens_as_empty():
    from mom.Policy.Policy import Policy

    store = Policy()
    assert store.set_policy("empty", "00") is True
    assert store.set_policy("comment", "# nothing here") is True
