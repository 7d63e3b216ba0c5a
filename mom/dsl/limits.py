"""Resource limits of the policy language, shared by both implementations.

Upstream has none: a deep policy crashes with RecursionError, an endless one hangs the
policy thread.  These bounds are far above anything a real policy needs (vdsm's six
files nest at most 9 deep and make about 15 calls per guest).
"""

from __future__ import annotations

from dataclasses import dataclass

from mom.errors import PolicyError

__all__ = ["Limits", "DEFAULT_LIMITS", "step_limit_error", "call_depth_error", "too_deep_error"]


@dataclass(frozen=True)
class Limits:
    """Bounds applied while reading and evaluating one policy."""

    #: characters of policy text (all named policies concatenated)
    max_source_chars: int = 1 << 20
    #: nesting of (), [] and {} in the source
    max_nesting: int = 100
    #: user-function calls in progress at once (recursion depth)
    max_call_depth: int = 100
    #: user-function calls plus ``with`` iterations in one evaluation
    max_steps: int = 1_000_000
    #: bits of an integer produced by ``*`` or ``<<``
    max_int_bits: int = 1 << 16
    #: length of a string or list produced by ``+`` or ``*``
    max_sequence_len: int = 1 << 20


DEFAULT_LIMITS = Limits()


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
