"""GuestPressure: a guest's memory distress from its balloon statistics (fault and swap-in activity)."""

from __future__ import annotations

import logging
from typing import Any, Mapping

from mom.errors import HypervisorInterfaceError
from mom.plugins.collectors.base import Collector

__all__ = ["GuestPressure"]

#: balloon statistic (cumulative, as libvirt and vdsm report it) -> collector field
_COUNTERS = {"major_fault": "major_fault_delta", "swap_in": "swap_in_delta"}


class GuestPressure(Collector):
    """What the guest went through since the previous sample; every field optional.

    - ``major_fault_delta``: major page faults (reads from disk or swap) since the
      previous sample; divide by ``guest-monitor-interval`` for a rate
    - ``swap_in_delta``: pages swapped in since the previous sample

    Both are absent on the first sample, when the guest reports no statistics, and
    when a counter went backwards (the guest rebooted).  Newer guest counters (OOM
    kills, allocation stalls) need Linux 6.12 and QEMU 9.2 and are not in libvirt's
    balloon statistics, so they are not collected.
    """

    optional_fields = frozenset(_COUNTERS.values())

    def __init__(self, properties: Mapping[str, Any]) -> None:
        super().__init__(properties)
        self.logger = logging.getLogger("mom.Collectors.GuestPressure")
        self.iface = properties["hypervisor_iface"]
        self.uuid = properties["uuid"]
        self.previous: dict[str, int] = {}

    def collect(self) -> dict[str, Any]:
        try:
            stats = self.iface.getVmMemoryStats(self.uuid)
        except HypervisorInterfaceError:
            return {}  # GuestMemory reports it
        sample: dict[str, Any] = {}
        for counter, name in _COUNTERS.items():
            value = stats.get(counter)
            if not isinstance(value, int):
                self.previous.pop(counter, None)
                continue
            before = self.previous.get(counter)
            self.previous[counter] = value
            if before is not None and value >= before:
                sample[name] = value - before
        return sample
