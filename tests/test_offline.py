"""mom.offline.entity_from_spec: declared_optional fields, as Monitor.collect fills them."""

from __future__ import annotations

import pytest

from mom.dsl.program import compile_policy
from mom.errors import PolicyError
from mom.offline import VDSM_GUEST_FIELDS, VDSM_GUEST_OPTIONAL_FIELDS, VDSM_HOST_FIELDS, entity_from_spec


def test_without_declared_optional_an_absent_statistic_is_undeclared() -> None:
    guest = entity_from_spec({"name": "g", "stats": [{"vcpu_count": 2}]})
    with pytest.raises(KeyError, match="Field 'mem_unused' is not declared in any collector."):
        guest.Stat("mem_unused")
    with pytest.raises(PolicyError, match="undefined symbol g.balloon_cur"):
        compile_policy("(with Guests g g.balloon_cur)").evaluate(None, [guest])


def test_declared_optional_absent_reads_as_none() -> None:
    spec = {"name": "g", "stats": [{"vcpu_count": 2, "mem_unused": 10}, {"vcpu_count": 2}]}
    guest = entity_from_spec(spec, declared_optional=VDSM_GUEST_OPTIONAL_FIELDS)
    assert guest.Stat("balloon_cur") is None
    assert guest.Stat("mem_unused") is None  # the newest sample lacks it
    assert guest.StatAvg("mem_unused") == 10.0  # None samples are skipped
    assert guest.statistics[0]["mem_unused"] == 10
    assert "mem_unused" in guest.monitor.optional_fields
    assert guest.monitor.fields == {"vcpu_count"}
    results = compile_policy("(with Guests g (valid g.balloon_cur (g.Stat \"mem_unused\")))").evaluate(None, [guest])
    assert results == [[False]]
    assert spec["stats"][1] == {"vcpu_count": 2}  # the caller's data is not changed


def test_declared_optional_with_explicit_fields() -> None:
    guest = entity_from_spec(
        {"name": "g", "stats": {"vcpu_count": 2}}, fields=["vcpu_count"], declared_optional=["swap_usage", "vcpu_count"]
    )
    assert guest.monitor.fields == {"vcpu_count"}
    assert guest.monitor.optional_fields == ["swap_usage"]
    assert guest.Stat("swap_usage") is None


def test_io_tune_from_the_spec_wins_over_declared_none() -> None:
    tune = {"name": "vda", "path": None, "guaranteed": {}, "maximum": {"total_bytes_sec": 5}, "current": {}}
    guest = entity_from_spec(
        {"name": "g", "stats": {"vcpu_count": 1}, "io_tune": [tune]}, declared_optional=VDSM_GUEST_OPTIONAL_FIELDS
    )
    assert [t.name for t in guest.Stat("io_tune")] == ["vda"]
    assert guest.Stat("io_tune_current") == [{}]
    plain = entity_from_spec({"name": "h", "stats": {"vcpu_count": 1}}, declared_optional=VDSM_GUEST_OPTIONAL_FIELDS)
    assert plain.Stat("io_tune") is None


def test_vdsm_field_sets_match_the_golden_data() -> None:
    """The golden file records which fields vdsm's collectors declared."""
    import json

    from tests.shared_data import shared_path

    data = json.loads(shared_path("data", "golden", "vdsm-policies-500.json").read_text())
    assert sorted(VDSM_HOST_FIELDS) == sorted(data["host_fields"])
    assert sorted(VDSM_GUEST_FIELDS) == sorted(data["guest_fields"])
    assert sorted(VDSM_GUEST_OPTIONAL_FIELDS) == sorted(data["guest_optional_fields"])
