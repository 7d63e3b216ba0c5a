"""Generated policies and generated guest data: the fast path agrees with the reference.

Hypothesis writes well-formed policies from the whole language (arithmetic on edge
values, comparisons, and/or, defvar/set/let, with over the guests, user functions with
dynamic scoping, entity attributes and rule methods, controls) and guest tables with
edge values (0, negatives, 2**53 + 1, int64 limits, big ints, None, absent fields).
Both implementations run the same policy on identical copies of the data; results,
exceptions (type, text, position) and every control written must be the same, floats
to the bit.  The number of examples is bounded for CI (``--hypothesis-profile``).
"""

from __future__ import annotations

import math
import struct
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mom.dsl.limits import Limits
from mom.offline import entity_from_spec
from mom.runtime.entity import Entity
from mom.runtime.table import GuestSet, RowEntity, SampleTable
from tests.implementations import load_implementation

FIELDS = ["cur", "free", "max", "ratio", "flag"]
VARIABLES = ["a", "b", "c"]
LIMITS = Limits(max_steps=3000, max_call_depth=20)

INTS = st.sampled_from([0, 1, -1, 2, 7, -9, 100, 2**31, 2**53, 2**53 + 1, -(2**53) - 1, 2**62, 2**63 - 1, -(2**63)])
BIG = st.sampled_from([2**63, -(2**63) - 1, 10**30])
FLOATS = st.sampled_from([0.0, -0.0, 0.5, -2.25, 1e-300, 1e300, 1.7976931348623157e308, 0.1, 3.0])
VALUES = st.one_of(INTS, FLOATS, st.none(), st.booleans(), BIG)


# ## Policy text


def literal(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        text = repr(value)
        return text if "e" not in text and "." in text else f"{value:.17e}"
    return str(value)


@st.composite
def expressions(draw: Any, depth: int = 0) -> str:
    atoms = [
        st.builds(literal, st.one_of(INTS, FLOATS, st.none())),
        st.sampled_from(VARIABLES),
        st.sampled_from([f"g.{f}" for f in FIELDS] + ["Host.load", "g.nope"]),
        st.sampled_from(['"s"', '"ab"']),
    ]
    if depth >= 3:
        return draw(st.one_of(atoms))
    sub = expressions(depth + 1)
    forms = [
        st.builds(lambda op, x, y: f"({op} {x} {y})", st.sampled_from("+ - * / < > <= >= == != << >>".split()), sub, sub),
        st.builds(lambda op, xs: f"({op} {' '.join(xs)})", st.sampled_from(["and", "or", "min", "max", "valid", "null"]),
                  st.lists(sub, min_size=1, max_size=3)),
        st.builds(lambda x: f"(not {x})", sub),
        st.builds(lambda c, x, y: f"(if {c} {x} {y})", sub, sub, sub),
        st.builds(lambda v, x: f"(defvar {v} {x})", st.sampled_from(VARIABLES), sub),
        st.builds(lambda v, x: f"(set {v} {x})", st.sampled_from(VARIABLES), sub),
        st.builds(lambda v, x, y: f"(let (({v} {x})) {y})", st.sampled_from(VARIABLES), sub, sub),
        st.builds(lambda x: f"(f {x})", sub),
        st.builds(lambda x, y: f"(h {x} {y})", sub, sub),
        st.builds(lambda x: f"(abs {x})", sub),
        st.builds(lambda f: f'(g.Stat "{f}")', st.sampled_from(FIELDS + ["nope"])),
        st.builds(lambda f: f'(g.StatAvg "{f}")', st.sampled_from(FIELDS)),
        st.builds(lambda k, x: f'(g.Control "{k}" {x})', st.sampled_from(["t1", "t2"]), sub),
        st.builds(lambda k: f'(g.GetControl "{k}")', st.sampled_from(["t1", "t2"])),
        st.builds(lambda xs: "{" + " ".join(xs) + "}", st.lists(sub, min_size=1, max_size=3)),
    ]
    return draw(st.one_of(atoms + forms))


@st.composite
def policies(draw: Any) -> str:
    prelude = [f"(defvar {v} {literal(draw(st.one_of(INTS, FLOATS)))})" for v in VARIABLES]
    # f reads `g` from its caller (dynamic scoping); h binds its own names
    prelude.append(f"(def f (x) {draw(expressions(1))})")
    prelude.append(f"(def h (a y) {draw(expressions(1))})")
    body = draw(st.lists(expressions(1), min_size=1, max_size=3))
    loop = "(with Guests g {" + " ".join(body) + "})"
    tail = draw(st.lists(expressions(2), max_size=2))
    # outside the loop g is unbound: bind it to a guest through a one-item loop
    return "\n".join(prelude + [loop] + [f"(with Guests g {t})" for t in tail])


# ## Data


@st.composite
def guest_tables(draw: Any) -> list[list[dict[str, Any]]]:
    """Per guest, its samples (oldest first); a field missing from a sample is absent."""
    guests = []
    for _ in range(draw(st.integers(1, 6))):
        samples = []
        for _ in range(draw(st.integers(1, 4))):
            sample = {}
            for field in FIELDS:
                if draw(st.integers(0, 9)) > 0:
                    sample[field] = draw(VALUES)
            samples.append(sample)
        guests.append(samples)
    return guests


def build(guests: list[list[dict[str, Any]]], columnar: bool) -> tuple[Any, Any]:
    host_spec = {"name": "host", "stats": [{"load": 3}, {"load": 5.5}]}
    if not columnar:
        host = entity_from_spec(host_spec)
        entities = [
            entity_from_spec({"name": f"vm{i}", "stats": samples}, fields=[], optional_fields=FIELDS)
            for i, samples in enumerate(guests)
        ]
        return host, entities
    host_table = SampleTable(["load"], history=4)
    row = host_table.add_row("host")
    for sample in host_spec["stats"]:
        host_table.append(row, sample)
    table = SampleTable(FIELDS, history=4)
    rows = []
    for i, samples in enumerate(guests):
        guest_row = table.add_row(f"vm{i}", {"name": f"vm{i}"})
        for sample in samples:
            table.append(guest_row, sample)
        rows.append(guest_row)
    return host_table.view(row), GuestSet(table, rows)


# ## Comparing


def canonical(value: Any) -> Any:
    """A form of a policy value that compares exactly across two copies of the data."""
    if isinstance(value, float):
        return ("float", "nan" if math.isnan(value) else struct.pack("<d", value))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [canonical(v) for v in value])
    if isinstance(value, RowEntity):
        return ("row", value.row)
    if isinstance(value, Entity):
        return ("entity", value.properties.get("name"))
    if callable(value):
        return ("callable", getattr(value, "__name__", type(value).__name__))
    return (type(value).__name__, value)


def outcome(engine: Any, text: str, guests: list[list[dict[str, Any]]], columnar: bool, values: bool = True) -> Any:
    """What an evaluation gives and leaves; without ``values`` as the policy engine
    evaluates (the fast path then runs its checked variant), the values not compared."""
    host, entities = build(guests, columnar)
    try:
        program = engine.compile_policy(text, LIMITS)
        got = program.evaluate(host, entities, values)
        results = ("ok", canonical(got) if values else None)
    except Exception as error:  # noqa: BLE001  (every error must match)
        results = ("error", type(error).__name__, str(error), getattr(error, "position", None), getattr(error, "form", None))
    rows = list(entities)
    controls = [canonical(list(row.controls.items())) for row in rows]
    return results, controls


def disassembly(text: str) -> str:
    """The code the fast path ran, for a failing example's report."""
    from mom.dsl.bytecode import compile_bytecode, disassemble
    from mom.dsl.reader import read
    from mom.dsl.syntax import expressions

    try:
        result = read(text, LIMITS)
        return disassemble(compile_bytecode(expressions(result.forms), result.source))
    except Exception as error:  # noqa: BLE001  (a report, never a second failure)
        return f"(no code: {error!r})"


@pytest.fixture(scope="module")
def engines(request: pytest.FixtureRequest) -> tuple[Any, Any]:
    return load_implementation("python", request.config), load_implementation("cython", request.config)


@pytest.mark.fastpath
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=policies(), guests=guest_tables(), columnar=st.booleans())
def test_fast_path_agrees_with_reference(engines: Any, text: str, guests: Any, columnar: bool) -> None:
    reference, fast = engines
    expected = outcome(reference, text, guests, columnar)
    got = outcome(fast, text, guests, columnar)
    assert got == expected, f"policy:\n{text}\nguests: {guests}\ncolumnar: {columnar}\ncode:\n{disassembly(text)}"


@pytest.mark.fastpath
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=policies(), guests=guest_tables(), columnar=st.booleans())
def test_evaluation_without_values_agrees_with_reference(engines: Any, text: str, guests: Any, columnar: bool) -> None:
    """The policy engine's evaluation (results=False: the fast path's checked variant,
    which computes the values without collecting them) fails and writes as the reference."""
    reference, fast = engines
    expected = outcome(reference, text, guests, columnar, values=False)
    got = outcome(fast, text, guests, columnar, values=False)
    assert got == expected, f"policy:\n{text}\nguests: {guests}\ncolumnar: {columnar}"
