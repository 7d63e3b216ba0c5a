"""HostPressure: the host's memory stall (PSI), from /proc/pressure/memory."""

from __future__ import annotations

import logging
from typing import Any, Mapping

from mom.plugins.collectors.base import Collector
from mom.plugins.psi import PSI_MEMORY, read_psi

__all__ = ["HostPressure"]

#: collector field -> key of :func:`mom.plugins.psi.parse_psi`
_FIELDS = {
    "mem_some_avg10": "some_avg10",
    "mem_some_avg60": "some_avg60",
    "mem_some_total": "some_total",
    "mem_full_avg10": "full_avg10",
    "mem_full_avg60": "full_avg60",
    "mem_full_total": "full_total",
}


class HostPressure(Collector):
    """Memory pressure stall information; every field optional (a kernel without PSI has none).

    - ``mem_some_avg10``, ``mem_some_avg60``: percent of time at least one task stalled
      on memory, over the last 10 and 60 s
    - ``mem_some_total``: microseconds some task stalled, since boot
    - ``mem_full_avg10``, ``mem_full_avg60``, ``mem_full_total``: the same for all
      non-idle tasks stalled at once

    ``[Collector: HostPressure] path`` reads another file (tests point it at a tree of
    their own).
    """

    optional_fields = frozenset(_FIELDS)

    def __init__(self, properties: Mapping[str, Any], path: str | None = None) -> None:
        super().__init__(properties)
        self.logger = logging.getLogger("mom.Collectors.HostPressure")
        self.path = path or dict(properties.get("config") or {}).get("path") or PSI_MEMORY
        self._warned = False

    def collect(self) -> dict[str, Any]:
        try:
            values = read_psi(self.path)
        except (OSError, ValueError) as error:
            if not self._warned:
                self._warned = True
                self.logger.info("No memory pressure information (%s): the HostPressure fields stay empty", error)
            return {}
        self._warned = False
        return {name: values[key] for name, key in _FIELDS.items() if key in values}
