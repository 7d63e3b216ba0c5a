"""Fixtures for tests and benchmarks: ``impl`` runs one against both implementations.

The fast path's parameter skips when the extension is not built, unless
``MOM_REQUIRE_FASTPATH=1`` (then it fails), and is deselected by ``--no-fastpath`` or
``MOM_PUREPYTHON=1``.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from tests.implementations import load_implementation


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--no-fastpath", action="store_true", help="skip the compiled fast path")


@pytest.fixture(
    params=[
        pytest.param("cython", marks=pytest.mark.fastpath, id="cython-fastpath"),
        pytest.param("python", id="python-reference"),
    ]
)
def impl(request: pytest.FixtureRequest) -> ModuleType:
    """The engine module of one implementation: ``compile_policy(text)`` -> Program."""
    return load_implementation(request.param, request.config)


@pytest.fixture(autouse=True)
def _restore_mom_logger() -> Any:
    """Put the ``mom`` logger back as it was: an in-process MOM sets its level,
    handlers and ``propagate=False``, which would hide later tests' records from caplog."""
    import logging

    logger = logging.getLogger("mom")
    saved = (logger.level, logger.propagate, list(logger.handlers), logger.disabled)
    yield
    logger.setLevel(saved[0])
    logger.propagate = saved[1]
    logger.handlers[:] = saved[2]
    logger.disabled = saved[3]


@pytest.fixture
def caplog(caplog: pytest.LogCaptureFixture) -> Any:
    """pytest's caplog, also attached to logger ``mom`` (which does not propagate once
    MOM ran); each record reaches caplog once, through this handler."""
    import logging

    logger = logging.getLogger("mom")
    propagate = logger.propagate
    logger.propagate = False
    logger.addHandler(caplog.handler)
    yield caplog
    logger.removeHandler(caplog.handler)
    logger.propagate = propagate
