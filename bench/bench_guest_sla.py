"""What the GuestSla collector adds to a collection round, on libvirt's test driver.

The daemon's guest manager (single-thread mode) on a test-driver host of N domains whose
metadata holds an ``urn:mom:sla:1`` element, with ``[sla]`` rules: the guest collectors
``GuestBalloon`` alone (``balloon``) against ``GuestBalloon, GuestSla`` (``balloon+sla``).
The domain XML is cached between metadata events, so GuestSla makes no libvirt call of its
own; ``extra_info`` has the calls of one round.

Run with ``pytest bench/bench_guest_sla.py --benchmark-only``.
"""

from __future__ import annotations

import pytest

from mom.config import INTERNAL_SECTION, load_config
from mom.plugins.hypervisors.libvirt import LibvirtInterface
from mom.runtime.guest_manager import GuestManager
from mom.sla.registry import SlaRegistry
from tests.helpers import calls_during, libvirt_test_host, momd_config

SIZES = [100, 1000]
COLLECTORS = {"balloon": "GuestBalloon", "balloon+sla": "GuestBalloon, GuestSla"}
METADATA = (
    '<mom:sla xmlns:mom="urn:mom:sla:1"><mom:class>gold</mom:class>'
    "<mom:priority>70</mom:priority><mom:tags>db prod</mom:tags></mom:sla>"
)


@pytest.mark.parametrize("collectors", list(COLLECTORS))
@pytest.mark.parametrize("n", SIZES)
def test_collection_round(benchmark, tmp_path, collectors, n):  # type: ignore[no-untyped-def]
    path = tmp_path / "host.xml"
    libvirt_test_host(str(path), n, metadata=METADATA)
    overrides = momd_config(
        f"test://{path}",
        interval=None,
        verbosity=None,
        guest=COLLECTORS[collectors],
        main={"guest-manager-multi-thread": "false", "state-file": ""},
        sections={"sla": {"rules": "\nvm00* class=compute\nvm01* priority=10 tags=batch", "tag-fields": "db"}},
    )
    loaded = load_config("", overrides)
    config, settings = loaded.parser, loaded.settings
    config.add_section(INTERNAL_SECTION)
    config.set(INTERNAL_SECTION, "plot-subdir", "")
    iface = LibvirtInterface(config)
    try:
        sla = SlaRegistry(settings.sla)
        manager = GuestManager(config, iface, settings, guest_properties={"sla_registry": sla})
        sla.live_guests = manager.monitored_uuids
        manager.update_guests()
        for _ in range(2):  # first reads of the domain XML
            manager.collect_guests()
        assert all(monitor.isReady() for monitor in manager.guests.values())
        calls = calls_during(iface, manager.collect_guests)
        benchmark.group = f"guest-sla-round[{n}]"
        benchmark.extra_info["guests"] = n
        benchmark.extra_info["libvirt_calls_by_name"] = calls
        assert "XMLDesc" not in calls  # cached: GuestSla reads no XML between events
        benchmark.pedantic(manager.collect_guests, rounds=max(5, 2000 // n), warmup_rounds=1)
    finally:
        iface.close()
