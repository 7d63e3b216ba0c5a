"""The shipped policies: the same controls as vdsm's on upstream's recorded outputs.

The golden file holds upstream MOM 0.6.5's outputs for vdsm's six policies on 500
guests in 5 scenarios.  Our policies must give exactly those controls (value and
int/float type) and exactly those IO-tune setter calls, in order, on both
implementations.  They run through the harness of ``tests/compat/golden.py``, whose
control is ``tests/compat/test_golden.py``: vdsm's own policies reproduce the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mom.dsl.reader import read
from mom.policy_sets import DEFAULT_SET, shipped_set_dir
from tests.compat import golden
from tests.shared_data import shared_files

SHIPPED = Path(shipped_set_dir(DEFAULT_SET))
NAMES = ["00-defines", "01-parameters", "02-balloon", "03-ksm", "04-cputune", "05-iotune"]


def ours() -> dict[str, str]:
    return {name: (SHIPPED / f"{name}.policy").read_text() for name in NAMES}


def run(host_spec: dict[str, Any], guest_specs: list[Any], parameters: str, implementation: Any = None) -> dict[str, Any]:
    """Our policies evaluated on golden inputs: what the golden file records of a run."""
    store = golden.policies(parameters, implementation=implementation, texts=ours())
    host = golden.host(host_spec)
    guests = golden.guests(guest_specs)
    return golden.outcome(store.evaluate(host, guests), host, guests)


SCENARIOS = ["critical", "idle", "nopressure", "pressure", "tuning_off"]


def test_the_golden_file_has_the_scenarios() -> None:
    assert sorted(golden.load()["scenarios"]) == SCENARIOS
    assert sorted(golden.load()["policies"]) == NAMES


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_same_controls_as_upstream(impl: Any, scenario: str) -> None:
    data = golden.load()
    expected = data["scenarios"][scenario]
    got = run(expected["host"], data["guests"], expected["parameters_policy"], impl)
    assert got["evaluate_ok"] is expected["evaluate_ok"] is True
    assert golden.canonical(got["host_controls"]) == golden.canonical(expected["host_controls"])
    assert len(got["guests"]) == len(expected["guests"]) == 500
    for row, want in zip(got["guests"], expected["guests"]):
        assert golden.canonical(row) == golden.canonical(want), row["name"]


def test_our_balloon_policy_survives_a_guest_without_balloon_info() -> None:
    """vdsm's guest_qos compares None with None and the whole evaluation fails (as
    recorded upstream, reproduced by test_golden); ours leaves that guest's balloon
    alone and runs every part."""
    data = golden.load()
    edge = data["edge_cases"]["no_balloon_info"]
    assert edge["evaluate_ok"] is False
    base = data["scenarios"][edge["host_scenario"]]
    got = run(base["host"], edge["guest_specs"], edge["parameters_policy"])
    assert got["evaluate_ok"] is True
    assert golden.canonical(got["host_controls"]) == golden.canonical(base["host_controls"])
    recorded = {g["name"]: g for g in base["guests"]}
    by_name = {g["name"]: g for g in got["guests"]}
    for name in ("vm-00000", "vm-00002"):  # the same guests as in the base scenario
        assert golden.canonical(by_name[name]) == golden.canonical(recorded[name])
    broken = by_name["vm-noballoon"]
    assert "balloon_target" not in broken["controls"]
    assert broken["controls"] == {"vcpu_quota": -1, "vcpu_period": 100000}
    [tune] = next(spec for spec in edge["guest_specs"] if spec["name"] == "vm-noballoon")["io_tune"]
    keys = ("total_bytes_sec", "read_bytes_sec", "write_bytes_sec", "total_iops_sec", "read_iops_sec", "write_iops_sec")
    assert broken["io_tune"][0]["calls"] == [
        [setter, tune["maximum"][key]] for setter, key in zip(golden.SETTERS, keys)
    ]


def test_file_names_match_vdsms() -> None:
    assert sorted(p.name for p in SHIPPED.glob("*.policy")) == [f"{n}.policy" for n in NAMES]


def test_parameters_policy_is_comments_only() -> None:
    """vdsm replaces it with setNamedPolicy: nothing in it may be needed."""
    assert read(ours()["01-parameters"]).forms == []


def test_set_named_policy_switches_work() -> None:
    """Switching KSM off through the parameters policy unmerges the shared pages."""
    host_spec = golden.load()["scenarios"]["pressure"]["host"]
    assert host_spec["stats"][-1]["ksm_pages_shared"] > 0
    on = run(host_spec, [], "")
    off = run(host_spec, [], "(set ksmEnabled False)")
    assert on["evaluate_ok"] and off["evaluate_ok"]
    assert on["host_controls"]["ksm_run"] == 1
    assert off["host_controls"] == {"ksm_run": 2}


def test_text_is_our_own() -> None:
    """The shipped files are written for this project, not copied from vdsm (GPL)."""
    theirs = set()
    for path in shared_files("*.policy", "data", "vdsm"):
        theirs.update(line.strip() for line in path.read_text().splitlines() if line.strip().startswith("#"))
    for name, text in ours().items():
        for line in text.splitlines():
            stripped = line.strip()
            if stripped.startswith("#") and len(stripped) > 20:
                assert stripped not in theirs, (name, stripped)
