"""The fast path presents the reference's interface (the twin contract)."""

from __future__ import annotations

import inspect

import pytest

from mom.dsl import program as reference


@pytest.mark.fastpath
def test_engine_twins_share_their_public_interface(impl):  # type: ignore[no-untyped-def]
    assert inspect.signature(impl.compile_policy).parameters.keys() == inspect.signature(reference.compile_policy).parameters.keys()
    program = impl.compile_policy("(+ 1 2)")
    for name in ("execute", "evaluate", "forms", "source", "discarded_at", "limits"):
        assert hasattr(program, name), name
    assert program.execute({}) == [3]


def test_implementation_is_chosen_in_one_place_and_described():
    from mom import _impl

    assert _impl.IMPLEMENTATION in ("cython", "python")
    assert _impl.describe().startswith("policy engine: ")
    assert _impl.engine.compile_policy("(* 6 7)").execute({}) == [42]


def test_stub_names_the_extensions_classes():
    vm = pytest.importorskip("mom._fastpath.vm", reason="fast path not built")
    stub = open(vm.__file__.rsplit("/", 1)[0] + "/vm.pyi").read()
    for name in ("Code", "Machine"):
        assert f"class {name}" in stub and hasattr(vm, name)
