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
    assert _impl.program.compile_policy("(* 6 7)").execute({}) == [42]


@pytest.mark.fastpath
def test_stub_names_the_extensions_classes(request):  # type: ignore[no-untyped-def]
    load_implementation("cython", request.config)  # skips or fails as the fast path's tests do
    from mom._fastpath import vm

    stub = open(vm.__file__.rsplit("/", 1)[0] + "/vm.pyi").read()
    for name in ("Code", "Machine"):
        assert f"class {name}" in stub and hasattr(vm, name)


@pytest.mark.fastpath
def test_an_error_while_binding_has_no_stale_position(request):  # type: ignore[no-untyped-def]
    """The VM reads bound rows when it binds them (the reference only when the policy
    does): a failure there has no policy position, not the previous evaluation's."""
    from mom.runtime.table import RowEntity
    from tests.implementations import load_implementation

    fast = load_implementation("cython", request.config)
    program = fast.compile_policy('(defvar a 1)\n(+ Host "x")')
    with pytest.raises(TypeError) as first:
        program.execute({"Host": 1})
    assert first.value.position == (2, 1)  # type: ignore[attr-defined]
    with pytest.raises(AttributeError) as second:
        program.execute({"Host": RowEntity(object(), 0)})  # a row of no table
    assert not hasattr(second.value, "position")
    assert program.execute({"Host": "y"}, results=False) is None
    assert program.execute({"Host": "y"}) == [1, "yx"]
