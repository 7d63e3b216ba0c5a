"""Monitor: the recent statistics of the host or of one guest (upstream ``mom.Monitor``).

A monitor runs its collectors, keeps the last ``sample-history-length`` samples and
hands the policy engine an :class:`~mom.runtime.entity.Entity` built from them.  The
constructor reads nothing but ``[__int__] plot-subdir`` from the configuration, which
is all vdsm's offline policy validator provides.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Any

from mom.runtime.entity import Entity

__all__ = ["Monitor"]


class Monitor:
    """Statistics history plus the collectors that feed it."""

    def __init__(self, config: Any, name: str) -> None:
        self.properties: dict[str, Any] = {}
        self.statistics: deque[dict[str, Any]] = deque()
        self.variables: dict[str, Any] = {}
        self.name = name
        #: mandatory and optional field names, known after the first collection
        self.fields: set[str] | None = None
        self.optional_fields: Any = None
        self.collectors: list[Any] | None = []
        self.logger = logging.getLogger("mom.Monitor")
        self.data_lock = threading.Lock()
        self.plotter: Any = None
        plot_dir = config.get("__int__", "plot-subdir") if config is not None else ""
        if plot_dir:
            from mom.runtime.plotter import Plotter

            self.plotter = Plotter(plot_dir, name)
        self.ready: bool | None = None
        self._terminate = False

    @property
    def valid_fields(self) -> set[str]:
        """Mandatory and optional fields (``optional_fields`` may be a list)."""
        return set(self.fields or ()) | set(self.optional_fields or ())

    def isReady(self) -> bool:
        return bool(self.ready)

    def interrogate(self) -> Entity | None:
        """An entity built from the current history, or None unless ready."""
        if self.ready is not True:
            return None
        with self.data_lock:
            entity = Entity(monitor=self)
            entity.properties = dict(self.properties)
            entity.variables = dict(self.variables)
            entity.statistics = list(self.statistics)
        entity._finalize()
        return entity

    def terminate(self) -> None:
        self._terminate = True
