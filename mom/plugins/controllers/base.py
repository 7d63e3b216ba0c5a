"""The controller base class: ``Controller(properties)`` with ``process(host, guests)``.

``properties`` holds ``hypervisor_iface``, ``host_monitor`` and ``guest_manager``, as
upstream passes them.  A failure for one guest is logged and the others still run.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Iterable, Mapping

__all__ = ["Controller"]


class Controller:
    """Base of the controllers."""

    def __init__(self, properties: Mapping[str, Any]) -> None:
        self.properties = properties
        self.hypervisor_iface = properties.get("hypervisor_iface")
        self.logger = logging.getLogger("mom.Controllers." + type(self).__name__)

    def process(self, host: Any, guests: Iterable[Any]) -> None:
        """Apply the controls of this policy run."""
        raise NotImplementedError

    def statistics(self) -> dict[str, Any]:
        """Counters for ``getStatistics`` (and the metrics); none by default."""
        return {}

    def for_each_guest(self, guests: Iterable[Any], action: Callable[[Any], None]) -> None:
        """``action(guest)`` for every guest; an error is logged with the guest and skipped."""
        for guest in guests:
            try:
                action(guest)
            except Exception as error:
                name = guest.properties.get("name", guest.properties.get("uuid", "?"))
                self.logger.error(
                    "%s failed for guest %s: %s: %s",
                    type(self).__name__,
                    name,
                    type(error).__name__,
                    error,
                    exc_info=self.logger.isEnabledFor(logging.DEBUG),
                )
