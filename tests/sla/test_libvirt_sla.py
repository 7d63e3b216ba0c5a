"""SLA metadata on libvirt's in-process test driver: read when a guest is found, read
again after libvirt's metadata-change event, turned into guest fields policies read."""

from __future__ import annotations

import logging

import libvirt
import pytest

from mom.config import INTERNAL_SECTION, load_config
from mom.offline import entity_from_spec
from mom.plugins.hypervisors.libvirt import LibvirtInterface
from mom.plugins.hypervisors.libvirt_domain import parse_domain_xml
from mom.runtime.guest_manager import GuestManager
from mom.sla.classes import DEFAULT_CLASSES
from mom.sla.registry import SlaRegistry
from mom.sla.sources import MOM_NAMESPACE, OVIRT_VM_NAMESPACE, SlaSpec, parse_mom_metadata
from mom.sla.state import StateFile
from tests.helpers import libvirt_test_host, momd_config, wait_for

MOM_SLA = (
    f'<mom:sla xmlns:mom="{MOM_NAMESPACE}"><mom:class>gold</mom:class>'
    "<mom:priority>70</mom:priority><mom:tags>db prod</mom:tags></mom:sla>"
)
OVIRT_VM = (
    f'<ovirt-vm:vm xmlns:ovirt-vm="{OVIRT_VM_NAMESPACE}"><ovirt-vm:custom>'
    "<ovirt-vm:sla_class>platinum</ovirt-vm:sla_class><ovirt-vm:sla_priority>90</ovirt-vm:sla_priority>"
    "<ovirt-vm:viodiskcache>writeback</ovirt-vm:viodiskcache>"
    "</ovirt-vm:custom></ovirt-vm:vm>"
)
MEMORY_KIB = 4 * 1024 * 1024


def test_domain_xml_gives_our_element_and_ovirts_sla_properties():
    xml = f"<domain><name>a</name><metadata>{OVIRT_VM}{MOM_SLA}</metadata></domain>"
    parsed = parse_domain_xml(xml)
    assert parsed.ovirt_custom == {"sla_class": "platinum", "sla_priority": "90"}
    assert parse_mom_metadata(parsed.mom_sla, DEFAULT_CLASSES) == SlaSpec("gold", 70, ("db", "prod"))
    bare = parse_domain_xml("<domain><name>a</name></domain>")
    assert bare.sla_metadata() == {"mom_sla": None, "ovirt_custom": {}}


class Rig:
    """momd's guest side in-process: libvirt interface, SLA registry, guest manager with GuestSla."""

    def __init__(self, tmp_path, metadata: str = "", sla: str = "", guests: int = 3) -> None:
        path = tmp_path / "host.xml"
        self.domains = libvirt_test_host(str(path), guests, memory_kib=MEMORY_KIB, metadata=metadata)
        conf = tmp_path / "mom.conf"
        momd_config(
            f"test://{path}",
            conf,
            interval=None,
            verbosity=None,
            guest="GuestBalloon, GuestSla",
            main={"guest-manager-multi-thread": "false", "state-file": str(tmp_path / "state.json")},
        )
        if sla:
            with open(conf, "a", encoding="utf-8") as handle:
                handle.write(sla)
        loaded = load_config(str(conf))
        config, settings = loaded.parser, loaded.settings
        config.add_section(INTERNAL_SECTION)
        config.set(INTERNAL_SECTION, "plot-subdir", "")
        self.iface = LibvirtInterface(config)
        self.registry = SlaRegistry(settings.sla, StateFile(settings.state_file))
        self.manager = GuestManager(config, self.iface, settings, guest_properties={"sla_registry": self.registry})
        self.registry.live_guests = self.manager.monitored_uuids
        self.manager.update_guests()

    def samples(self) -> dict[str, dict]:
        """One collection round; each guest's newest sample, by name."""
        self.manager.collect_guests()
        return {monitor.name: monitor.statistics[-1] for monitor in self.manager.guests.values() if monitor.isReady()}

    def domain(self, name: str):
        return self.iface.conn.lookupByName(name)  # the interface's own copy of the test host

    def close(self) -> None:
        self.iface.close()


@pytest.fixture
def rig_for(tmp_path):
    made = []

    def make(**options) -> Rig:
        made.append(Rig(tmp_path, **options))
        return made[-1]

    yield make
    for rig in made:
        rig.close()


def set_sla(domain, body: str) -> None:
    domain.setMetadata(
        libvirt.VIR_DOMAIN_METADATA_ELEMENT, f"<sla>{body}</sla>", "mom", MOM_NAMESPACE, libvirt.VIR_DOMAIN_AFFECT_LIVE
    )


def test_metadata_ovirt_rules_and_default_become_guest_fields(rig_for):
    rig = rig_for(
        metadata=OVIRT_VM,
        sla="\n[sla]\nrules =\n    vm0002  class=compute tags=batch\ntag-fields = db, batch\n",
    )
    set_sla(rig.domain("vm0000"), "<class>gold</class><priority>70</priority><tags>db prod</tags>")
    rig.domain("vm0001").setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, None, None, OVIRT_VM_NAMESPACE, 0)
    # vm0000: our metadata over oVirt's; vm0001: nothing left but the default; vm0002: oVirt over its rule
    samples = wait_for(lambda: (s := rig.samples()).get("vm0000", {}).get("sla_class") == "gold" and s, timeout=5)
    assert {name: (s["sla_class"], s["sla_priority"], s["sla_tags"]) for name, s in samples.items()} == {
        "vm0000": ("gold", 70, "db prod"),
        "vm0001": ("standard", 50, ""),
        "vm0002": ("platinum", 90, "batch"),
    }
    assert samples["vm0000"]["sla_guarantee"] == MEMORY_KIB * 3 // 4
    assert samples["vm0002"]["sla_guarantee"] == MEMORY_KIB
    assert samples["vm0001"]["sla_guarantee"] == 0  # standard: balloon_min, none on this host
    assert (samples["vm0000"]["sla_tag_db"], samples["vm0000"]["sla_tag_batch"]) == (1, 0)
    assert (samples["vm0002"]["sla_tag_db"], samples["vm0002"]["sla_tag_batch"]) == (0, 1)


def test_policies_read_the_fields(rig_for, impl):
    rig = rig_for(sla="\n[sla]\nrules =\n    vm0001  class=gold tags=db\ntag-fields = db\n")
    rig.samples()
    host = entity_from_spec({"name": "host", "stats": [{"mem_free": 1}]})
    policy = impl.compile_policy(
        '(with Guests g (g.Prop "name"))'
        ' (with Guests g (if (== g.sla_class "gold") g.sla_guarantee (- 0 g.sla_priority)))'
        " (with Guests g g.sla_tag_db) (with Guests g g.sla_tags)"
    )
    names, *columns = policy.evaluate(host, rig.manager.guest_set())
    by_name = {name: [column[index] for column in columns] for index, name in enumerate(names)}
    assert by_name == {
        "vm0000": [-50, 0, ""],
        "vm0001": [MEMORY_KIB * 3 // 4, 1, "db"],
        "vm0002": [-50, 0, ""],
    }


def test_a_metadata_change_is_seen_after_libvirts_event(rig_for):
    rig = rig_for()
    assert rig.iface.connection.events
    assert rig.samples()["vm0001"]["sla_class"] == "standard"
    calls = rig.iface.connection.calls_by_name().get("XMLDesc", 0)
    rig.samples()
    assert rig.iface.connection.calls_by_name().get("XMLDesc", 0) == calls  # cached between events
    set_sla(rig.domain("vm0001"), "<class>vapor</class>")
    # the event drops the cached XML; the next collection reads the new class
    wait_for(lambda: rig.samples()["vm0001"]["sla_class"] == "vapor", timeout=5)
    assert rig.registry.get("vm0001")["sources"]["sla_class"] == "metadata"
    set_sla(rig.domain("vm0001"), "<class>platinum</class>")
    wait_for(lambda: rig.samples()["vm0001"]["sla_class"] == "platinum", timeout=5)


def test_bad_metadata_is_logged_once_and_the_guest_falls_back(rig_for, caplog):
    rig = rig_for(sla="\n[sla]\nrules =\n    vm0000  class=compute\n")
    set_sla(rig.domain("vm0000"), "<class>silver</class>")
    with caplog.at_level(logging.WARNING, logger="mom.sla"):
        for _ in range(3):
            samples = rig.samples()
            assert samples["vm0000"]["sla_class"] == "compute"
    warnings = [r.getMessage() for r in caplog.records if r.name == "mom.sla"]
    assert len(warnings) == 1 and "vm0000" in warnings[0] and "unknown SLA class 'silver'" in warnings[0]


def test_rpc_over_metadata_and_a_vanished_guest_dropped(rig_for):
    rig = rig_for()
    set_sla(rig.domain("vm0002"), "<class>gold</class>")
    wait_for(lambda: rig.samples()["vm0002"]["sla_class"] == "gold", timeout=5)
    uuid = dict(rig.domains)["vm0002"]
    rig.registry.set_rpc("vm0002", {"class": "platinum"})
    assert rig.samples()["vm0002"]["sla_class"] == "platinum"  # at the next collection
    rig.domain("vm0002").destroy()
    rig.manager.update_guests()
    rig.samples()
    rig.samples()  # forgotten within two collection rounds (no RPC call needed)
    assert uuid not in rig.registry.known_guests()
    assert rig.registry.get(uuid) == {
        "uuid": uuid,
        "name": "vm0002",
        "monitored": False,
        "class": "platinum",
        "priority": 50,
        "tags": [],
        "guarantee": "100%",
        "sources": {"sla_class": "rpc", "priority": "default", "tags": "default", "guarantee": "class"},
        "rpc": {"class": "platinum"},
    }
