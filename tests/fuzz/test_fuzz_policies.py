"""Fuzz target: the reader, both compilers and both VMs on generated and broken policy text.

Every text (tests/fuzz/grammar.py) is compiled and evaluated by the reference and by
the fast path on identical copies of the same entities (tests/fuzz/policy_check.py).
They must agree on the value (type, and floats to the bit), the controls, variables
and IO limits written, and on an error's type and message; an error must be a
PolicyError or one of the Python errors upstream's evaluator is documented to raise
(spec 5), never a RecursionError, MemoryError, SystemError or AssertionError, never a
hang (tests/fuzz/budget.py's watchdog).  Findings are kept in test_fuzz_findings.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given

from tests.fuzz.budget import fuzz_settings, run_budgeted, watchdog
from tests.fuzz.grammar import policy_texts
from tests.fuzz.policy_check import check, clean, outcome
from tests.implementations import load_implementation


@pytest.mark.fastpath
@pytest.mark.fuzz_target
def test_policies_agree_and_fail_cleanly(engines: Any, share: float) -> None:
    reference, fast = engines

    @fuzz_settings()
    @given(text=policy_texts())
    def target(text: str) -> None:
        check(reference, fast, text)

    run_budgeted(target, share)


@pytest.mark.fuzz_target
def test_the_reference_alone_fails_cleanly(share: float, request: pytest.FixtureRequest) -> None:
    """Also where the fast path is not built: the reference's errors are all clean."""
    reference = load_implementation("python", request.config)

    @fuzz_settings(examples=60)
    @given(text=policy_texts())
    def target(text: str) -> None:
        with watchdog():
            clean(text, outcome(reference, text)[2])

    run_budgeted(target, share)
