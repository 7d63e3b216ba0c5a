"""Which implementation of the policy language a test runs against.

The fast path's tests skip when the extension is not built, unless
``MOM_REQUIRE_FASTPATH=1`` (then they fail), and are deselected by ``--no-fastpath``
or ``MOM_PUREPYTHON=1``.
"""

from __future__ import annotations

import os
from types import ModuleType

import pytest


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "no", "false")


def load_implementation(name: str, config: pytest.Config) -> ModuleType:
    if name == "python":
        from mom.dsl import program

        return program
    if config.getoption("--no-fastpath") or _flag("MOM_PUREPYTHON"):
        pytest.skip("fast path deselected (--no-fastpath or MOM_PUREPYTHON=1)")
    try:
        from mom._fastpath import program  # type: ignore[attr-defined]
    except ImportError as error:
        if _flag("MOM_REQUIRE_FASTPATH"):
            pytest.fail(f"MOM_REQUIRE_FASTPATH=1 but the fast path cannot be imported: {error}")
        pytest.skip(f"fast path not built: {error}")
    return program
