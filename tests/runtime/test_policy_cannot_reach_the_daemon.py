"""A policy on the daemon's own rows cannot reach what the monitors keep for their
collectors (the hypervisor interface, the SLA registry): it could power off a platinum
guest or hold the registry's lock.  The daemon's parts on libvirt's test driver, both
implementations."""

from __future__ import annotations

import pytest

from mom.offline import entity_from_spec
from tests.helpers import LibvirtTickRig

REACH = {
    "hypervisor_iface": (
        '(defvar i 0) (defvar u "") (with Guests guest { (set i (guest.Prop "hypervisor_iface")) '
        '(set u (guest.Prop "uuid")) }) (i.destroyVm u)'
    ),
    "sla_registry": '(defvar r 0) (with Guests guest (set r (guest.Prop "sla_registry"))) (r.lock.acquire)',
}


@pytest.mark.parametrize("what", sorted(REACH))
def test_the_interface_and_the_registry_are_not_a_policys(tmp_path, impl, what):
    rig = LibvirtTickRig(str(tmp_path), 3, implementation=impl)
    try:
        rig.tick()
        running = sorted(d.name() for d in rig.iface.conn.listAllDomains() if d.isActive())
        assert rig.engine.rpc_set_policy(REACH[what])
        assert rig.tick() is False  # the policy fails, with the reason
        assert "is not a plain value" in str(rig.engine.policy.last_error)
        assert sorted(d.name() for d in rig.iface.conn.listAllDomains() if d.isActive()) == running
        registry = rig.parts.sla
        assert registry.lock.acquire(timeout=1)  # nobody holds it
        registry.lock.release()
        # the plain properties still read
        assert rig.engine.rpc_set_policy('(with Guests guest (guest.SetVar "n" (guest.Prop "name")))')
        assert rig.tick() is True
    finally:
        rig.close()


def test_prop_gives_plain_values_only():
    properties = {"uuid": "u", "pid": 7, "ok": True, "none": None, "iface": object()}
    entity = entity_from_spec({"name": "g", "properties": properties, "stats": [{"mem_free": 1}]})
    assert [entity.Prop(name) for name in ("uuid", "pid", "ok", "none")] == ["u", 7, True, None]
    with pytest.raises(KeyError, match="'iface' is not a plain value"):
        entity.Prop("iface")
