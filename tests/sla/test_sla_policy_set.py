"""The shipped SLA set (mom/policies/sla) with its balloon policy on the allocator, on both
implementations: platinum never ballooned, gold kept at 75 %, vapor and compute reclaimed
first, no oscillation at steady state, the guarantee floor never broken; the builtin
sla_balloon over entities and over the column store alike."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from mom.dsl.builtins_sla import read_columns
from mom.errors import PolicyError
from mom.runtime.table import GuestSet, SampleTable
from tests.sla.sla_host import GIB, SLA_SET, Guest, SlaHost, reversals, sla_store

CLASSES = ("platinum", "gold", "standard", "compute", "vapor")


def mixed(used: int = 1 * GIB) -> list[Guest]:
    return [Guest(name, name, used) for name in CLASSES]


def test_the_set_is_complete_and_passes_strict_checks():
    assert sorted(path.name for path in SLA_SET.glob("*.policy")) == [
        "00-defines.policy", "01-parameters.policy", "02-balloon.policy", "03-ksm.policy",
        "04-cputune.policy", "05-iotune.policy", "06-network.policy", "07-numa.policy", "08-lifecycle.policy",
    ]  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "mom.cli.policy", "check", "--strict", "sla"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_overcommitted_host_platinum_untouched_gold_kept_floors_never_broken(impl):
    # 5 x 4 GiB on 16 GiB (1 GiB for the host): no memory free at first
    host = SlaHost(16 * GIB, mixed())
    store = sla_store(impl)
    for _ in range(80):
        host.cycle(store)
        for guest in host.guests:
            assert guest.balloon_cur >= guest.guarantee, guest
    platinum, gold, standard, compute, vapor = host.guests
    assert platinum.targets == [] and platinum.balloon_cur == platinum.balloon_max
    assert gold.balloon_cur >= 0.75 * gold.balloon_max
    # memory was reclaimed, and the free memory is back above the threshold (20 %)
    assert sum(g.balloon_max - g.balloon_cur for g in host.guests) > 3 * GIB
    assert host.free >= 0.20 * host.memory
    # no guest below what it uses plus its class's margin
    for guest in host.guests:
        assert guest.balloon_cur >= guest.used


def test_vapor_then_compute_are_reclaimed_first(impl):
    # 17 GiB for 5 x 4 GiB guests using 2 GiB each: what the host can give (17 - 1 - 25 %
    # kept free = 11.75 GiB, 7.75 once platinum has its 4) does not hold the floors (used +
    # margin: 10.4 GiB), so floors are given up in class order: vapor's, then compute's;
    # standard keeps its margin, gold its 75 %.  (Without the floor at what a guest uses,
    # slaMinGuestFree nil: as with a Balloon controller whose min-guest-free lets them.)
    host = SlaHost(17 * GIB, mixed(used=2 * GIB))
    store = sla_store(impl, "(defvar slaMinGuestFree nil)")
    shrunk_at: dict[str, int] = {}
    for cycle in range(200):
        controls = host.cycle(store)
        for name in CLASSES:
            if "balloon_target" in controls[name]:
                shrunk_at.setdefault(name, cycle)
    platinum, gold, standard, compute, vapor = host.guests
    assert "platinum" not in shrunk_at
    assert shrunk_at["vapor"] <= shrunk_at["compute"] <= shrunk_at["standard"] <= shrunk_at["gold"]
    assert vapor.balloon_cur < compute.balloon_cur < standard.balloon_cur < gold.balloon_cur
    assert vapor.balloon_cur < vapor.used and compute.balloon_cur < compute.used  # these swap...
    assert standard.balloon_cur >= standard.used and gold.balloon_cur >= 0.75 * gold.balloon_max  # ... not these
    result = store.code.program_functions["sla_balloon"].last["result"]
    assert result.shortfall.sum() == 0  # the guarantees fit: none given up


def test_by_default_no_guest_is_planned_below_what_it_uses_plus_the_safety_margin(impl):
    # guests using 1.5 GiB: the floors (used + margin) do not fit, used + 64 MiB does; the
    # floors given up stop there (the Balloon controller's min-guest-free), so the plan
    # never asks for what the controller would raise again
    host = SlaHost(17 * GIB, mixed(used=3 * GIB // 2))
    store = sla_store(impl)
    host.run(store, 200)
    platinum, gold, standard, compute, vapor = host.guests
    for guest in host.guests:
        assert guest.balloon_cur >= guest.used + 65536, guest
    assert vapor.balloon_cur <= compute.balloon_cur <= standard.balloon_cur <= gold.balloon_cur
    assert platinum.targets == [] and gold.balloon_cur >= 0.75 * gold.balloon_max
    status = store.code.program_functions["sla_balloon"].last
    assert int(status["shortfall"].sum()) == 0  # the used floors are no guarantees


def test_a_small_reclaim_takes_vapor_first(impl):
    # free just under the threshold (20 % of 25 GiB), a narrow band, and vapor holding the
    # most above its share (it idles more: the idle tax): only vapor moves
    guests = mixed()
    guests[4].used = GIB // 4
    host = SlaHost(25 * GIB, guests, overhead=GIB // 10)
    store = sla_store(impl, "(defvar slaPressureBand 0.002)")
    controls = host.cycle(store)
    assert "balloon_target" in controls["vapor"]
    for name in ("platinum", "gold", "standard", "compute"):
        assert "balloon_target" not in controls[name], name


def test_no_oscillation_at_steady_state(impl):
    host = SlaHost(16 * GIB, mixed())
    store = sla_store(impl)
    host.run(store, 150)
    for guest in host.guests:
        assert reversals(guest.targets, guest.balloon_max) == 0, guest
    # the last 50 cycles set no target at all: the host holds
    settled = [len(guest.targets) for guest in host.guests]
    host.run(store, 50)
    assert [len(guest.targets) for guest in host.guests] == settled


def test_memory_comes_back_once_the_load_falls_without_reversing_twice(impl):
    host = SlaHost(16 * GIB, mixed(used=2 * GIB))
    store = sla_store(impl)
    host.run(store, 80)
    for guest in host.guests:
        guest.used = GIB // 2  # the load falls: memory is freed inside the guests
    host.overhead = -8 * GIB  # ... and the host gets room (another tenant left)
    host.run(store, 120)
    for guest in host.guests:
        assert reversals(guest.targets, guest.balloon_max) <= 1, guest
        assert guest.balloon_cur == guest.balloon_max, guest  # all given back


def test_priority_decides_within_a_class(impl):
    guests = [Guest("low", "standard", GIB, priority=10), Guest("high", "standard", GIB, priority=90)]
    guests += [Guest(f"s{i}", "standard", GIB) for i in range(3)]
    host = SlaHost(16 * GIB, guests)
    host.run(sla_store(impl), 100)
    low, high = guests[0], guests[1]
    assert low.balloon_cur < high.balloon_cur


def test_a_stuck_balloon_is_held_and_the_next_class_gives_instead(impl):
    # as test_a_small_reclaim_takes_vapor_first, with vapor's balloon stuck: its memory
    # is not reclaimable, so compute (the next to give) takes up its share
    guests = mixed()
    guests[4].used = GIB // 4
    guests[4].stuck = True
    host = SlaHost(25 * GIB, guests, overhead=GIB // 10)
    controls = host.cycle(sla_store(impl, "(defvar slaPressureBand 0.002)"))
    assert "balloon_target" not in controls["vapor"]
    assert controls["compute"]["balloon_target"] < guests[3].balloon_max
    assert "balloon_target" not in controls["platinum"]
    assert controls["gold"].get("balloon_target", guests[1].balloon_max) >= guests[1].guarantee


def test_a_guest_faulting_hard_is_not_squeezed_further(impl):
    # as test_a_small_reclaim_takes_vapor_first, with vapor faulting hard (GuestPressure)
    guests = mixed()
    guests[4].used = GIB // 4
    for guest in guests:
        guest.faults = 0
    guests[4].faults = 5000  # over slaFaultLimit (1000)
    host = SlaHost(25 * GIB, guests, overhead=GIB // 10)
    controls = host.cycle(sla_store(impl, "(defvar slaPressureBand 0.002)"))
    assert "balloon_target" not in controls["vapor"]
    assert controls["compute"]["balloon_target"] < guests[3].balloon_max
    assert "balloon_target" not in controls["platinum"]


@pytest.mark.parametrize("stall", [None, 2.0, 40.0])
def test_host_memory_stall_counts_as_pressure_when_free_memory_looks_fine(impl, stall):
    # plenty free (no guest would be reclaimed), but the host's tasks stall on memory
    guests = mixed()
    host = SlaHost(64 * GIB, guests, stall=stall)
    controls = host.cycle(sla_store(impl))
    shrunk = [name for name, c in controls.items() if name != "Host" and "balloon_target" in c]
    if stall == 40.0:  # over slaStallLimit (10 %)
        assert "vapor" in shrunk and "platinum" not in shrunk
    else:
        assert shrunk == []


def test_a_guest_without_statistics_is_never_ballooned(impl):
    guests = mixed()
    guests[2].stats = False  # standard: no balloon or memory statistics
    host = SlaHost(16 * GIB, guests)
    host.run(sla_store(impl), 30)
    assert guests[2].targets == []
    assert guests[4].targets  # vapor still is


def test_ballooning_off_only_gives_memory_back(impl):
    guests = mixed()
    for guest in guests:
        guest.balloon_cur = 3 * GIB
    host = SlaHost(16 * GIB, guests)
    store = sla_store(impl, "(set balloonEnabled False)")
    host.run(store, 40)
    for guest in guests:
        assert all(later >= earlier for earlier, later in zip([3 * GIB] + guest.targets, guest.targets)), guest


def test_a_class_changed_at_runtime_is_honoured(impl):
    host = SlaHost(16 * GIB, mixed())
    store = sla_store(impl)
    host.run(store, 80)
    vapor = host.guests[4]
    assert vapor.balloon_cur < vapor.balloon_max
    shrunk = len(vapor.targets)
    vapor.sla_class = "platinum"  # RPC: now platinum; it is never shrunk again ...
    host.run(store, 40)
    assert vapor.balloon_cur > vapor.targets[shrunk - 1]  # (what was free above the threshold)
    others = [g.balloon_cur for g in host.guests[1:4]]
    host.overhead -= 3 * GIB  # ... and the first to grow back once memory frees up
    host.run(store, 40)
    assert vapor.balloon_cur == vapor.balloon_max
    assert all(later >= earlier for earlier, later in zip(vapor.targets[shrunk:], vapor.targets[shrunk + 1 :]))
    assert all(g.balloon_cur >= before for g, before in zip(host.guests[1:4], others))


def test_infeasible_guarantees_give_up_gold_before_platinum(impl):
    # three gold guests need 9 GiB, a platinum 4 GiB: 13 GiB on a 12 GiB host
    guests = [Guest("p", "platinum", GIB)] + [Guest(f"g{i}", "gold", GIB) for i in range(3)]
    host = SlaHost(12 * GIB, guests, overhead=0)
    store = sla_store(impl)
    host.run(store, 80)
    assert guests[0].targets == []
    result = store.code.program_functions["sla_balloon"].last["result"]
    assert result.shortfall.sum() > 0 and result.shortfall[0] == 0


# ## The builtin itself


def table_of(guests: list[Guest]) -> GuestSet:
    table = SampleTable()
    rows = []
    for guest in guests:
        row = table.add_row(guest.name, {"uuid": guest.name})
        table.append(row, guest.sample())
        rows.append(row)
    return GuestSet(table, rows)


def test_the_column_store_reads_as_the_entities_do():
    guests = mixed()
    guests[1].stats = False
    guests[3].balloon_cur = 3 * GIB + 5
    host = SlaHost(16 * GIB, guests)
    from mom.offline import entity_from_spec

    entities = [entity_from_spec({"name": g.name, "stats": [g.sample()]}) for g in guests]
    by_rows, by_entities = read_columns(table_of(guests)), read_columns(entities)
    for name, column in by_rows.values.items():
        np.testing.assert_array_equal(column, by_entities.values[name], err_msg=name)
    assert by_rows.names() == by_entities.names() == list(CLASSES)
    assert host.free == 0


def test_sla_balloon_over_the_column_store_sets_the_same_targets(impl):
    text = "(defvar r (sla_balloon Guests nil 0 3355443 838860))\nr.mode"
    guests = mixed()
    rows = table_of(guests)
    from mom.offline import entity_from_spec

    entities = [entity_from_spec({"name": g.name, "stats": [g.sample()]}) for g in guests]
    host = entity_from_spec({"name": "host", "stats": [{"mem_free": 0}]})
    assert impl.compile_policy(text).evaluate(host, rows)[-1] == "reclaim"
    assert impl.compile_policy(text).evaluate(host, entities)[-1] == "reclaim"
    got = [rows.table.get_control(int(row), "balloon_target") for row in rows.rows]
    assert got == [e.controls.get("balloon_target") for e in entities]
    assert got[0] is None and all(target is not None for target in got[1:])


def test_the_state_is_the_programs_and_bad_arguments_are_policy_errors(impl):
    program = impl.compile_policy('(sla_balloon Guests nil 0 100 10)\n(sla_balloon 5 nil 0 100 10)')
    with pytest.raises(PolicyError, match="first argument must be the guests"):
        program.evaluate(None, [])
    other = impl.compile_policy('(sla_balloon Guests nil "lots" 100 10)')
    with pytest.raises(PolicyError, match="host_free must be a number"):
        other.evaluate(None, [])
    assert program.program_functions["sla_balloon"] is not other.program_functions["sla_balloon"]
    infinite = impl.compile_policy("(sla_balloon Guests nil 1e999 100 10)")
    with pytest.raises(PolicyError, match="host_free must be a number of KiB"):
        infinite.evaluate(None, [])



def test_a_huge_keep_free_is_the_largest_size_not_an_overflow(impl):
    # used + keep_free is capped at the largest balloon size (MAX_KIB) anyway: 1e30 plans
    # as that does, with no C long overflowing in the kernels
    from mom.offline import entity_from_spec
    from mom.sla.allocator import MAX_KIB

    host = entity_from_spec({"name": "host", "stats": [{"mem_free": 0}]})
    targets = {}
    for keep in ("1e30", str(MAX_KIB)):
        rows = table_of(mixed())
        impl.compile_policy(f"(sla_balloon Guests nil 0 3355443 838860 0.75 0.05 0.0025 1 {keep})").evaluate(host, rows)
        targets[keep] = [rows.table.get_control(int(row), "balloon_target") for row in rows.rows]
    assert targets["1e30"] == targets[str(MAX_KIB)]

def test_has_word_tests_tags(impl):
    from mom.offline import entity_from_spec

    guests = [entity_from_spec({"name": n, "stats": [{"sla_tags": t}]}) for n, t in (("a", "db prod"), ("b", "web"), ("c", ""))]
    text = '(with Guests guest (has_word "db" guest.sla_tags))\n(has_word "db" nil)'
    assert impl.compile_policy(text).evaluate(None, guests) == [[True, False, False], False]


def test_controls_set_after_the_call_are_kept_when_it_widens_the_store(impl):
    # four controls fill the store's control columns; sla_balloon's balloon_target widens
    # them; the fast path must then write into the new arrays, not the old ones
    guests = mixed()
    rows = table_of(guests)
    text = """
(with Guests guest (if (== guest.sla_priority 50) {
    (guest.Control "a" 1) (guest.Control "b" 2) (guest.Control "c" 3) (guest.Control "d" 4) } 0))
(sla_balloon Guests nil 0 3355443 838860)
(with Guests guest (guest.Control "a" 10))
"""
    from mom.offline import entity_from_spec

    host = entity_from_spec({"name": "host", "stats": [{"mem_free": 0}]})
    impl.compile_policy(text).evaluate(host, rows)
    table = rows.table
    assert [table.get_control(int(row), "a") for row in rows.rows] == [10] * 5
    assert [table.get_control(int(row), "d") for row in rows.rows] == [4] * 5
    assert table.get_control(int(rows.rows[4]), "balloon_target") is not None


@pytest.mark.parametrize("rebalance", [1, 0])
def test_after_a_peak_memory_moves_back_to_the_classes_reclaimed_first(impl, rebalance):
    # the floors did not fit: vapor and compute gave theirs up; then the load falls, but
    # free memory stays inside the band (the guests keep what they hold), where targets hold
    host = SlaHost(17 * GIB, mixed(used=2 * GIB))
    store = sla_store(impl, f"(defvar slaRebalance {rebalance}) (defvar slaMinGuestFree nil)")
    host.run(store, 200)
    for guest in host.guests:
        guest.used = GIB
    host.cycle(store)
    balloon = store.code.program_functions["sla_balloon"]

    def imbalance() -> int:
        last = balloon.last
        return int(np.abs(last["result"].allocation - np.array([g.balloon_cur for g in host.guests])).sum())

    before, vapor_before = imbalance(), host.guests[4].balloon_cur
    pulses = []
    for _ in range(60):
        host.cycle(store)
        pulses.append(balloon.last["rebalance"])
    threshold = int(0.20 * host.memory)
    assert min(host.free_history[-60:]) >= threshold  # never below the threshold meanwhile
    assert host.guests[0].targets == [] and host.guests[1].balloon_cur >= 0.75 * host.guests[1].balloon_max
    if rebalance:
        # memory went from the guests above their allocation (standard, compute) to vapor
        assert host.guests[4].balloon_cur > vapor_before + GIB // 4
        assert imbalance() < before // 2
        assert any(pulses) and not any(pulses[-20:])  # and then it settled
    else:
        assert host.guests[4].balloon_cur == vapor_before and imbalance() == before and not any(pulses)
