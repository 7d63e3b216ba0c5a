"""Fixtures for tests and benchmarks: ``impl`` runs one against both implementations.

The fast path's parameter skips when the extension is not built, unless
``MOM_REQUIRE_FASTPATH=1`` (then it fails), and is deselected by ``--no-fastpath`` or
``MOM_PUREPYTHON=1``.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType

import pytest

SHARED = Path(__file__).resolve().parent.parent / "shared"


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "no", "false")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--no-fastpath", action="store_true", help="skip the compiled fast path")


def load_implementation(name: str, config: pytest.Config) -> ModuleType:
    if name == "python":
        from mom.dsl import program

        return program
    if config.getoption("--no-fastpath") or _flag("MOM_PUREPYTHON"):
        pytest.skip("fast path deselected (--no-fastpath or MOM_PUREPYTHON=1)")
    try:
        from mom._fastpath import engine  # type: ignore[attr-defined]
    except ImportError as error:
        if _flag("MOM_REQUIRE_FASTPATH"):
            pytest.fail(f"MOM_REQUIRE_FASTPATH=1 but the fast path cannot be imported: {error}")
        pytest.skip(f"fast path not built: {error}")
    return engine


@pytest.fixture(
    params=[
        pytest.param("cython", marks=pytest.mark.fastpath, id="cython-fastpath"),
        pytest.param("python", id="python-reference"),
    ]
)
def impl(request: pytest.FixtureRequest) -> ModuleType:
    """The engine module of one implementation: ``compile_policy(text)`` -> Program."""
    return load_implementation(request.param, request.config)


@pytest.fixture(scope="session")
def shared() -> Path:
    """The workplace's shared material (spec, real policies, golden outputs)."""
    if not SHARED.is_dir():
        pytest.fail(f"shared material not found at {SHARED}")
    return SHARED
