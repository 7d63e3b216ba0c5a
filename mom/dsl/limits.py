"""Resource limits of the policy language, shared by both implementations.

Upstream has none: a deep policy crashes with RecursionError, an endless one hangs the
policy thread.  These bounds are far above anything a real policy needs (vdsm's six
files nest at most 9 deep and make about 15 calls per guest).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Limits", "DEFAULT_LIMITS"]


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
