"""GuestMonitor: one guest's statistics (properties ``uuid``, ``name``, ``pid``, ``hypervisor_iface``).

Guest monitors have no thread of their own: the guest manager collects them on a
fixed pool of workers (see :mod:`mom.runtime.guest_manager`).
"""

from __future__ import annotations

import logging
from typing import Any

from mom.config import Settings
from mom.plugins.collectors.base import get_collectors
from mom.runtime.monitor import Monitor

__all__ = ["GuestMonitor"]


class GuestMonitor(Monitor):
    """The monitor of one guest; ``collectors`` is None if they failed to load."""

    def __init__(self, config: Any, info: dict[str, Any], hypervisor_iface: Any, settings: Settings):
        super().__init__(config, str(info["name"]))
        self.config = config
        self.settings = settings
        self.logger = logging.getLogger("mom.GuestMonitor")
        self.history_length = self.settings.sample_history_length
        self.properties.update(info)
        self.properties["hypervisor_iface"] = hypervisor_iface
        self.collectors = get_collectors(", ".join(self.settings.guest_collectors), self.properties, config)
        if self.collectors is None:
            self.logger.error("Guest Monitor initialization failed for %s", self.name)

    def getGuestName(self) -> str:
        return self.properties["name"]
