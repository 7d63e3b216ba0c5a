"""The fast path presents the reference's interface (the twin contract)."""

from __future__ import annotations

import inspect
import re

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
    import importlib
    from pathlib import Path

    from mom._fastpath import vm

    directory = Path(vm.__file__).parent
    extensions = sorted(path.stem for path in directory.glob("*.pyx"))
    assert {"vm", "code", "rows", "values", "operators"} <= set(extensions)
    for name in extensions:
        module = importlib.import_module(f"mom._fastpath.{name}")
        stub = (directory / f"{name}.pyi").read_text()  # every extension has its stub
        # the classes the stub declares exist, and every public class is declared
        declared = set(re.findall(r"^class (\w+)", stub, flags=re.M))
        public = {key for key, value in vars(module).items() if isinstance(value, type) and value.__module__ == module.__name__}
        assert declared == public, name
    assert {"Code"} <= set(re.findall(r"^class (\w+)", (directory / "code.pyi").read_text(), flags=re.M))
    assert {"Machine"} <= set(re.findall(r"^class (\w+)", (directory / "vm.pyi").read_text(), flags=re.M))


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


@pytest.mark.fastpath
def test_the_c_prefilter_of_big_ints_agrees_with_the_reference_check(request):  # type: ignore[no-untyped-def]
    """holds_big_int (C) must find every int mom.dsl.results.unprintable would fail on,
    through lists, tuples, dicts, shared and cyclic containers."""
    load_implementation("cython", request.config)
    from mom._fastpath.vm import holds_big_int
    from mom.dsl.results import big_int_bits, unprintable

    big = 1 << 14300
    cyclic: list = [1, 2.5, None, "x"]
    cyclic.append(cyclic)
    shared = [3, [4]]
    cases = [  # (values, whether upstream's results line fails on them)
        ([cyclic], False),
        ([cyclic, [big]], True),
        ([shared, shared, (shared, {"k": shared})], False),
        ([[1, 2], [None], [[[big]]]], True),
        ([{big: 1}], True),
        ([{"k": (1, big)}], True),
        ([(cyclic, [[], [()]]), 2**63, -(2**64)], False),
        ([[1 << 13000]], False),  # more bits than the bound, fewer digits than the limit
    ]
    bits = big_int_bits()
    for values, fails in cases:
        assert (unprintable(values) is not None) is fails, values
        if fails:
            assert holds_big_int(values, bits), values
