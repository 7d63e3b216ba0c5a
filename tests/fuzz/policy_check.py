"""Running one policy text on both implementations, and what counts as failing cleanly.

Both run on identical copies of the same entities; an outcome is the result or the
error (type and message) plus the state written (controls, variables, IO limits).
"""

from __future__ import annotations

import math
import re
import struct
from typing import Any

from hypothesis import reject

from mom.dsl.limits import Limits
from mom.errors import EntityError, PolicyError
from mom.offline import entity_from_spec
from mom.plugins.collectors.io_tune import DiskIoTune, IoTuneVals
from mom.runtime.entity import Entity
from tests.fuzz.budget import watchdog
from tests.fuzz.findings import known_policy_finding

__all__ = ["UPSTREAM_ERRORS", "CRASHES", "outcome", "check", "clean"]

#: what upstream's evaluator raises besides PolicyError (spec 5.2-5.5), and EntityError
UPSTREAM_ERRORS = (
    PolicyError,
    EntityError,
    KeyError,
    TypeError,
    ValueError,
    ZeroDivisionError,
    IndexError,
    AttributeError,
    OverflowError,
)
#: never acceptable, whatever the text (RecursionError is a RuntimeError)
CRASHES = (RecursionError, MemoryError, SystemError, AssertionError, RuntimeError)
LIMITS = Limits(max_steps=20_000, max_call_depth=100)
_ADDRESS = re.compile(r" at 0x[0-9a-f]+")


def entities() -> tuple[Entity, list[Entity], dict[str, Any]]:
    """A host, two guests (one with an IO-tune record) and the extra names policies use
    (x an int, s a string: foreign objects, as Guests, a plain list)."""
    host = entity_from_spec(
        {"name": "host", "properties": {"interval": 5}, "stats": [{"mem_free": 10, "mem_available": 100}]}
    )
    guests = [
        entity_from_spec(
            {
                "name": "g1",
                "stats": [{"mem_free": 1, "balloon_cur": 2.5, "swap_usage": None}, {"mem_free": 3, "balloon_cur": 0}],
                "io_tune": [{"name": "vda", "path": "/p", "guaranteed": {"total_bytes_sec": 1},
                             "maximum": {"total_bytes_sec": 9}, "current": {"total_bytes_sec": 0}}],
            }
        ),  # fmt: skip
        entity_from_spec({"name": "g2", "stats": [{"mem_free": -(2**63), "balloon_cur": 2**70}]}),
    ]
    return host, guests, {"guest": guests[0], "x": 5, "t": guests[0].io_tune[0], "s": "a,b"}


def canonical(value: Any) -> Any:
    """A form of a policy value that compares exactly across the two copies of the data."""
    if isinstance(value, float):
        return ("float", "nan" if math.isnan(value) else struct.pack("<d", value))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [canonical(item) for item in value])
    if isinstance(value, dict):
        return ("dict", sorted((repr(key), canonical(item)) for key, item in value.items()))
    if isinstance(value, Entity):
        return ("entity", value.properties.get("name"))
    if isinstance(value, DiskIoTune):
        return ("io_tune", value.name, canonical(value.ioTune()))
    if isinstance(value, IoTuneVals):
        return ("vals", canonical(value.vals))
    if callable(value):
        return ("callable", getattr(value, "__name__", type(value).__name__))
    return (type(value).__name__, value)


def outcome(engine: Any, text: str) -> tuple[Any, Any, BaseException | None]:
    """(result or error, state written, the error itself)."""
    host, guests, extra = entities()
    error = None
    try:
        program = engine.compile_policy(text, LIMITS)
        result: Any = ("ok", canonical(program.execute({"Host": host, "Guests": guests, **extra})))
    except Exception as caught:  # noqa: BLE001  (every error must match the other side's)
        error = caught
        result = ("error", type(caught).__name__, _ADDRESS.sub(" at 0x?", str(caught)))
    state = [
        canonical([entity.controls, entity.variables]) for entity in (host, *guests)
    ] + [canonical(guests[0].io_tune[0].ioTune())]
    return result, state, error


def check(reference: Any, fast: Any, text: str) -> None:
    with watchdog():
        expected = outcome(reference, text)
        got = outcome(fast, text)
    for error in (expected[2], got[2]):
        clean(text, error)
    if got[:2] != expected[:2] and known_policy_finding(expected[0], got[0]) is not None:
        reject()  # kept in test_fuzz_findings.py: look for new ones
    assert got[:2] == expected[:2], f"policy {text!r}:\nreference {expected[:2]}\nfast path {got[:2]}"


def clean(text: str, error: BaseException | None) -> None:
    """Fail unless ``error`` is None or an error a policy may raise."""
    if error is not None:
        assert not isinstance(error, CRASHES), f"{text!r}: crash {error!r}"
        assert isinstance(error, UPSTREAM_ERRORS), f"{text!r}: {type(error).__name__} is no documented error"
