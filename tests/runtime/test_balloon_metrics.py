"""The Balloon controller's floors and stuck balloons, as Prometheus metrics (read at scrape time)."""

from __future__ import annotations

from mom.metrics import Metrics
from mom.offline import entity_from_spec
from mom.plugins.controllers.balloon import Balloon
from mom.plugins.hypervisors.base import HypervisorInterface

GIB = 1024 * 1024


class Recorder(HypervisorInterface):
    def setVmBalloonTarget(self, uuid, target):
        pass


def test_clamps_and_refusals_are_metrics():
    controller = Balloon({"hypervisor_iface": Recorder()})
    stats = {"balloon_cur": 4 * GIB, "balloon_max": 4 * GIB, "mem_available": 4 * GIB, "mem_unused": 3 * GIB}
    guests = []
    for name, target in (("a", 0), ("b", "lots")):
        guest = entity_from_spec({"name": name, "properties": {"uuid": name}, "stats": [stats]})
        guest.Control("balloon_target", target)
        guests.append(guest)
    metrics = Metrics()
    metrics.watch(None, None, [controller])
    sample = metrics.registry.get_sample_value
    assert sample("mom_balloon_clamped_targets_total", {"bound": "change-cap"}) is None
    controller.process(None, guests)
    controller.process(None, guests)
    assert sample("mom_balloon_clamped_targets_total", {"bound": "change-cap"}) == 2
    assert sample("mom_balloon_clamped_targets_total", {"bound": "in-use"}) == 2
    assert sample("mom_balloon_invalid_targets_total") == 2
    assert sample("mom_balloon_stuck_guests") == 0
    assert sample("mom_balloon_stuck_marked_total") == 0
