"""HostMonitor: the host's statistics, sampled every ``host-monitor-interval`` seconds."""

from __future__ import annotations

import logging
import threading
from typing import Any

from mom.config import Settings
from mom.plugins.collectors.base import get_collectors
from mom.runtime.monitor import Monitor
from mom.runtime.table import SampleTable
from mom.runtime.threads import PeriodicThread, RunsPeriodically

__all__ = ["HostMonitor"]


class HostMonitor(Monitor, RunsPeriodically):
    """The host's monitor (properties: ``interval``); :meth:`start` runs its thread.

    If the collectors cannot be loaded, ``collectors`` is None and the daemon stops
    (``Host Monitor initialization failed``).
    """

    def __init__(self, config: Any, settings: Settings, stop: threading.Event | None = None) -> None:
        super().__init__(config, "HostMonitor")
        self.config = config
        self.settings = settings
        self.logger = logging.getLogger("mom.HostMonitor")
        self.history_length = self.settings.sample_history_length
        self.properties["interval"] = self.settings.host_monitor_interval
        self.stop = stop or threading.Event()
        self.collectors = get_collectors(", ".join(self.settings.host_collectors), self.properties, config)
        # one row of its own in the column store
        table = SampleTable(history=self.history_length, capacity=1)
        self.attach(table, table.add_row(self.name))
        if self.collectors is None:
            self.logger.error("Host Monitor initialization failed")
        self.thread = PeriodicThread(
            "HostMonitor", self.settings.host_monitor_interval, self.stop, self.collect, logger=self.logger
        )

