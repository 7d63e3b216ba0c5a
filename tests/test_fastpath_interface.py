"""The fast path presents the reference's interface (the twin contract)."""

from __future__ import annotations

import inspect

import pytest

from mom.dsl import program as reference
from tests.implementations import load_implementation


@pytest.mark.fastpath
def test_engine_twins_share_their_public_interface(request):  # type: ignore[no-untyped-def]
    engine = load_implementation("cython", request.config)
    assert engine is not reference
    assert inspect.signature(engine.compile_policy).parameters.keys() == inspect.signature(reference.compile_policy).parameters.keys()
    program = engine.compile_policy("(+ 1 2)")
    for name in ("execute", "evaluate", "forms", "source", "discarded_at", "limits"):
        assert hasattr(program, name), name
    assert program.execute({}) == [3]


def test_implementation_is_chosen_in_one_place_and_described():
    from mom import _impl

    assert _impl.IMPLEMENTATION in ("cython", "python")
    assert _impl.describe().startswith("policy engine: ")
    assert _impl.engine.compile_policy("(* 6 7)").execute({}) == [42]


@pytest.mark.fastpath
def test_stub_names_the_extensions_classes(request):  # type: ignore[no-untyped-def]
    load_implementation("cython", request.config)  # skips or fails as the fast path's tests do
    from mom._fastpath import vm

    stub = open(vm.__file__.rsplit("/", 1)[0] + "/vm.pyi").read()
    for name in ("Code", "Machine"):
        assert f"class {name}" in stub and hasattr(vm, name)
