"""Upstream MOM's recorded outputs for vdsm's six policies on 500 guests, and a harness.

The file (../shared/data/golden/vdsm-policies-500.json) holds the inputs (policies,
host and guest statistics histories, IO tunes), five scenarios and one edge case, with
what upstream computed: per-guest controls with their int/float types, the IO-tune
setter calls, host KSM controls, and whether ``evaluate`` succeeded.  Entities are
built the way vdsm's policy validator builds them.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from mom.offline import entity_from_spec
from mom.plugins.collectors.io_tune import IoTune
from mom.runtime.entity import Entity
from mom.runtime.policy_store import PolicyStore
from tests.shared_data import shared_path

GOLDEN = shared_path("data", "golden", "vdsm-policies-500.json")
SETTERS = ("setTotalBytesSec", "setReadBytesSec", "setWriteBytesSec", "setTotalIopsSec", "setReadIopsSec", "setWriteIopsSec")


@functools.lru_cache(maxsize=1)
def load() -> dict[str, Any]:
    return json.loads(GOLDEN.read_text())


class RecordingIoTune(IoTune):
    """An IoTune that also records the setter calls a policy makes."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.calls: list[list[Any]] = []


def _recording(name: str) -> Any:
    def setter(self: RecordingIoTune, value: Any) -> None:
        self.calls.append([name, value])
        getattr(IoTune, name)(self, value)

    setter.__name__ = name
    return setter


for _name in SETTERS:
    setattr(RecordingIoTune, _name, _recording(_name))


def host(spec: dict[str, Any]) -> Entity:
    data = load()
    return entity_from_spec(spec, fields=data["host_fields"], optional_fields=data["host_optional_fields"])


def guests(specs: list[dict[str, Any]], io_tune_factory: Any = RecordingIoTune) -> list[Entity]:
    """Guest entities; their IO tunes record setter calls unless told otherwise."""
    data = load()
    return [
        entity_from_spec(
            spec,
            fields=data["guest_fields"],
            optional_fields=data["guest_optional_fields"],
            io_tune_factory=io_tune_factory,
        )
        for spec in specs
    ]


def policies(parameters: str, implementation: Any = None, texts: dict[str, str] | None = None) -> PolicyStore:
    """vdsm's six policies (or ``texts``, by name), with 01-parameters replaced as vdsm's
    setNamedPolicy does."""
    store = PolicyStore(implementation=implementation)
    texts = load()["policies"] if texts is None else texts
    for name in sorted(texts):
        assert store.set_policy(name, texts[name]), name
    assert store.set_policy("01-parameters", parameters)
    return store


def outcome(ok: bool, host_entity: Entity, guest_entities: list[Entity]) -> dict[str, Any]:
    """What the golden file records, computed from evaluated entities."""
    rows = []
    for guest in guest_entities:
        tunes = guest.statistics[-1].get("io_tune")
        io_tune = None if tunes is None else [{"after": t._current, "calls": t.calls} for t in tunes]
        rows.append({"controls": guest.controls, "io_tune": io_tune, "name": guest.properties["name"]})
    return {"evaluate_ok": ok, "host_controls": host_entity.controls, "guests": rows}


def canonical(value: Any) -> str:
    """JSON text that tells 1 from 1.0, for exact comparison."""
    return json.dumps(value, sort_keys=True)


def scenarios() -> list[tuple[str, dict[str, Any], dict[str, Any], list[dict[str, Any]]]]:
    """(name, expected, host spec, guest specs) for the 5 scenarios and the edge case."""
    data = load()
    cases = [(name, s, s["host"], data["guests"]) for name, s in sorted(data["scenarios"].items())]
    for name, edge in sorted(data["edge_cases"].items()):
        cases.append((name, edge, data["scenarios"][edge["host_scenario"]]["host"], edge["guest_specs"]))
    return cases
