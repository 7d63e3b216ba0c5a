"""Resource limits of the policy language, shared by both implementations.

Upstream has none: a deep policy crashes with RecursionError, an endless one hangs the
policy thread.  These bounds are far above anything a real policy needs (vdsm's six
files nest at most 9 deep and make about 15 calls per guest).

The nesting and call-depth bounds are upstream's own ceilings at Python's default
recursion limit of 1,000 frames, so that every program upstream evaluates is accepted
(issue 16, finding 5), and what is refused would crash upstream:

- **Nesting 333.**  Upstream's parser (spark's Earley parser) builds its tree with one
  recursive call per grammar symbol: a nested form costs at least three frames per
  level (``value``, ``list`` and the ``value_list`` holding it, when it is its list's
  last item; more for an earlier item, as the list is left-recursive).  Deeper than
  1000 // 3 = 333 levels therefore always exceeds 1,000 frames while upstream parses,
  before it evaluates anything; its evaluator needs two (operators) or three (``let``,
  ``if``) frames per level, fewer than its parser.
- **Call depth 200.**  A call of a user function costs upstream at least five frames
  (``eval`` of the call, ``default``, ``eval`` of the ``let`` it rewrites the call
  to, ``_dispatch``, ``c_let``, which evaluates the body: the next call), so more than
  1000 // 5 = 200 calls in progress always exceed 1,000 frames; a recursion that ends
  needs an ``if`` too (three frames more per call, about 124 calls at most).

Our compilers are recursive and use up to about six frames per level of nesting (our
evaluators fewer than upstream's), so compiling and evaluating raise Python's
recursion limit, once and never lowering it, to what these bounds need
(:func:`ensure_recursion_limit`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from mom.errors import PolicyError

__all__ = ["Limits", "DEFAULT_LIMITS", "ensure_recursion_limit", "step_limit_error", "call_depth_error", "too_deep_error"]


@dataclass(frozen=True)
class Limits:
    """Bounds applied while reading and evaluating one policy."""

    #: characters of policy text (all named policies concatenated)
    max_source_chars: int = 1 << 20
    #: nesting of (), [] and {} in the source
    max_nesting: int = 333
    #: user-function calls in progress at once (recursion depth)
    max_call_depth: int = 200
    #: user-function calls plus ``with`` iterations in one evaluation
    max_steps: int = 1_000_000
    #: bits of an integer produced by ``*`` or ``<<``
    max_int_bits: int = 1 << 16
    #: length of a string or list produced by ``+`` or ``*``
    max_sequence_len: int = 1 << 20


DEFAULT_LIMITS = Limits()

#: Python frames our compilers and the reference's evaluation use per level of nesting,
#: at most, with a margin (measured: 6.2 for nested operators on the reference)
FRAMES_PER_LEVEL = 8
#: frames left for the caller's stack: Python's default limit
_CALLER_FRAMES = 1000


def ensure_recursion_limit(limits: Limits) -> None:
    """Raise Python's recursion limit to what ``limits`` need (never lowering it: the
    limit is the process's, and other threads may be deep)."""
    needed = _CALLER_FRAMES + FRAMES_PER_LEVEL * limits.max_nesting + 3 * limits.max_call_depth
    if sys.getrecursionlimit() < needed:
        sys.setrecursionlimit(needed)


# ## The errors a limit raises (both implementations raise these very texts)


def step_limit_error(limits: Limits) -> PolicyError:
    return PolicyError(
        f"evaluation step limit reached ({limits.max_steps} function calls and loop iterations): endless policy?"
    )


def call_depth_error(limits: Limits, name: str) -> PolicyError:
    return PolicyError(f"calls nested deeper than {limits.max_call_depth} in function {name!r}: endless recursion?")


def too_deep_error() -> PolicyError:
    """The safety net's error: the limits above should always come first."""
    return PolicyError("policy evaluation too deep: endless recursion?")


# at import, before a caller (a test runner, say) saves the limit to restore it later
ensure_recursion_limit(DEFAULT_LIMITS)
