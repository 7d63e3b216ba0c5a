"""Whether a policy run's top-level values can be written in upstream's results line.

Upstream's ``Policy.evaluate`` formats ``"Results: %s" % results`` eagerly, debug
logging on or off, so a top-level value that cannot be turned into text ends the run
like any other error: an integer over Python's limit of digits for integer string
conversion (4,300 by default; ``(<< 1 14300)``) raises ValueError and ``evaluate``
returns False.  Both implementations' ``Program.evaluate`` ask :func:`unprintable`.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["unprintable", "big_int_bits"]


def big_int_bits() -> int:
    """Ints of at most this many bits always convert to text (0: no limit).

    An int of ``d`` digits has at least ``(d - 1) * log2(10)`` bits, so below this
    bound the digits are within the limit; above it :func:`unprintable` tries.
    """
    digits = sys.get_int_max_str_digits()
    return int((digits - 1) * 3.3219) if digits else 0


def unprintable(results: Any) -> ValueError | None:
    """The error formatting ``results`` raises, or None.

    Walks lists, tuples and dicts (what policies and their foreign objects return),
    each container once; only ints past :func:`big_int_bits` are converted.
    """
    bits = big_int_bits()
    if not bits:
        return None
    pending = [results]
    seen: set[int] = set()
    while pending:
        value = pending.pop()
        kind = type(value)
        if kind is int:
            if value.bit_length() > bits:
                try:
                    repr(value)
                except ValueError as error:
                    return error
        elif kind is list or kind is tuple or kind is dict:
            if id(value) in seen:
                continue
            seen.add(id(value))
            if kind is dict:
                pending.extend(value.keys())
                pending.extend(value.values())
            else:
                pending.extend(value)
    return None
