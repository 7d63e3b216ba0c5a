"""Every fuzz finding, kept as a regression test (see tests/fuzz/findings.py).

Findings in the policy language's compilers and VMs are strict xfails until their
owners fix them: the example still shows the disagreement, with the reason.
"""

from __future__ import annotations

import pytest

from tests.fuzz.findings import POLICY_FINDINGS
from tests.fuzz.policy_check import outcome


@pytest.mark.fastpath
@pytest.mark.parametrize(
    "finding",
    [pytest.param(f, id=f.name, marks=() if f.fixed else pytest.mark.xfail(strict=True, reason=f.reason)) for f in POLICY_FINDINGS],
)
def test_policy_finding(engines, finding):
    reference, fast = engines
    expected, got = outcome(reference, finding.example), outcome(fast, finding.example)
    assert not finding.matches(expected[0], got[0]), f"{finding.example!r}: reference {expected[0]}, fast {got[0]}"
    assert got[:2] == expected[:2]
