"""Upstream's recorded outputs for vdsm's policies are reproduced exactly."""

from __future__ import annotations

import pytest

from tests.compat import golden
from tests.shared_data import shared_path

CASES = golden.scenarios()


@pytest.mark.parametrize(("name", "expected", "host_spec", "guest_specs"), CASES, ids=[c[0] for c in CASES])
def test_vdsm_policies_reproduce_upstream(impl, name, expected, host_spec, guest_specs):  # type: ignore[no-untyped-def]
    store = golden.policies(expected["parameters_policy"], implementation=impl)
    host = golden.host(host_spec)
    guests = golden.guests(guest_specs)
    ok = store.evaluate(host, guests)
    got = golden.outcome(ok, host, guests)
    assert got["evaluate_ok"] is expected["evaluate_ok"]
    assert golden.canonical(got["host_controls"]) == golden.canonical(expected["host_controls"])
    mismatches = [
        (row["name"], row, want)
        for row, want in zip(got["guests"], expected["guests"])
        if golden.canonical(row) != golden.canonical(want)
    ]
    assert len(got["guests"]) == len(expected["guests"])
    assert not mismatches, f"{len(mismatches)} guests differ, first: {mismatches[0]}"


def test_golden_inputs_are_the_shared_vdsm_policies():  # type: ignore[no-untyped-def]
    for name, text in golden.load()["policies"].items():
        assert shared_path("data", "vdsm", f"{name}.policy").read_text() == text


def test_edge_case_logs_the_failure_with_its_position(caplog):  # type: ignore[no-untyped-def]
    _, expected, host_spec, guest_specs = {case[0]: case for case in CASES}["no_balloon_info"]
    store = golden.policies(expected["parameters_policy"])
    with caplog.at_level("ERROR", logger="mom.Policy"):
        assert store.evaluate(golden.host(host_spec), golden.guests(guest_specs)) is False
    (record,) = caplog.records
    assert record.getMessage().startswith(
        "Unexpected error when evaluating policy: TypeError: '<' not supported between instances of 'NoneType' and 'NoneType'"
    )
    assert "in (< guest.balloon_cur guest.balloon_min)" in record.getMessage()
