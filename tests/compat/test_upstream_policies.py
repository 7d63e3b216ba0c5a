"""Every real policy in ../shared/data parses and evaluates (vdsm's six, MOM's doc/*.rules)."""

from __future__ import annotations

import pytest

from mom.offline import entity_from_spec
from mom.Policy.Policy import Policy
from tests.shared_data import shared_files, shared_path

SHARED = shared_path("data")
RULES = shared_files("*.rules", "data", "mom-doc")
GUEST = {
    "balloon_cur": 1048576, "balloon_max": 2097152, "balloon_min": 262144,
    "mem_unused": 204800, "mem_available": 1000000, "swap_in": 0, "swap_out": 0,
    "major_fault": 0, "minor_fault": 0,
}
HOST = {
    "mem_available": 16777216, "mem_free": 1677721, "mem_unused": 800000, "swap_in": 0, "swap_out": 0,
    "ksm_pages_to_scan": 100, "ksm_shareable": 4000000, "ksm_run": 0, "ksm_pages_shared": 0,
    "ksm_merge_across_nodes": 1, "ksm_sleep_millisecs": 20, "cpu_count": 4,
}


def entities():  # type: ignore[no-untyped-def]
    host = entity_from_spec({"name": "host", "stats": [HOST, HOST]})
    guests = [entity_from_spec({"name": f"g{i}", "properties": {"name": f"g{i}"}, "stats": [GUEST, GUEST]}) for i in range(3)]
    return host, guests


@pytest.mark.parametrize("path", RULES, ids=[p.name for p in RULES])
def test_mom_doc_rules_load_and_evaluate(impl, path):  # type: ignore[no-untyped-def]
    store = Policy(implementation=impl)
    text = path.read_text()
    if path.name == "guest-specific.rules":  # a fragment meant to follow balloon.rules
        text = (SHARED / "mom-doc" / "balloon.rules").read_text() + text
    assert store.set_policy(None, text) is True
    host, guests = entities()
    assert store.evaluate(host, guests) is True


def test_vdsm_policy_dir_loads_and_evaluates(impl):  # type: ignore[no-untyped-def]
    store = Policy(implementation=impl)
    for path in shared_files("*.policy", "data", "vdsm"):
        assert store.set_policy(path.name.split(".policy")[0], path.read_text()) is True
    host, guests = entities()
    for guest in guests:
        guest.monitor.fields |= {"vcpu_quota", "vcpu_period", "vcpu_user_limit", "vcpu_count", "io_tune"}
        guest.statistics[-1].update(vcpu_quota=-1, vcpu_period=100000, vcpu_user_limit=50, vcpu_count=2, io_tune=None)
        guest._valid = None
        guest._finalize()
    host.monitor.fields |= {"ksm_pages_shared"}
    assert store.evaluate(host, guests) is True
    assert host.controls["ksm_run"] in (0, 1)
    assert all("vcpu_quota" in guest.controls for guest in guests)
