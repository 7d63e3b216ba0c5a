"""The shipped policies: the same controls as vdsm's on upstream's recorded outputs.

The golden file holds upstream MOM 0.6.5's outputs for vdsm's six policies on 500
guests in 5 scenarios.  Our policies must give exactly those controls (value and
int/float type) and exactly those IO-tune setter calls, in order.  vdsm's own
policies run through the same harness as a control: if they did not match, the
harness would be wrong, not our policies.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from mom.dsl.reader import read
from mom.dsl.store import PolicyStore
from mom.offline import entity_from_spec
from mom.plugins.collectors.io_tune import IoTune
from tests.shared_data import shared_path

ROOT = Path(__file__).resolve().parents[2]
SHARED = shared_path("data")
NAMES = ["00-defines", "01-parameters", "02-balloon", "03-ksm", "04-cputune", "05-iotune"]
SETTERS = ("setTotalBytesSec", "setReadBytesSec", "setWriteBytesSec", "setTotalIopsSec", "setReadIopsSec", "setWriteIopsSec")


@lru_cache(maxsize=1)
def golden() -> dict[str, Any]:
    return json.loads((SHARED / "golden" / "vdsm-policies-500.json").read_text())


def ours() -> dict[str, str]:
    return {name: (ROOT / "policies" / f"{name}.policy").read_text() for name in NAMES}


class RecordingIoTune(IoTune):
    """An IoTune that also records the setter calls a policy makes."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.calls: list[list[Any]] = []


def _recording(name: str) -> Any:
    setter = getattr(IoTune, name)

    def record(self: RecordingIoTune, value: Any) -> None:
        self.calls.append([name, value])
        setter(self, value)

    return record


for _name in SETTERS:
    setattr(RecordingIoTune, _name, _recording(_name))


def typed(value: Any) -> Any:
    """The value with every leaf paired with its type: 1 and 1.0 compare unequal."""
    if isinstance(value, dict):
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [typed(item) for item in value]
    return (type(value).__name__, value)


def run(policies: dict[str, str], host_spec: dict[str, Any], guest_specs: list[Any], parameters: str) -> tuple[bool, Any, Any]:
    data = golden()
    store = PolicyStore()
    for name in sorted(policies):
        assert store.set_policy(name, policies[name])
    assert store.set_policy("01-parameters", parameters)  # vdsm's setNamedPolicy
    host = entity_from_spec(host_spec, fields=data["host_fields"], optional_fields=data["host_optional_fields"])
    guests = [
        entity_from_spec(
            spec, fields=data["guest_fields"], optional_fields=data["guest_optional_fields"], io_tune_factory=RecordingIoTune
        )
        for spec in guest_specs
    ]
    ok = store.evaluate(host, guests)
    outputs = []
    for guest in guests:
        tunes = guest._policy_values.get("io_tune")
        outputs.append(
            {
                "name": guest.properties["name"],
                "controls": dict(guest.controls),
                "io_tune": None if tunes is None else [{"after": dict(t._current), "calls": t.calls} for t in tunes],
            }
        )
    return ok, dict(host.controls), outputs


SCENARIOS = ["critical", "idle", "nopressure", "pressure", "tuning_off"]


def test_the_golden_file_has_the_scenarios() -> None:
    assert sorted(golden()["scenarios"]) == SCENARIOS
    assert sorted(golden()["policies"]) == NAMES


@pytest.mark.parametrize("policies", ["ours", "vdsm"])
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_same_controls_as_upstream(policies: str, scenario: str) -> None:
    data = golden()
    expected = data["scenarios"][scenario]
    texts = ours() if policies == "ours" else data["policies"]
    ok, host_controls, guests = run(texts, expected["host"], data["guests"], expected["parameters_policy"])
    assert ok is expected["evaluate_ok"] is True
    assert typed(host_controls) == typed(expected["host_controls"])
    assert len(guests) == len(expected["guests"]) == 500
    for got, want in zip(guests, expected["guests"]):
        assert typed(got) == typed(want), got["name"]


def test_our_balloon_policy_survives_a_guest_without_balloon_info() -> None:
    """vdsm's guest_qos compares None with None and the whole evaluation fails (as
    recorded upstream); ours leaves that guest's balloon alone and runs every part."""
    data = golden()
    edge = data["edge_cases"]["no_balloon_info"]
    base = data["scenarios"][edge["host_scenario"]]
    vdsm = run(data["policies"], base["host"], edge["guest_specs"], edge["parameters_policy"])
    assert vdsm[0] is edge["evaluate_ok"] is False
    assert typed(vdsm[1]) == typed(edge["host_controls"]) and typed(vdsm[2]) == typed(edge["guests"])

    ok, host_controls, guests = run(ours(), base["host"], edge["guest_specs"], edge["parameters_policy"])
    assert ok is True
    assert typed(host_controls) == typed(base["host_controls"])
    recorded = {g["name"]: g for g in base["guests"]}
    by_name = {g["name"]: g for g in guests}
    for name in ("vm-00000", "vm-00002"):  # the same guests as in the base scenario
        assert typed(by_name[name]) == typed(recorded[name])
    broken = by_name["vm-noballoon"]
    assert "balloon_target" not in broken["controls"]
    assert broken["controls"] == {"vcpu_quota": -1, "vcpu_period": 100000}
    [tune] = next(spec for spec in edge["guest_specs"] if spec["name"] == "vm-noballoon")["io_tune"]
    assert broken["io_tune"][0]["calls"] == [[setter, tune["maximum"][key]] for setter, key in zip(SETTERS, [
        "total_bytes_sec", "read_bytes_sec", "write_bytes_sec", "total_iops_sec", "read_iops_sec", "write_iops_sec"])]


def test_file_names_match_vdsms() -> None:
    assert sorted(p.name for p in (ROOT / "policies").glob("*.policy")) == [f"{n}.policy" for n in NAMES]


def test_parameters_policy_is_comments_only() -> None:
    """vdsm replaces it with setNamedPolicy: nothing in it may be needed."""
    assert read(ours()["01-parameters"]).forms == []


def test_set_named_policy_switches_work() -> None:
    """Switching KSM off through the parameters policy unmerges the shared pages."""
    host_spec = golden()["scenarios"]["pressure"]["host"]
    assert host_spec["stats"][-1]["ksm_pages_shared"] > 0
    on = run(ours(), host_spec, [], "")
    off = run(ours(), host_spec, [], "(set ksmEnabled False)")
    assert on[0] and off[0]
    assert on[1]["ksm_run"] == 1
    assert off[1] == {"ksm_run": 2}


def test_text_is_our_own() -> None:
    """The shipped files are written for this project, not copied from vdsm (GPL)."""
    theirs = set()
    for path in (SHARED / "vdsm").glob("*.policy"):
        theirs.update(line.strip() for line in path.read_text().splitlines() if line.strip().startswith("#"))
    for name, text in ours().items():
        for line in text.splitlines():
            stripped = line.strip()
            if stripped.startswith("#") and len(stripped) > 20:
                assert stripped not in theirs, (name, stripped)
