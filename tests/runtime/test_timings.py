"""Where a tick's time goes: getStatistics()['mom']['timings'], momctl stats and the
Prometheus figures, from ticks of the daemon's own parts on libvirt's test driver."""

from __future__ import annotations

from mom.cli.momctl import format_stats
from mom.metrics import Metrics
from mom.observers import PHASES
from mom.timings import TickTimings
from tests.helpers import LibvirtTickRig


def test_ticks_phases_rounds_and_calls_are_reported(tmp_path):
    rig = LibvirtTickRig(str(tmp_path), 3, parameters="(set balloonEnabled 1) (defvar pressure_threshold 1.0)")
    metrics = Metrics("libvirt")
    metrics.watch(rig.host_monitor, rig.guest_manager)
    rig.parts.observers.add(metrics)
    try:
        for _ in range(2):
            assert rig.tick()
        stats = rig.parts.funcs.getStatistics()
        timings = stats["mom"]["timings"]
        assert timings["tick"]["count"] == 2
        assert timings["tick"]["max"] >= timings["tick"]["mean"] > 0
        assert set(timings["phases"]) == set(PHASES)
        assert all(timings["phases"][phase]["count"] == 2 for phase in PHASES)
        # the phases are parts of the tick
        assert sum(timings["phases"][phase]["last"] for phase in PHASES) <= timings["tick"]["last"]
        assert timings["collection_round"]["count"] == 2
        assert timings["collection_round"]["guests"] == 3 and timings["collection_round"]["batched"] is True
        # under pressure every guest is shrunk: one setVmBalloonTarget each per tick
        assert timings["hypervisor_calls"]["setVmBalloonTarget"]["calls"] == 6
        text = format_stats(stats)
        assert "Timings (momd):" in text
        assert "collection round:" in text and "(3 guests, batched)" in text
        assert "calls setVmBalloonTarget: 6 calls" in text
        registry = metrics.registry
        assert registry.get_sample_value("mom_tick_seconds_count") == 2
        for phase in PHASES:
            assert registry.get_sample_value("mom_tick_phase_seconds_count", {"phase": phase}) == 2
        assert registry.get_sample_value("mom_collection_seconds_count") == 2
        by_name = rig.iface.stats()["calls_by_name"]
        assert registry.get_sample_value("mom_hypervisor_calls_total", {"method": "getAllDomainStats"}) == (
            by_name["getAllDomainStats"]
        )
        assert registry.get_sample_value("mom_hypervisor_calls_total", {"method": "setMemory"}) == by_name["setMemory"] >= 6
    finally:
        rig.close()


def test_timings_start_empty_and_keep_the_longest():
    timings = TickTimings()
    assert timings.summary()["tick"] == {"count": 0, "last": 0.0, "mean": 0.0, "max": 0.0}
    for seconds in (0.003, 0.001):
        timings.tick_finished(1, "ok", seconds)
    assert timings.summary()["tick"] == {"count": 2, "last": 0.001, "mean": 0.002, "max": 0.003}
