"""The two allocators for tests and benchmarks, random hosts, and the twins' comparison."""

from __future__ import annotations

import struct
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import strategies as st

from mom.sla import allocator as reference
from mom.sla.allocator import GUEST_COLUMNS, PLATINUM, RANKS
from tests.implementations import load_implementation


def load_allocator(name: str, config: pytest.Config) -> ModuleType:
    """``mom.sla.allocator`` or its compiled twin (skipping or failing as the engine's tests do)."""
    if name == "python":
        return reference
    load_implementation("cython", config)  # skips, or fails under MOM_REQUIRE_FASTPATH=1
    from mom._fastpath import allocator  # type: ignore[attr-defined]

    return allocator


def assert_same(expected: Any, got: Any) -> None:
    """Two Allocations agree: arrays in value and dtype, ints exact, the level to the bit."""
    assert type(got) is type(expected)
    for field in expected._fields:
        want, have = getattr(expected, field), getattr(got, field)
        if isinstance(want, np.ndarray):
            assert isinstance(have, np.ndarray) and have.dtype == want.dtype, field
            assert np.array_equal(have, want), (field, want, have)
        elif isinstance(want, float):
            assert type(have) is float and struct.pack("<d", have) == struct.pack("<d", want), (field, want, have)
        else:
            assert type(have) is type(want) and have == want, (field, want, have)


def soft_floors(inputs: dict[str, Any]) -> np.ndarray:
    """The floors as the README states them, before any is given up."""
    floors = np.minimum(inputs["balloon_max"], np.maximum(np.maximum(inputs["guarantee"], inputs["balloon_min"]), inputs["used"] + inputs["margin"]))
    platinum = np.asarray(inputs["reclaim_rank"]) == PLATINUM
    floors[platinum] = np.asarray(inputs["balloon_max"])[platinum]
    return floors


def shared_mask(inputs: dict[str, Any]) -> np.ndarray:
    """Guests the shares decide: neither excluded nor platinum."""
    return ~np.asarray(inputs["excluded"], dtype=bool) & (np.asarray(inputs["reclaim_rank"]) != PLATINUM)


@st.composite
def hosts(draw: Any, max_guests: int = 24, scale: int = 1 << 22) -> dict[str, Any]:
    """A host: per-guest columns and host scalars, with edge values (0, equal bounds) likely."""
    n = draw(st.integers(0, max_guests))
    kib = st.one_of(st.just(0), st.integers(0, scale), st.integers(0, 64))
    rows = []
    for _ in range(n):
        ceiling = draw(kib)
        minimum = draw(st.integers(0, ceiling))
        guarantee = draw(st.sampled_from([minimum, ceiling, max(minimum, ceiling * 3 // 4)]) | st.integers(minimum, ceiling))
        current = draw(st.sampled_from([0, minimum, guarantee, ceiling]) | st.integers(0, ceiling))
        rows.append(
            (
                ceiling,
                minimum,
                guarantee,
                draw(kib),  # used
                draw(st.sampled_from([0, 1024]) | st.integers(0, scale // 8)),  # margin
                draw(st.sampled_from(sorted(RANKS.values())) | st.integers(0, PLATINUM)),
                draw(st.sampled_from([0, 50, 100]) | st.integers(0, 100)),
                draw(st.integers(0, max(current, 1) * 2)),  # idle, sometimes above current
                current,
                draw(st.integers(0, 9)) == 0,  # excluded, rarely
            )
        )
    columns = list(zip(*rows)) if rows else [()] * len(GUEST_COLUMNS)
    inputs: dict[str, Any] = {}
    for name, values in zip(GUEST_COLUMNS, columns):
        inputs[name] = np.array(values, dtype=bool if name == "excluded" else np.int64)
    total = int(inputs["balloon_max"].sum())
    threshold = draw(st.integers(0, scale))
    band = draw(st.sampled_from([0, scale // 4]) | st.integers(0, scale))
    inputs.update(
        available=draw(st.integers(0, max(total * 5 // 4, 1)) | st.just(total)),
        threshold=threshold,
        band=band,
        host_free=draw(st.sampled_from([threshold, threshold + band, max(threshold - 1, 0), threshold + band + 1]) | st.integers(0, 2 * scale)),
        state=draw(st.integers(0, 1)),
        tax_rate=draw(st.sampled_from([0.0, 0.75, 0.5]) | st.floats(0.0, 0.99)),
        step_cap=draw(st.sampled_from([0.05, 1.0]) | st.floats(0.001, 1.0)),
        dead_band=draw(st.sampled_from([0.0, 0.0025]) | st.floats(0.0, 0.05)),
    )
    return inputs


KIB_INPUTS = ("balloon_max", "balloon_min", "guarantee", "used", "margin", "idle", "current", "available", "host_free", "threshold", "band")


def random_host(n: int, seed: int, shift: int = 0) -> dict[str, Any]:
    """A large random host (NumPy generator): mixed classes, from short of the floors
    to plenty; every KiB quantity ``<< shift`` (19 reaches MAX_KIB)."""
    inputs = _random_host(n, seed)
    for name in KIB_INPUTS:
        inputs[name] = inputs[name] << shift
    return inputs


def _random_host(n: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    ceiling = rng.integers(1 << 19, 1 << 25, n)  # 0.5 to 32 GiB
    minimum = (ceiling * rng.uniform(0.0, 0.5, n)).astype(np.int64)
    rank = rng.choice([0, 1, 2, 3, PLATINUM], n, p=[0.2, 0.15, 0.4, 0.2, 0.05])
    guarantee = np.where(rank == 3, ceiling * 3 // 4, minimum)
    guarantee = np.maximum(guarantee, minimum)
    current = (ceiling * rng.uniform(0.2, 1.0, n)).astype(np.int64)
    used = (current * rng.uniform(0.1, 0.9, n)).astype(np.int64)
    floors = np.minimum(ceiling, np.maximum(guarantee, used + (1 << 18)))
    floors[rank == PLATINUM] = ceiling[rank == PLATINUM]
    # from well short of the floors to plenty
    available = int(floors.sum() * rng.uniform(0.8, 1.6))
    return {
        "balloon_max": ceiling,
        "balloon_min": minimum,
        "guarantee": guarantee,
        "used": used,
        "margin": np.where(rank == 1, 1 << 17, 1 << 18).astype(np.int64),
        "reclaim_rank": rank.astype(np.int64),
        "priority": rng.integers(0, 101, n),
        "idle": (current - used) // 2,
        "current": current,
        "excluded": rng.random(n) < 0.02,
        "available": available,
        "host_free": int(rng.integers(0, 1 << 26)),
        "threshold": 1 << 24,
        "band": 1 << 23,
        "state": int(rng.integers(0, 2)),
    }
