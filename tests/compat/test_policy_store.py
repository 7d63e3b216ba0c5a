"""Upstream's ``Policy`` class: named policies, rollback, evaluation outcome (spec 5.6)."""

from __future__ import annotations

import logging

import pytest

from mom.offline import entity_from_spec
from mom.Policy.Policy import Policy


@pytest.fixture
def store(impl):  # type: ignore[no-untyped-def]
    return Policy(implementation=impl)


@pytest.fixture
def host():  # type: ignore[no-untyped-def]
    return entity_from_spec({"name": "host", "stats": [{"mem_free": 5}]})


def test_empty_store_reads_as_zero(store):  # type: ignore[no-untyped-def]
    assert store.get_string() == "0"
    assert store.get_strings() == {}


def test_default_name_and_sorted_concatenation(store):  # type: ignore[no-untyped-def]
    assert store.set_policy(None, "(defvar b 2)") is True
    assert store.set_policy("10_first", "(defvar a 1)") is True
    assert store.get_strings() == {"50_main_": "(defvar b 2)", "10_first": "(defvar a 1)"}
    assert store.get_string() == "(defvar a 1)\n(defvar b 2)"
    assert store.get_strings("10_first") == "(defvar a 1)"


def test_a_parse_error_keeps_the_previous_text_and_program(store, host, caplog):  # type: ignore[no-untyped-def]
    assert store.set_policy("p", '(Host.Control "x" 1)')
    with caplog.at_level(logging.ERROR, logger="mom.Policy"):
        assert store.set_policy("p", "(Host.Control") is False
        assert store.set_policy("q", "(((") is False
    assert store.get_strings() == {"p": '(Host.Control "x" 1)'}
    assert "Unable to load policy: parse error" in caplog.text
    assert store.evaluate(host, []) is True
    assert host.controls == {"x": 1}


def test_policies_depend_on_each_other_through_the_concatenation(store, host):  # type: ignore[no-untyped-def]
    assert store.set_policy("01", "(defvar limit 3)")
    assert store.set_policy("02", '(Host.Control "limit" limit)')
    assert store.evaluate(host, []) is True
    assert host.controls == {"limit": 3}


def test_delete_with_none(store, caplog):  # type: ignore[no-untyped-def]
    store.set_policy("a", "1")
    with caplog.at_level(logging.INFO, logger="mom.Policy"):
        assert store.set_policy("a", None) is True
    assert store.get_strings() == {}
    assert "Deleted policy 'a'" in caplog.text


def test_whitespace_or_comment_only_is_fine(store, host):  # type: ignore[no-untyped-def]
    # upstream raised IndexError and kept the bad string; fixed: it is an empty policy
    assert store.set_policy("01-parameters", "# nothing to set\n   ") is True
    assert store.evaluate(host, []) is True


def test_unknown_character_drops_later_policies_as_upstream_but_warns(store, host, caplog):  # type: ignore[no-untyped-def]
    with caplog.at_level(logging.WARNING, logger="mom.Policy"):
        assert store.set_policy("a", '(Host.Control "a" 1) @')
        assert store.set_policy("b", '(Host.Control "b" 1)')
    assert store.evaluate(host, []) is True
    assert host.controls == {"a": 1}  # upstream drops "b" too
    assert "is not part of the language" in caplog.text


def test_a_final_comment_without_newline_is_no_warning(store, caplog):  # type: ignore[no-untyped-def]
    # vdsm's comment-only 01-parameters.policy ends that way
    with caplog.at_level(logging.WARNING, logger="mom.Policy"):
        assert store.set_policy("zz", "(+ 1 2)\n# the end")
    assert caplog.records == []


def test_runtime_errors_abort_and_keep_earlier_controls(store, host, caplog):  # type: ignore[no-untyped-def]
    store.set_policy(None, '(Host.Control "before" 1) (undefined_thing) (Host.Control "after" 1)')
    with caplog.at_level(logging.ERROR, logger="mom.Policy"):
        assert store.evaluate(host, []) is False
    assert host.controls == {"before": 1}
    assert "Unexpected error when evaluating policy: KeyError: 'undefined_thing'" in caplog.text
    store.set_policy(None, "(+ 1 x)")
    with caplog.at_level(logging.ERROR, logger="mom.Policy"):
        assert store.evaluate(host, []) is False
    assert "Policy error: undefined symbol x on line 1" in caplog.text


def test_clear_policy(store, host):  # type: ignore[no-untyped-def]
    store.set_policy("a", '(Host.Control "a" 1)')
    store.clear_policy()
    assert store.get_string() == "0"
    assert store.evaluate(host, []) is True
    assert host.controls == {}


def test_each_evaluation_starts_fresh(store, host):  # type: ignore[no-untyped-def]
    store.set_policy(None, '(defvar n 0) (set n (+ n 1)) (Host.Control "n" n)')
    store.evaluate(host, [])
    store.evaluate(host, [])
    assert host.controls == {"n": 1}


def test_last_error_keeps_the_failure_of_the_last_call(store, host):  # type: ignore[no-untyped-def]
    assert store.last_error is None
    assert store.set_policy("p", "(+ 1") is False
    error = store.last_error
    assert str(error) == "parse error" and error.position == (1, 1)
    assert error.__traceback__ is None  # nothing of the failed call stays alive
    assert store.set_policy("p", "(+ 1 x)") is True
    assert store.last_error is None
    assert store.evaluate(host, []) is False
    assert str(store.last_error) == "undefined symbol x on line 1"
    assert store.last_error.position == (1, 6)
    assert store.set_policy("p", "(/ 1 0)") and store.evaluate(host, []) is False
    assert type(store.last_error) is ZeroDivisionError
    assert store.set_policy("p", "1") and store.evaluate(host, []) is True
    assert store.last_error is None


@pytest.mark.parametrize(
    "text",
    [
        "(<< 1 14300)",  # 4,305 digits
        "(defvar x 5) (with Guests g (* (<< 1 14300) 3))",
        "(let ((x (<< 1 14300))) (+ x 1))",
        # the fast path's engine variant collects no lists: it must look where they would be
        "(with Guests g (with Guests h (if (== h g) (<< 1 14300) 0)))",
        "(if (== 1 1) (with Guests g (<< 1 14300)) 0)",
        "(def f (g) (with Guests h (<< 1 14300))) (with Guests g (f g))",
        "(let ((l (with Guests g (<< 1 14300)))) l)",
        "(defvar l (with Guests g (<< 1 14300))) 0",
    ],
)
def test_a_result_over_the_digit_limit_fails_the_evaluation(store, host, caplog, text):  # type: ignore[no-untyped-def]
    """Upstream formats its results line even with debug off (issue 16, finding 4)."""
    assert store.set_policy("p", f'(Host.Control "before" 1) {text}')
    with caplog.at_level(logging.ERROR, logger="mom.Policy"):
        assert store.evaluate(host, [host]) is False
    assert "Unexpected error when evaluating policy: ValueError: Exceeds the limit (4300 digits)" in caplog.text
    assert host.controls == {"before": 1}  # controls set before the failure stay (spec 5.6)


@pytest.mark.parametrize(
    "text",
    [
        "(> (<< 1 14300) 0)",
        "(<< 1 14200)",
        "(let ((l (with Guests g (<< 1 14300)))) 0)",
        "(with Guests g (let ((x (<< 1 14300))) (> x 0)))",
        "(def f (g) (<< 1 14300)) (with Guests g (> (f g) 1))",
    ],
)
def test_big_values_that_do_not_reach_the_results_line_are_fine(store, host, text):  # type: ignore[no-untyped-def]
    assert store.set_policy("p", text)
    assert store.evaluate(host, [host]) is True


class Holder:
    """A foreign object whose list a policy can take, and which grows it afterwards."""

    def __init__(self) -> None:
        self.kept = [1, 2]

    def items(self) -> list[int]:
        return self.kept

    def grow(self) -> int:
        self.kept.append(1 << 14300)
        return 0


@pytest.mark.parametrize("grows", [True, False])
def test_the_results_are_checked_as_they_are_at_the_end(store, host, grows):  # type: ignore[no-untyped-def]
    """Upstream formats its results after the whole run: a list taken early and grown
    later by foreign code holds the big int by then."""
    text = "(with Guests g (g.items))" + (" (with Guests g (g.grow))" if grows else "")
    assert store.set_policy("p", text)
    assert store.evaluate(host, [Holder()]) is (not grows)
