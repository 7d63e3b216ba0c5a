"""HostIoPressure: the host's block IO stall (PSI), from /proc/pressure/io."""

from __future__ import annotations

import logging
import os
from typing import Any, Mapping

from mom.plugins.collectors.base import Collector
from mom.plugins.psi import read_psi

__all__ = ["HostIoPressure"]

_FIELDS = {
    "io_some_avg10": "some_avg10",
    "io_some_avg60": "some_avg60",
    "io_some_total": "some_total",
    "io_full_avg10": "full_avg10",
    "io_full_avg60": "full_avg60",
    "io_full_total": "full_total",
}


class HostIoPressure(Collector):
    """Block IO pressure stall information; every field optional (a kernel without PSI has none).

    - ``io_some_avg10``, ``io_some_avg60``: percent of time at least one task waited
      for IO, over 10 and 60 s; ``io_some_total``: microseconds since boot
    - ``io_full_avg10``, ``io_full_avg60``, ``io_full_total``: every non-idle task at once

    ``[Collector: HostIoPressure] proc`` reads another /proc (tests use a tree of their own).
    """

    optional_fields = frozenset(_FIELDS)

    def __init__(self, properties: Mapping[str, Any], proc: str | None = None) -> None:
        super().__init__(properties)
        self.logger = logging.getLogger("mom.Collectors.HostIoPressure")
        self.path = os.path.join(proc or dict(properties.get("config") or {}).get("proc") or "/proc", "pressure", "io")
        self._said = False

    def collect(self) -> dict[str, Any]:
        try:
            values = read_psi(self.path)
        except (OSError, ValueError) as error:
            if not self._said:
                self._said = True
                self.logger.info("HostIoPressure: no IO pressure information (%s): its fields stay empty", error)
            return {}
        return {name: values[key] for name, key in _FIELDS.items() if key in values}
