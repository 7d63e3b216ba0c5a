"""One policy cycle of the whole shipped SLA set (00-08: the sla_balloon call over every
guest, KSM, CPU, IO, network, NUMA), both implementations side by side: samples in the
column store -> controls ready.  The reference runs the pure-Python allocator, the fast
path the Cython one.

N guests of the golden data, classes cycled over the five shipped ones (with their
guarantees, ranks and margins as GuestSla gives them); "pressure": the host's free memory
below the threshold, so every guest above its allocation gets a shrinking target;
"calm": free memory inside the band, every balloon holds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.bench_sla_resources import HOSTS
from bench.bench_sla_resources import inputs as resource_inputs
from bench.conftest import policy_cycle
from mom.policy_sets import shipped_set_dir
from mom.runtime.policy_store import PolicyStore
from mom.runtime.table import GuestSet, SampleTable
from mom.sla.classes import DEFAULT_CLASSES, guarantee_kib, margin_kib, reclaim_ranks

SIZES = [1000, 10000]
CLASSES = sorted(DEFAULT_CLASSES)
RANKS = reclaim_ranks(DEFAULT_CLASSES)
#: host memory (KiB): 512 GiB; free: below the 20 % threshold, or inside the 5 % band
MEMORY = 512 * 1024 * 1024
FREE = {"pressure": int(0.10 * MEMORY), "calm": int(0.22 * MEMORY)}
KSM = {"ksm_shareable": 0, "ksm_pages_shared": 0, "ksm_pages_to_scan": 100}


def inputs(scenario: str, n: int):  # type: ignore[no-untyped-def]
    _, guests = resource_inputs("calm", n)
    table = guests.table
    for index, row in enumerate(guests.rows.tolist()):
        sla_class = DEFAULT_CLASSES[CLASSES[index % len(CLASSES)]]
        maximum = int(table.latest(row, "balloon_max"))
        minimum = int(table.latest(row, "balloon_min") or 0)
        table.append(
            row,
            {
                **table.sample(row, table.slots(row)[-1]),
                "sla_guarantee": guarantee_kib(maximum, minimum, sla_class),
                "sla_reclaim_rank": RANKS[sla_class.name],
                "sla_priority": 50,
                "sla_margin": margin_kib(maximum, sla_class),
                "sla_tags": "",
            },
        )
    host_stats = {**HOSTS["calm"], **KSM, "mem_available": MEMORY, "mem_free": FREE[scenario]}
    host_table = SampleTable(sorted(host_stats), history=10, capacity=1)
    host_row = host_table.add_row("host")
    host_table.append(host_row, host_stats)
    return host_table.view(host_row), GuestSet(table, guests.rows)


@pytest.mark.parametrize("scenario", sorted(FREE))
@pytest.mark.parametrize("n", SIZES)
def test_sla_policy_cycle(benchmark, impl, scenario, n):  # type: ignore[no-untyped-def]
    host, guests = inputs(scenario, n)
    store = PolicyStore(implementation=impl)
    for path in sorted(Path(shipped_set_dir("sla")).glob("*.policy")):
        assert store.set_policy(path.stem, path.read_text())
    # the same samples every round: with rebalancing the rounds would alternate between
    # a rebalancing reclaim and a hold (one allocator call either way)
    assert store.set_policy("01-parameters", "(defvar slaRebalance 0)")
    benchmark.group = f"sla-policy[{scenario}-{n}]"
    benchmark.extra_info["guests"] = n
    fast = impl.__name__.startswith("mom._fastpath")
    rounds = max(5, min(200, 50000 // n)) if fast else (10 if n <= 1000 else 3)
    ok = benchmark.pedantic(policy_cycle, args=(store, host, guests), rounds=rounds, warmup_rounds=1)
    assert ok is True, store.last_error
    table = guests.table
    rows = guests.rows.tolist()
    targets = [table.get_control(row, "balloon_target") for row in rows]
    current = [table.latest(row, "balloon_cur") for row in rows]
    platinum = [t for index, t in enumerate(targets) if CLASSES[index % len(CLASSES)] == "platinum"]
    moved = [(t, c) for t, c in zip(targets, current) if t is not None]
    if scenario == "pressure":  # (a third of the golden guests report no mem_unused: held;
        # reclaim stops at what brings free memory to the top of the band)
        assert len(moved) >= 100 and all(t < c for t, c in moved) and all(t is None for t in platinum)
    else:  # only guests below their floor grow back to it
        assert all(t > c for t, c in moved)
