"""The SLA registry: precedence over live metadata, RPC changes, vanished guests, the state file."""

from __future__ import annotations

import json
import logging
import os

import pytest

from mom.sla.classes import DEFAULT_CLASSES, SlaError
from mom.sla.config import SlaConfig
from mom.sla.registry import SlaRegistry
from mom.sla.sources import parse_rules
from mom.sla.state import StateError, StateFile

UUID_A = "0b6f2c43-1d6c-4d3e-9d4e-6f7d0d1c2a01"
UUID_B = "0b6f2c43-1d6c-4d3e-9d4e-6f7d0d1c2a02"
NS = "urn:mom:sla:1"


def mom_sla(body: str) -> dict:
    return {"mom_sla": f'<mom:sla xmlns:mom="{NS}">{body}</mom:sla>', "ovirt_custom": {}}


def config(rules: str = "", default_class: str = "standard") -> SlaConfig:
    return SlaConfig(dict(DEFAULT_CLASSES), default_class, parse_rules(rules, DEFAULT_CLASSES))


class Live:
    """The guest manager's monitored UUIDs, as the registry asks for them."""

    def __init__(self, *uuids: str) -> None:
        self.uuids = set(uuids)

    def __call__(self) -> set[str]:
        return set(self.uuids)


def registry(tmp_path, rules: str = "", live: Live | None = None, state: str = "state.json") -> SlaRegistry:
    return SlaRegistry(config(rules), StateFile(str(tmp_path / state) if state else ""), live)


def test_precedence_rpc_metadata_ovirt_rule_default(tmp_path):
    sla = registry(tmp_path, "db-* class=compute priority=10 tags=rule")
    sla.guest_found(UUID_A, "db-1")
    assert sla.observe(UUID_A, "db-1", None).sla_class.name == "compute"  # rule
    ovirt = {"mom_sla": None, "ovirt_custom": {"sla_class": "gold", "sla_priority": "20"}}
    got = sla.observe(UUID_A, "db-1", ovirt)
    assert (got.sla_class.name, got.priority, got.tags) == ("gold", 20, ("rule",))  # ovirt over the rule
    both = {**mom_sla("<mom:class>platinum</mom:class>"), "ovirt_custom": ovirt["ovirt_custom"]}
    got = sla.observe(UUID_A, "db-1", both)
    assert (got.sla_class.name, got.priority) == ("platinum", 20)  # our metadata over ovirt, field by field
    sla.set_rpc("db-1", {"class": "vapor"})
    assert sla.observe(UUID_A, "db-1", both).sla_class.name == "vapor"  # the RPC over everything
    sla.set_rpc(UUID_A, {})
    assert sla.observe(UUID_A, "db-1", both).sla_class.name == "platinum"  # cleared: metadata again
    sla.guest_found(UUID_B, "web")
    assert sla.observe(UUID_B, "web", None).sla_class.name == "standard"  # the default class


def test_metadata_changed_at_runtime_takes_effect_at_the_next_observation(tmp_path):
    sla = registry(tmp_path)
    sla.guest_found(UUID_A, "a")
    assert sla.observe(UUID_A, "a", mom_sla("<mom:class>gold</mom:class>")).sla_class.name == "gold"
    assert sla.observe(UUID_A, "a", mom_sla("<mom:class>vapor</mom:class>")).sla_class.name == "vapor"
    # metadata removed: back to the rules or the default
    assert sla.observe(UUID_A, "a", {"mom_sla": None, "ovirt_custom": {}}).sla_class.name == "standard"


def test_unknown_metadata_keeps_the_last_answer(tmp_path):
    sla = registry(tmp_path)
    sla.observe(UUID_A, "a", mom_sla("<mom:class>gold</mom:class>"))
    assert sla.observe(UUID_A, "a", None).sla_class.name == "gold"  # e.g. libvirt failed this round


def test_malformed_metadata_is_logged_once_and_falls_back(tmp_path, caplog):
    sla = registry(tmp_path, "a class=compute")
    sla.guest_found(UUID_A, "a")
    bad = mom_sla("<mom:class>silver</mom:class>")
    with caplog.at_level(logging.WARNING, logger="mom.sla"):
        for _ in range(3):
            assert sla.observe(UUID_A, "a", bad).sla_class.name == "compute"  # its rule
    warnings = [r.getMessage() for r in caplog.records if r.name == "mom.sla"]
    assert len(warnings) == 1
    assert "guest a (" + UUID_A + "): SLA metadata ignored" in warnings[0] and "silver" in warnings[0]
    # another guest with the same bad element is its own warning
    with caplog.at_level(logging.WARNING, logger="mom.sla"):
        sla.observe(UUID_B, "b", bad)
    assert len([r for r in caplog.records if r.name == "mom.sla"]) == 2


def test_rpc_refuses_unknown_classes_and_guests(tmp_path):
    sla = registry(tmp_path)
    sla.guest_found(UUID_A, "a")
    with pytest.raises(SlaError, match="unknown SLA class 'silver'"):
        sla.set_rpc("a", {"class": "silver"})
    with pytest.raises(SlaError, match="no monitored guest named 'nobody'"):
        sla.set_rpc("nobody", {"class": "gold"})
    with pytest.raises(SlaError, match="no monitored guest named 'nobody'"):
        sla.get("nobody")
    assert not os.path.exists(tmp_path / "state.json")  # nothing was written


def test_get_reports_fields_and_sources(tmp_path):
    sla = registry(tmp_path, "a tags=x,y")
    sla.guest_found(UUID_A, "a")
    found = sla.observe(UUID_A, "a", None)
    sla.guarantee(UUID_A, found, {"balloon_max": 4096, "balloon_min": 0})
    got = sla.set_rpc("a", {"class": "gold", "guarantee": "50%"})
    assert got == {
        "uuid": UUID_A,
        "name": "a",
        "monitored": True,
        "class": "gold",
        "priority": 50,
        "tags": ["x", "y"],
        "guarantee": "50%",
        "guarantee_kib": 2048,  # of the balloon_max last collected
        "sources": {"sla_class": "rpc", "guarantee": "rpc", "tags": "rule", "priority": "default"},
        "rpc": {"class": "gold", "guarantee": "50%"},
    }
    assert sla.get(UUID_A.upper())["name"] == "a"


def test_a_vanished_guest_is_dropped_but_its_rpc_sla_kept(tmp_path):
    live = Live()
    sla = registry(tmp_path, live=live)
    sla.guest_found(UUID_A, "a")
    live.uuids.add(UUID_A)  # the guest manager lists the new monitor
    sla.observe(UUID_A, "a", None)
    sla.set_rpc("a", {"class": "gold"})
    live.uuids.clear()  # the guest is gone
    assert sla.get(UUID_A)["monitored"] is False
    assert UUID_A not in sla.known_guests()
    with pytest.raises(SlaError, match="no monitored guest named 'a'"):
        sla.get("a")
    assert sla.get(UUID_A)["class"] == "gold"  # by UUID: what the RPC set, kept for its return
    # and in the state file, for the next momd
    assert json.loads((tmp_path / "state.json").read_text())["guests"][UUID_A]["class"] == "gold"


def test_a_guest_found_but_not_yet_listed_survives_a_prune(tmp_path):
    live = Live()
    sla = registry(tmp_path, live=live)
    sla.guest_found(UUID_A, "a")
    sla.guest_found(UUID_B, "b")  # prunes: A's monitor is not listed yet
    assert set(sla.known_guests()) == {UUID_A, UUID_B}


def test_rpc_sla_of_a_guest_not_running_by_uuid(tmp_path):
    sla = registry(tmp_path)
    assert sla.set_rpc(UUID_B.upper(), {"priority": 99})["monitored"] is False
    sla.guest_found(UUID_B, "later")
    assert sla.observe(UUID_B, "later", None).priority == 99


def test_rpc_sla_survives_a_new_registry(tmp_path):
    first = registry(tmp_path)
    first.guest_found(UUID_A, "a")
    first.set_rpc("a", {"class": "platinum", "tags": "db prod", "guarantee": "3GiB", "priority": 80})
    second = registry(tmp_path)  # a restarted momd
    second.guest_found(UUID_A, "a")
    got = second.observe(UUID_A, "a", None)
    assert (got.sla_class.name, got.priority, got.tags, str(got.guarantee)) == (
        "platinum",
        80,
        ("db", "prod"),
        "3145728KiB",
    )


def test_without_a_state_file_the_rpc_works_in_memory(tmp_path):
    sla = registry(tmp_path, state="")
    sla.guest_found(UUID_A, "a")
    assert sla.set_rpc("a", {"class": "gold"})["class"] == "gold"
    assert os.listdir(tmp_path) == []


def test_corrupt_state_file_gives_an_error_and_safe_defaults(tmp_path, caplog):
    path = tmp_path / "state.json"
    path.write_text("{not json")
    with caplog.at_level(logging.ERROR, logger="mom.sla"):
        sla = registry(tmp_path)
    assert any("is not JSON" in r.getMessage() and "starting without" in r.getMessage() for r in caplog.records)
    sla.guest_found(UUID_A, "a")
    assert sla.observe(UUID_A, "a", None).sla_class.name == "standard"
    sla.set_rpc("a", {"class": "gold"})
    # the bad file was moved aside, not overwritten
    assert (tmp_path / "state.json.corrupt").read_text() == "{not json"
    assert json.loads(path.read_text())["guests"][UUID_A]["class"] == "gold"


def test_state_entries_that_no_longer_validate_are_ignored(tmp_path, caplog):
    (tmp_path / "state.json").write_text(
        json.dumps({"version": 1, "guests": {UUID_A: {"class": "bronze"}, UUID_B: {"class": "gold"}}})
    )
    with caplog.at_level(logging.ERROR, logger="mom.sla"):
        sla = registry(tmp_path)
    assert any(UUID_A in r.getMessage() and "'bronze'" in r.getMessage() for r in caplog.records)
    assert sla.get(UUID_A)["class"] == "standard"
    assert sla.get(UUID_B)["class"] == "gold"


def test_unreadable_state_file_is_an_error_not_a_crash(tmp_path, caplog):
    # a directory where the file should be: unreadable (and unwritable) as a file, for root too
    (tmp_path / "state.json").mkdir()
    with caplog.at_level(logging.ERROR, logger="mom.sla"):
        sla = registry(tmp_path)
    assert any("cannot read the state file" in r.getMessage() for r in caplog.records)
    sla.guest_found(UUID_A, "a")
    with pytest.raises(StateError, match="cannot write the state file"):
        sla.set_rpc("a", {"class": "gold"})
    assert (tmp_path / "state.json").is_dir()  # only a bad regular file is moved aside


def test_unwritable_state_file_changes_nothing(tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    sla = SlaRegistry(config(), StateFile(str(blocker / "state.json")))
    sla.guest_found(UUID_A, "a")
    with pytest.raises(StateError, match=r"cannot write the state file .*not-a-directory/state.json"):
        sla.set_rpc("a", {"class": "gold"})
    assert sla.get("a")["class"] == "standard"  # not applied either
    assert sla.observe(UUID_A, "a", None).sla_class.name == "standard"
