"""One policy cycle as the daemon runs it: samples in the column store -> controls ready.

Both implementations on the same inputs: vdsm's six policies over N guests of the
golden data, with and without host memory pressure.  Rows of one group
(``cycle[pressure-1000]``) compare the implementations.
"""

from __future__ import annotations

import pytest

from bench.conftest import column_inputs, policy_cycle
from tests.compat import golden

SIZES = [1, 100, 1000, 10000]


@pytest.mark.parametrize("scenario", ["pressure", "no-pressure"])
@pytest.mark.parametrize("n", SIZES)
def test_policy_cycle(benchmark, impl, scenario, n):  # type: ignore[no-untyped-def]
    host, guests, parameters = column_inputs(scenario, n)
    store = golden.policies(parameters, implementation=impl)
    benchmark.group = f"cycle[{scenario}-{n}]"
    benchmark.extra_info["guests"] = n
    rounds = max(5, min(200, 50000 // n))
    ok = benchmark.pedantic(policy_cycle, args=(store, host, guests), rounds=rounds, warmup_rounds=2)
    assert ok is True
    assert guests.table.get_control(int(guests.rows[0]), "vcpu_period") == 100000


def test_memory_per_guest(benchmark):  # type: ignore[no-untyped-def]
    """Bytes of the column store per guest, 10 samples of history (reported, not timed)."""
    n = 1000
    _host, guests, _ = column_inputs("pressure", n)
    table = guests.table
    columns = table.nbytes() + table.control_tags.nbytes + table.control_payload.nbytes + table.control_order.nbytes
    per_guest = columns / n
    benchmark.extra_info["bytes_per_guest"] = per_guest
    benchmark.group = "memory"
    benchmark.pedantic(lambda: None, rounds=1)
    assert per_guest < 4096
