"""``allocator``: each test here runs on the reference and on the compiled twin."""

from __future__ import annotations

from types import ModuleType

import pytest

from tests.sla.twins import load_allocator


@pytest.fixture(
    params=[
        pytest.param("cython", marks=pytest.mark.fastpath, id="cython-fastpath"),
        pytest.param("python", id="python-reference"),
    ]
)
def allocator(request: pytest.FixtureRequest) -> ModuleType:
    """The allocator module of one implementation: ``allocate(**inputs)`` -> Allocation."""
    return load_allocator(request.param, request.config)
