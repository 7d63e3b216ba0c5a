"""The GuestSla collector on interfaces without SLA metadata (vdsm's): only the RPC and the rules."""

from __future__ import annotations

import logging

from mom.plugins import registry as plugins
from mom.plugins.collectors import guest_sla
from mom.plugins.hypervisors.base import HypervisorInterface
from mom.plugins.hypervisors.vdsm_jsonrpc_client import VdsmJsonRpcClientInterface
from mom.sla.classes import DEFAULT_CLASSES
from mom.sla.config import SlaConfig
from mom.sla.registry import SlaRegistry
from mom.sla.sources import parse_rules

UUID = "0b6f2c43-1d6c-4d3e-9d4e-6f7d0d1c2a01"


class NoMetadata(HypervisorInterface):
    """What vdsm's interfaces answer: balloon sizes, no domain metadata."""

    def getVmBalloonInfo(self, uuid):
        return {"balloon_max": 1000, "balloon_min": 100, "balloon_cur": 500}


def test_vdsm_interfaces_have_no_sla_metadata():
    assert VdsmJsonRpcClientInterface.getVmSlaMetadata is HypervisorInterface.getVmSlaMetadata


def test_rules_and_rpc_without_metadata():
    classes = dict(DEFAULT_CLASSES)
    sla = SlaRegistry(SlaConfig(classes, "standard", parse_rules("db-* class=gold tags=db", classes), ("db", "web")))
    collector = plugins.load("collector", "GuestSla")(
        {"hypervisor_iface": NoMetadata(), "uuid": UUID, "name": "db-1", "sla_registry": sla}
    )
    assert collector.getFields() == {
        "sla_class", "sla_priority", "sla_tags", "sla_reclaim_rank", "balloon_stuck", "sla_tag_db", "sla_tag_web",
    }  # fmt: skip
    assert collector.getOptionalFields() == {"sla_guarantee", "sla_margin"}
    assert collector.collect() == {
        "sla_class": "gold",
        "sla_priority": 50,
        "sla_tags": "db",
        "sla_guarantee": 750,
        "sla_reclaim_rank": 3,  # gold: reclaimed after vapor, compute and standard
        "sla_margin": 200,  # gold's 20 % of balloon_max
        "balloon_stuck": 0,
        "sla_tag_db": 1,
        "sla_tag_web": 0,
    }
    sla.set_rpc("db-1", {"class": "standard", "tags": "web", "priority": 5})
    sample = collector.collect()
    assert (sample["sla_class"], sample["sla_priority"], sample["sla_guarantee"]) == ("standard", 5, 100)
    assert sample["sla_reclaim_rank"] == 2
    assert (sample["sla_tag_db"], sample["sla_tag_web"]) == (0, 1)
    sla.stuck_balloons = frozenset({UUID})  # as the Balloon controller sets it
    assert collector.collect()["balloon_stuck"] == 1


def test_no_balloon_size_no_guarantee():
    collector = guest_sla.GuestSla(
        {"hypervisor_iface": HypervisorInterface(), "uuid": UUID, "name": "a", "sla_registry": SlaRegistry(SlaConfig())}
    )
    sample = collector.collect()
    assert sample["sla_guarantee"] is None and sample["sla_margin"] is None


def test_without_a_registry_the_shipped_classes_and_one_warning(caplog, monkeypatch):
    monkeypatch.setattr(guest_sla, "_warned_no_registry", False)
    with caplog.at_level(logging.WARNING, logger="mom.Collectors.GuestSla"):
        for index in range(3):
            collector = guest_sla.GuestSla({"hypervisor_iface": NoMetadata(), "uuid": f"u{index}", "name": "a"})
    assert collector.collect()["sla_class"] == "standard"
    assert [r.getMessage() for r in caplog.records] == [
        "GuestSla: no SLA registry (not momd); mom.conf's [sla] does not apply"
    ]
