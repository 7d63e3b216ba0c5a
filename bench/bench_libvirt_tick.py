"""One daemon tick against libvirt's test driver: collect, evaluate, apply.

The daemon's own objects on test-driver hosts of 100, 500 and 1000 domains (see
:class:`tests.helpers.LibvirtTickRig`: vdsm's collectors, the shipped policies, the Balloon
and IoTune controllers), both policy implementations.  Each row's ``extra_info`` has the
libvirt calls one tick cost, by name.

- ``steady``: nothing to change (guests at full size, IO limits already applied): the
  calls are the collection's.
- ``pressure``: the shipped balloon policy with pressure declared (``balloonEnabled``,
  ``pressure_threshold 1.0``): every guest is shrunk, one ``setMemory`` each per tick.

Run with ``make bench`` or ``pytest bench/bench_libvirt_tick.py --benchmark-only``.
"""

from __future__ import annotations

import pytest

from tests.helpers import LibvirtTickRig, calls_during

SIZES = [100, 500, 1000]
PARAMETERS = {
    "steady": "",
    "pressure": "(set balloonEnabled 1) (defvar pressure_threshold 1.0)",
}


@pytest.mark.parametrize("scenario", list(PARAMETERS))
@pytest.mark.parametrize("n", SIZES)
def test_libvirt_tick(benchmark, impl, tmp_path, scenario, n):  # type: ignore[no-untyped-def]
    rig = LibvirtTickRig(str(tmp_path), n, implementation=impl, parameters=PARAMETERS[scenario])
    try:
        # first reads of the domain XML, IO limits applied, caches warm; the guests (2 of 4 GiB)
        # grow back to full size at most 10 % of it per tick (balloon-max-change-percent)
        for _ in range(6):
            assert rig.tick()
        ran = []
        calls = calls_during(rig.iface, lambda: ran.append(rig.tick()))
        assert ran == [True]
        benchmark.group = f"libvirt-tick[{scenario}-{n}]"
        benchmark.extra_info["guests"] = n
        benchmark.extra_info["libvirt_calls"] = sum(calls.values())
        benchmark.extra_info["libvirt_calls_by_name"] = calls
        rounds = max(5, min(30, 6000 // n))
        benchmark.pedantic(rig.tick, rounds=rounds, warmup_rounds=1)
        assert calls["getAllDomainStats"] == 1
        if scenario == "pressure":
            assert calls["setMemory"] == n
        else:
            assert "setMemory" not in calls
    finally:
        rig.close()
