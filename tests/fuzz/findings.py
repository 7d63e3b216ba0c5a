"""What the fuzzers found and is not fixed yet: each with its signature and one example.

A finding in the policy language's compilers or VMs is fixed by the helpers who own
that code; until then test_fuzz_findings.py holds each as an ``xfail(strict=True)``
regression test (it fails the day the finding is fixed, so the mark goes with the
fix), and the fuzz targets pass over examples with the same signature, so that a long
run goes on to new findings instead of stopping at a known one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

__all__ = ["Finding", "POLICY_FINDINGS", "known_policy_finding"]

#: an outcome as tests/fuzz/test_fuzz_policies.py builds it: ("ok", value) or ("error", type, message)
Outcome = tuple[Any, ...]


@dataclass(frozen=True)
class Finding:
    name: str
    example: str  #: a policy text showing it (Host, Guests, guest, x=5, t, s="a,b" bound)
    reason: str  #: what differs, and who fixes it
    matches: Callable[[Outcome, Outcome], bool]  #: (reference's, fast path's) -> is it this one
    fixed: bool = False  #: fixed since: the regression test must pass, the fuzzer no longer excuses it


def _dotted_head_truncated(reference: Outcome, fast: Outcome) -> bool:
    return (
        reference[:2] == ("error", "KeyError")
        and fast[:2] == ("error", "KeyError")
        and reference[2].count(".") > fast[2].count(".")
        and reference[2].startswith(fast[2][:-1])
    )


def _field_checked_before_arity(reference: Outcome, fast: Outcome) -> bool:
    return (
        reference[:2] == ("error", "TypeError")
        and "positional argument" in reference[2]
        and fast[:2] == ("error", "KeyError")
        and "is not declared in any collector" in fast[2]
    )


POLICY_FINDINGS = (
    Finding(
        "dotted-call-head-truncated",
        "(x.y.z)",
        "fast path: a call head with two dots that resolves to nothing raises KeyError('x.y') where "
        "the reference and upstream raise KeyError('x.y.z') (mom/_fastpath/vm.pyx method(): the key "
        "names symbol.attribute only); fuzz finding, for the DSL/VM owners",
        _dotted_head_truncated,
        fixed=True,
    ),
    Finding(
        "stat-field-before-arity",
        '(Host.Stat "mem_free_x" 1 2)',
        "fast path: Stat/StatAvg with a wrong argument count on an undeclared field raise "
        "KeyError('Field ... is not declared') where the reference and upstream raise the TypeError "
        "of the argument count (issue 16, differential finding 1); for the DSL/VM owners",
        _field_checked_before_arity,
        fixed=True,
    ),
)

_SPACES = re.compile(r"\s+")


def known_policy_finding(reference: Outcome, fast: Outcome) -> Finding | None:
    """The known finding a disagreement is an instance of, or None."""
    for finding in POLICY_FINDINGS:
        if not finding.fixed and finding.matches(reference, fast):
            return finding
    return None
