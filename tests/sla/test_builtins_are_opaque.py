"""The SLA builtins are called by a policy, never looked into: their kernels (on the fast
path raw-buffer C functions), the allocator, and ``sla_balloon``'s last call (which holds
the daemon's sample store) are not a policy's.  Both implementations."""

from __future__ import annotations

from typing import Any

import pytest

from mom.dsl.builtins_sla import PROGRAM_FUNCTION_NAMES
from mom.errors import PolicyError

PARTS = ("kernels", "function", "allocate", "last", "state")


@pytest.mark.parametrize("builtin", sorted(PROGRAM_FUNCTION_NAMES))
@pytest.mark.parametrize("part", PARTS)
def test_a_policy_sees_no_part_of_an_sla_builtin(impl: Any, builtin: str, part: str) -> None:
    with pytest.raises(PolicyError, match=f"undefined symbol {builtin}.{part} on line 1"):
        impl.compile_policy(f"(valid {builtin}.{part})").execute({})


def test_the_sample_store_is_not_reachable_through_the_last_call(impl: Any) -> None:
    text = '(defvar last sla_balloon.last) (defvar columns (last.get "columns")) columns.table'
    with pytest.raises(PolicyError, match="undefined symbol sla_balloon.last on line 1"):
        impl.compile_policy(text).execute({})
