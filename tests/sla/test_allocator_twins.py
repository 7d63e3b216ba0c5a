"""The compiled allocator against its reference: same results to the bit, same interface."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from mom.sla import allocator as reference
from tests.sla.twins import assert_same, hosts, load_allocator, random_host

pytestmark = pytest.mark.fastpath


@pytest.fixture
def fast(request):  # type: ignore[no-untyped-def]
    return load_allocator("cython", request.config)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(inputs=hosts(max_guests=40))
def test_twins_agree_on_random_small_hosts(fast, inputs):  # type: ignore[no-untyped-def]
    assert_same(reference.allocate(**inputs), fast.allocate(**inputs))


@pytest.mark.parametrize(("n", "seed"), [(1, 0), (10, 1), (100, 2), (1000, 4), (1000, 5), (10000, 4), (10000, 6)])
def test_twins_agree_on_random_large_hosts(fast, n, seed):  # type: ignore[no-untyped-def]
    inputs = random_host(n, seed)
    for host_free in (0, inputs["threshold"] + 1, 1 << 27):  # reclaim, hold, release
        inputs["host_free"] = host_free
        assert_same(reference.allocate(**inputs), fast.allocate(**inputs))


@pytest.mark.parametrize("seed", [4, 5, 7])
def test_twins_agree_on_the_largest_quantities(fast, seed):  # type: ignore[no-untyped-def]
    inputs = random_host(300, seed, shift=19)  # balloons up to MAX_KIB (16 PiB)
    assert int(inputs["balloon_max"].max()) > reference.MAX_KIB // 2
    for host_free in (0, inputs["threshold"] + 1, 1 << 46):
        inputs["host_free"] = host_free
        assert_same(reference.allocate(**inputs), fast.allocate(**inputs))


def test_large_hosts_cover_every_regime(fast):  # type: ignore[no-untyped-def]
    """The seeds above are not all one case: shares water-filled and floors given up both occur."""
    levels = {n_seed: reference.allocate(**random_host(*n_seed)).level for n_seed in [(1000, 4), (1000, 5), (10000, 4), (10000, 6)]}
    assert 0.0 in levels.values()
    assert any(0.0 < level < float("inf") for level in levels.values())


def test_stub_and_extension_present_the_reference_signature(fast):  # type: ignore[no-untyped-def]
    stub_path = Path(fast.__file__).with_name("allocator.pyi")
    tree = ast.parse(stub_path.read_text())
    (stub,) = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "allocate"]
    expected = inspect.signature(reference.allocate)
    assert [arg.arg for arg in stub.args.kwonlyargs] == list(expected.parameters)
    defaults = [None if d is None else ast.literal_eval(d) for d in stub.args.kw_defaults]
    assert defaults == [None if p.default is inspect.Parameter.empty else p.default for p in expected.parameters.values()]
    assert ast.unparse(stub.returns) == "Allocation"
    compiled = inspect.signature(fast.allocate)
    assert [(p.name, p.kind, p.default) for p in compiled.parameters.values()] == [
        (p.name, p.kind, p.default) for p in expected.parameters.values()
    ]


def test_the_compiled_limits_are_the_references(fast):  # type: ignore[no-untyped-def]
    """The extension copies the reference's limits into C constants: one past each is refused by both."""
    inputs = random_host(2, 0)
    inputs["balloon_max"][0] = reference.MAX_KIB + 1
    with pytest.raises(ValueError) as error:
        fast.allocate(**inputs)
    assert str(error.value).endswith(f"is outside 0..{reference.MAX_KIB}")
    inputs = random_host(2, 0)
    inputs["priority"][1] = reference.MAX_PRIORITY + 1
    with pytest.raises(ValueError, match=f"0..{reference.MAX_PRIORITY}$"):
        fast.allocate(**inputs)
    inputs = random_host(2, 0)
    inputs["reclaim_rank"][1] = reference.PLATINUM + 1
    with pytest.raises(ValueError, match=f"0..{reference.PLATINUM}$"):
        fast.allocate(**inputs)
    # the counting sort has a bucket per (rank, priority)
    assert fast.N_SORT_BUCKETS == (reference.PLATINUM + 1) * (reference.MAX_PRIORITY + 1)


def test_impl_selects_the_compiled_allocator(fast):  # type: ignore[no-untyped-def]
    from mom import _impl

    assert _impl.allocator is (fast if _impl.IMPLEMENTATION == "cython" else reference)
