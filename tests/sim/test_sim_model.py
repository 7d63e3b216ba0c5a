"""The host model on its own: invariants under hostile balloon targets, reclaim order, KSM, determinism."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mom.sim.ksm import KsmBusy
from mom.sim.model import InvariantError, SimHost

GIB = 1024**2


def run(host: SimHost, ticks: int, every=None) -> None:
    for _ in range(ticks):
        host.step()
        host.check()
        if every is not None:
            every(host)


def conserved(host: SimHost) -> bool:
    memory = host.host
    return memory.total == memory.free + memory.cache + memory.overhead + int(memory.resident.sum()) - memory.ksm_saved


def test_invariants_hold_under_random_targets(small):
    """Targets anywhere from 1 KiB to the boot size, changed often: every invariant holds every tick."""
    host = SimHost(small)
    rng = np.random.default_rng(3)
    below_target = np.zeros(host.n, bool)  # a target below the floor was ever set

    def hammer(h: SimHost) -> None:
        for index in rng.choice(h.n, size=8, replace=False):
            target = int(rng.integers(1, int(h.balloons.maximum[index]) + 1))
            h.set_balloon_target(int(index), target)
            below_target[index] |= target < h.balloons.minimum[index]
        assert conserved(h)
        assert h.host.free >= 0 and h.host.swap_used <= h.host.swap_total
        # a balloon below its floor only where the host asked for that
        below = h.balloons.actual < h.balloons.minimum
        assert not np.any(below & ~below_target)

    run(host, 1200, hammer)
    assert below_target.any() and (host.balloons.lowest_seen < host.balloons.minimum).any()


def test_drivers_lag_and_never_overshoot(small):
    host = SimHost(small)
    run(host, 5)
    index = 0
    start = int(host.balloons.actual[index])
    target = start - 300 * 1024
    host.set_balloon_target(index, target)
    sizes = []
    for _ in range(40):
        host.step()
        host.check()
        sizes.append(int(host.balloons.actual[index]))
    lag = host.balloons.lag[index]
    assert sizes[0] == start or lag < 1  # nothing moves before the driver reacts
    assert all(b <= a for a, b in zip(sizes, sizes[1:]))  # monotonic
    assert min(sizes) == target  # reached, never passed
    assert sizes.index(target) > 1  # at a finite rate, not at once


def test_stuck_drivers_keep_their_size(small):
    host = SimHost(small)
    stuck = np.flatnonzero(np.isfinite(host.balloons.stuck_at))
    assert len(stuck) > 0  # web has stuck = 0.1
    index = int(stuck[np.argmin(host.balloons.stuck_at[stuck])])
    while host.time < host.balloons.stuck_at[index]:
        host.step()
    size = int(host.balloons.actual[index])
    host.set_balloon_target(index, size // 2)
    run(host, 60)
    assert host.balloons.actual[index] == size


def test_page_cache_is_reclaimed_before_the_host_swaps(make_scenario):
    """No policy, load rising: the page cache shrinks to its floor first, only then the host swaps."""
    scenario = make_scenario(load=[[0, 0.5], [600, 1.6]], duration=1200)
    host = SimHost(scenario)
    cache_at_first_swap = None
    for _ in range(scenario.ticks):
        host.step()
        host.check()
        if host.host.swapped_out_now and cache_at_first_swap is None:
            cache_at_first_swap = host.host.cache
            free_at_first_swap = host.host.free
    assert cache_at_first_swap is not None, "the host never swapped"
    assert cache_at_first_swap == host.host.cache_min
    assert free_at_first_swap <= host.host.min_free


def test_a_host_that_is_not_overcommitted_never_swaps(make_scenario):
    """Guests whose boot memory fits in RAM (with the whole page cache) do not make the host swap."""
    scenario = make_scenario(load=[[0, 2.0]], duration=900)
    scenario = scenario.replace(host=dataclasses.replace(scenario.host, memory=128 * GIB))
    host = SimHost(scenario)
    boot = int(host.balloons.maximum.sum()) + host.host.overhead + host.host.cache_max
    assert boot < host.host.total
    run(host, scenario.ticks)
    assert host.host.pswpout == 0 and host.host.swap_used == 0
    assert host.guests.used().sum() > 0.5 * host.balloons.maximum.sum()  # and the guests did use memory


def test_guests_swap_inside_when_squeezed(small):
    host = SimHost(small)
    run(host, 10)
    demand = host.demand.copy()
    for index in range(host.n):
        host.set_balloon_target(index, int(host.guests.kernel[index] + demand[index] // 2))
    run(host, 120)
    assert (host.guests.swapped > 0).sum() > host.n // 2
    assert host.guests.swap_out.sum() > 0


def squeezed(make_scenario, count: int, **group):
    """Guests without swap whose balloons are pinned at 400 MiB: their demand may not fit."""
    spec = {"name": "g", "count": count, "memory": "1G", "min-memory": "128M", "swap": 0, "noise": 0.0, **group}
    host = SimHost(make_scenario(group=[spec], load=[[0, 1.0]], duration=3600))
    for index in range(host.n):
        host.set_balloon_target(index, 400 * 1024)
    return host


def test_an_oom_kill_is_an_event_and_frees_the_killed_memory(make_scenario):
    """A burst that does not fit is killed once (it ends, its memory is freed), not once per tick it lasts."""
    host = squeezed(make_scenario, 8, workload="bursty", level=0.3, **{"burst-rate": 6, "burst-duration": 600})
    starts = ticks_out = 0
    for _ in range(3600):
        before = host.workloads.burst_left.copy()
        host.step()
        host.check()
        starts += int((host.workloads.burst_left > before).sum())
        out = host.guests.out_of_memory
        ticks_out += int(out.sum())
        # the killed bursts are over: the guests' demand fits again next tick
        assert not np.any(out & (host.workloads.burst_left > 0))
    kills = int(host.guests.oom_kills.sum())
    assert kills > 0
    assert kills == ticks_out  # each kill freed the memory at once
    assert kills <= starts  # the working set fits: only bursts are killed, each at most once


def test_a_working_set_that_stays_too_big_is_one_kill(make_scenario):
    """Out of memory for many ticks in a row (the working set itself does not fit) counts one kill."""
    host = squeezed(make_scenario, 2, workload="steady", level=0.3)
    run(host, 300)
    assert host.guests.oom_kills.sum() == 0
    host.workloads.level[:] = 0.7  # 700 MiB wanted, 400 MiB of balloon, no swap
    run(host, 300)
    assert host.guests.out_of_memory.all()
    assert host.guests.oom_kills.tolist() == [1, 1]
    host.workloads.level[:] = 0.3
    run(host, 10)
    host.workloads.level[:] = 0.7
    run(host, 10)
    assert host.guests.oom_kills.tolist() == [2, 2]


def test_ksm_savings_start_after_a_full_scan_and_grow(small):
    host = SimHost(small)
    host.tune_ksm({"run": 1, "pages_to_scan": 1250, "sleep_millisecs": 10})
    saved, scans = [], []
    for _ in range(900):
        host.step()
        host.check()
        saved.append(host.ksm.saved)
        scans.append(host.ksm.full_scans)
    scans_arr, saved_arr = np.array(scans), np.array(saved)
    assert scans_arr[-1] >= 2
    first_scan_done = int(np.argmax(scans_arr >= 1))
    assert saved_arr[: max(0, first_scan_done - 1)].max(initial=0) == 0  # nothing during the first scan
    assert saved_arr[-1] > 0
    # savings after each full scan grow towards the mergeable memory
    ends = [saved_arr[int(np.argmax(scans_arr >= k))] for k in range(2, int(scans_arr[-1]) + 1)]
    assert ends == sorted(ends)
    assert host.ksm.cpu_percent > 10
    # a slower scan costs less CPU
    host.tune_ksm({"pages_to_scan": 100, "sleep_millisecs": 100})
    host.step()
    assert 0 < host.ksm.cpu_percent < 1


def test_ksm_unmerge_and_busy_merge_across_nodes(small):
    host = SimHost(small)
    host.tune_ksm({"run": 1, "pages_to_scan": 1250, "sleep_millisecs": 10})
    run(host, 600)
    assert host.ksm.pages_shared() > 0
    with pytest.raises(KsmBusy):
        host.tune_ksm({"merge_across_nodes": 0})
    with pytest.raises(KeyError):
        host.tune_ksm({"pages_to_sacn": 1})
    with pytest.raises(ValueError):
        host.tune_ksm({"run": 5})
    host.tune_ksm({"run": 2})
    run(host, 120)
    assert host.ksm.saved == 0 and host.ksm.pages_shared() == 0
    host.tune_ksm({"merge_across_nodes": 0})
    assert host.ksm.merge_across_nodes == 0


def test_same_seed_same_run_bit_for_bit(make_scenario):
    def trajectory(seed: int) -> list[np.ndarray]:
        host = SimHost(make_scenario(seed=seed, duration=400))
        host.tune_ksm({"run": 1, "pages_to_scan": 1000, "sleep_millisecs": 10})
        states = []
        for k in range(400):
            if k % 50 == 0:
                host.set_balloon_target(k % host.n, int(host.balloons.maximum[k % host.n] // 2))
            host.step()
            states.append(
                np.concatenate(
                    [
                        host.balloons.actual,
                        host.host.touched,
                        host.guests.cache,
                        host.demand,
                        [host.host.free, host.host.cache, host.ksm.saved, host.host.swap_used],
                    ]
                )
            )
        return states

    first, again, other = trajectory(11), trajectory(11), trajectory(12)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


def test_check_catches_broken_state(small):
    host = SimHost(small)
    run(host, 3)
    host.host.free += 4
    with pytest.raises(InvariantError, match="memory not conserved"):
        host.check()
    host.host.free -= 4
    host.check()
    host.guests.cache[0] += 8
    with pytest.raises(InvariantError, match="kernel \\+ anon \\+ cache \\+ unused"):
        host.check()


def test_a_host_too_small_for_its_guests_is_refused(make_scenario):
    scenario = make_scenario()
    scenario = scenario.replace(host=dataclasses.replace(scenario.host, memory=8 * GIB))
    with pytest.raises(ValueError, match="does not fit in the host"):
        SimHost(scenario)
