"""The one place that chooses between the Cython fast path and the pure-Python reference.

``MOM_PUREPYTHON=1`` forces the reference; ``MOM_REQUIRE_FASTPATH=1`` makes a missing
extension an error instead of a fallback.  Everything else imports ``engine`` (and
reads ``IMPLEMENTATION``) from here, never from the twins directly.
"""

from __future__ import annotations

import logging
import os
from types import ModuleType
from typing import TYPE_CHECKING, Literal

from mom.errors import FastPathUnavailable

__all__ = ["IMPLEMENTATION", "REASON", "allocator", "engine", "describe", "reference"]

_log = logging.getLogger("mom")


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "no", "false")


def _select() -> tuple[ModuleType, Literal["cython", "python"], str]:
    from mom.dsl import program as reference_engine

    force_python = _flag("MOM_PUREPYTHON")
    require = _flag("MOM_REQUIRE_FASTPATH")
    if force_python and require:
        raise FastPathUnavailable("MOM_PUREPYTHON and MOM_REQUIRE_FASTPATH are both set")
    if force_python:
        return reference_engine, "python", "MOM_PUREPYTHON is set"
    try:
        from mom._fastpath import engine as fast_engine  # type: ignore[attr-defined]
    except ImportError as error:
        if require:
            raise FastPathUnavailable(
                f"MOM_REQUIRE_FASTPATH is set but the fast path cannot be imported: {error}; "
                "will not degrade to pure Python"
            ) from error
        return reference_engine, "python", f"fast path not available: {error}"
    return fast_engine, "cython", "compiled extension loaded"


if TYPE_CHECKING:
    from mom.dsl import program as engine

    IMPLEMENTATION: Literal["cython", "python"]
    REASON: str
else:
    engine, IMPLEMENTATION, REASON = _select()

from mom.dsl import program as reference  # noqa: E402  (the oracle, always available)

# the SLA allocator follows the engine's choice (one extension build holds both)
if TYPE_CHECKING or IMPLEMENTATION == "python":
    from mom.sla import allocator
else:
    from mom._fastpath import allocator  # type: ignore[attr-defined]


def describe() -> str:
    """One line for logs, ``--version`` and RPC statistics."""
    if IMPLEMENTATION == "cython":
        return "policy engine: cython fast path"
    return f"policy engine: pure-Python reference ({REASON})"
