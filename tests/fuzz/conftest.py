"""The fuzz targets' time (``share``: this run's seconds per target, see tests/fuzz/budget.py) and engines."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fuzz.budget import TOTAL_SECONDS
from tests.implementations import load_implementation


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fuzz_target: a fuzz target; `make fuzz` shares its time among them")
    # Hypothesis runs a test with Python's recursion limit set to its depth + 2000; our
    # compilers raise it back to what the policy limits need (mom/dsl/limits.py), which
    # Hypothesis reports on leaving the test
    config.addinivalue_line(
        "filterwarnings", "ignore:The recursion limit will not be reset:hypothesis.errors.HypothesisWarning"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    targets = [item for item in items if item.get_closest_marker("fuzz_target")]
    config.stash[_SHARE] = TOTAL_SECONDS / len(targets) if targets and TOTAL_SECONDS else 0.0


_SHARE = pytest.StashKey[float]()


@pytest.fixture
def share(request: pytest.FixtureRequest) -> float:
    """Seconds this fuzz target runs for (0: once, deterministically)."""
    return request.config.stash.get(_SHARE, 0.0)


@pytest.fixture(scope="module")
def engines(request: pytest.FixtureRequest) -> tuple[Any, Any]:
    """(reference, fast path): the engine modules of both implementations."""
    return load_implementation("python", request.config), load_implementation("cython", request.config)
