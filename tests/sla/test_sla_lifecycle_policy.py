"""The SLA set's 08-lifecycle on both implementations: when the guarantees cannot be kept
it asks the vapor guest of lowest priority to power off (never platinum or gold), and a
standard or compute guest to migrate only when told peers exist; with memory enough it
asks nothing."""

from __future__ import annotations

from tests.sla.sla_host import GIB, Guest, SlaHost, sla_store

# The rig's host gives its guests 75 % of its memory less its overhead (25 % is kept
# free): 36 - 9 - 15 = 12 GiB for guests of 21 GiB; 56 - 14 - 25 = 17 GiB.
INFEASIBLE = dict(memory=36 * GIB, overhead=15 * GIB)
ENOUGH = dict(memory=56 * GIB, overhead=25 * GIB)


def infeasible() -> list[Guest]:
    # a platinum (4 GiB kept) and three gold guests (3 GiB each) need 13 GiB
    return (
        [Guest("p", "platinum", GIB)]
        + [Guest(f"g{i}", "gold", GIB) for i in range(3)]
        + [Guest("s", "standard", GIB, balloon_max=GIB), Guest("c", "compute", GIB, balloon_max=GIB)]
        + [Guest(f"v{i}", "vapor", GIB // 4, balloon_max=GIB, priority=p) for i, p in enumerate((30, 10, 20))]
    )


def asked(controls: dict, control: str) -> dict:
    return {name: c[control] for name, c in controls.items() if name != "Host" and control in c}


def test_infeasible_guarantees_ask_the_lowest_priority_vapor_guest_to_power_off(impl):
    host = SlaHost(guests=infeasible(), **INFEASIBLE)
    store = sla_store(impl)
    for _ in range(20):
        controls = host.cycle(store)
        assert store.code.program_functions["sla_balloon"].last["result"].shortfall.sum() > 0
        assert asked(controls, "power") == {"v1": "off"}  # priority 10: one guest per cycle
        assert asked(controls, "migrate") == {}  # slaLifecycleMigrate is off by default


def test_migration_is_asked_for_a_standard_or_compute_guest_only_when_switched_on(impl):
    host = SlaHost(guests=infeasible(), **INFEASIBLE)
    store = sla_store(impl, "(defvar slaLifecycleMigrate 1)")
    controls = host.cycle(store)
    migrate = asked(controls, "migrate")
    assert list(migrate.values()) == [1] and set(migrate) <= {"s", "c"}
    assert asked(controls, "power") == {"v1": "off"}


def test_never_platinum_or_gold_even_without_vapor_guests(impl):
    guests = [g for g in infeasible() if g.sla_class in ("platinum", "gold")]
    host = SlaHost(guests=guests, memory=36 * GIB, overhead=20 * GIB)
    store = sla_store(impl, "(defvar slaLifecycleMigrate 1)")
    for _ in range(10):
        controls = host.cycle(store)
        assert asked(controls, "power") == {} and asked(controls, "migrate") == {}


def test_power_off_can_be_switched_off(impl):
    host = SlaHost(guests=infeasible(), **INFEASIBLE)
    store = sla_store(impl, "(defvar slaLifecyclePowerOff 0)")
    assert asked(host.cycle(store), "power") == {}


def test_with_memory_enough_nothing_is_asked_even_under_pressure(impl):
    # 17 GiB for the same guests (the floors fit), first under pressure then settled
    host = SlaHost(guests=infeasible(), **ENOUGH)
    assert host.free < 0.20 * host.memory
    store = sla_store(impl, "(defvar slaLifecycleMigrate 1)")
    for _ in range(100):
        controls = host.cycle(store)
        assert store.code.program_functions["sla_balloon"].last["result"].shortfall.sum() == 0
        assert asked(controls, "power") == {} and asked(controls, "migrate") == {}
