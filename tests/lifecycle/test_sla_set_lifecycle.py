"""The shipped SLA set (08-lifecycle) driving the real Lifecycle controller, on both
implementations: on a closed-loop host whose guarantees cannot be kept, the vapor guests
are powered off, lowest priority first and one per interval, and nothing else is asked
for or done.  With memory
enough nothing is asked and nothing is done."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

from mom.config import Settings
from mom.offline import entity_from_spec
from mom.plugins.controllers.lifecycle import Lifecycle
from mom.sla.state import StateFile
from tests.lifecycle.fakes import Clock, FakeLibvirt
from tests.sla.sla_host import GIB, HOST_FIELDS, Guest, SlaHost, sla_store


def lifecycle(iface, clock):
    settings = dataclasses.replace(Settings(), lifecycle_actions="on", power_off_interval=60, restore_after=120)
    state = StateFile("")
    state.load()
    properties = {"hypervisor_iface": iface, "settings": settings, "sla_registry": SimpleNamespace(state=state)}
    return Lifecycle(properties, clock=clock)


def fleet() -> list[Guest]:
    # platinum 4 GiB + three gold at 75 % of 4 GiB: 13 GiB kept; vapor guests of 1 GiB
    return (
        [Guest("p", "platinum", GIB)]
        + [Guest(f"g{i}", "gold", GIB) for i in range(3)]
        + [Guest("s", "standard", GIB, balloon_max=GIB)]
        + [Guest(f"v{p}", "vapor", GIB // 4, balloon_max=GIB, priority=p) for p in (30, 10, 20, 40)]
    )


def closed_loop(host: SlaHost, store, controller, clock, iface, cycles: int) -> list[bool]:
    """Each cycle: the policies, then the controller; a guest powered off leaves the host.
    Returns, per cycle, whether the SLA allocator reported a shortfall."""
    shortfalls = []
    for _ in range(cycles):
        controls = host.cycle(store)
        shortfalls.append(int(store.code.program_functions["sla_balloon"].last["result"].shortfall.sum()) > 0)
        host_entity = entity_from_spec(
            {"name": "host", "stats": [{**HOST_FIELDS, "mem_available": host.memory, "mem_free": host.free}]}
        )
        guests = []
        for g in host.guests:
            entity = entity_from_spec({"name": g.name, "properties": {"uuid": g.name}, "stats": [g.sample()]})
            for name, value in controls[g.name].items():
                entity.Control(name, value)
            guests.append(entity)
        controller.process(host_entity, guests)
        controller.power_worker.wait_idle(5)
        off = {call[1] for call in iface.names("shutdownVm")}
        host.guests = [g for g in host.guests if g.name not in off]
        clock.now += 10
    return shortfalls


def test_guarantees_not_kept_power_vapor_guests_off_lowest_priority_first(impl):
    # the rig gives its guests 75 % of its memory less its overhead: 36 - 9 - 15 = 12 GiB
    host = SlaHost(guests=fleet(), memory=36 * GIB, overhead=15 * GIB)
    store, iface, clock = sla_store(impl), FakeLibvirt(), Clock()
    controller = lifecycle(iface, clock)
    shortfalls = closed_loop(host, store, controller, clock, iface, 30)
    # lowest priority first, one per 60 s (a cycle is 10 s), only vapor guests
    assert all(shortfalls)
    assert [call[1] for call in iface.names("shutdownVm")] == ["v10", "v20", "v30", "v40"]
    assert [call[0] for call in iface.calls] == ["getVmLifecycleInfo", "shutdownVm"] * 4
    done = [r for r in controller.audit.last() if r.result == "done"]
    assert [(r.guest, r.action) for r in done] == [
        ("v10", "power-off"),
        ("v20", "power-off"),
        ("v30", "power-off"),
        ("v40", "power-off"),
    ]
    # nothing else asked for: the refusals are the rate limit's, of the next vapor guest
    refused = [r for r in controller.audit.last() if r.result != "done"]
    assert refused and all(r.guest.startswith("v") and "one power-off per 60 s" in r.detail for r in refused)
    # the shortfall stays (this host cannot keep 13 GiB whatever runs), but with no vapor
    # guest left nothing more is asked: the audit stops growing
    audited = len(controller.audit.last())
    closed_loop(host, store, controller, clock, iface, 10)
    assert len(controller.audit.last()) == audited
    assert [g.sla_class for g in host.guests] == ["platinum", "gold", "gold", "gold", "standard"]


def test_with_memory_enough_nothing_is_asked_or_done(impl):
    # 56 - 14 - 25 = 17 GiB: the floors fit, though the host starts under pressure
    host = SlaHost(guests=fleet(), memory=56 * GIB, overhead=25 * GIB)
    assert host.free < 0.20 * host.memory
    store, iface, clock = sla_store(impl), FakeLibvirt(), Clock()
    controller = lifecycle(iface, clock)
    shortfalls = closed_loop(host, store, controller, clock, iface, 40)
    assert not any(shortfalls)
    assert controller.audit.last() == [] and iface.calls == []
    assert len(host.guests) == 9
