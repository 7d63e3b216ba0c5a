"""The controller base class: ``Controller(properties)`` with ``process(host, guests)``.

``properties`` holds ``hypervisor_iface``, ``host_monitor`` and ``guest_manager``, as
upstream passes them, and ``observers``, the daemon's
:class:`~mom.observers.Observers`.  A failure for one guest is logged and the others
still run.  A controller makes its hypervisor calls through :meth:`Controller.apply`,
so that the observers (metrics, audits) see each call and each control it applies.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Iterable, Mapping

from mom.observers import Observers, TickObserver

__all__ = ["Controller"]


class Controller:
    """Base of the controllers."""

    def __init__(self, properties: Mapping[str, Any]) -> None:
        self.properties = properties
        self.hypervisor_iface = properties.get("hypervisor_iface")
        #: who watches what this controller does (nobody, outside the daemon)
        observers = properties.get("observers")
        self.observers: TickObserver = observers if observers is not None else Observers()
        self.name = type(self).__name__
        self.logger = logging.getLogger("mom.Controllers." + self.name)

    def process(self, host: Any, guests: Iterable[Any]) -> None:
        """Apply the controls of this policy run."""
        raise NotImplementedError

    def apply(self, guest: str | None, controls: Mapping[str, Any], method: str, *args: Any) -> Any:
        """``hypervisor_iface.<method>(*args)``, the call that applies ``controls``
        (control name -> value) to ``guest`` (its name; None: the host).

        The observers hear of the call (``hypervisor_called``) and, once it returned, of
        each control (``control_applied``); what it raises is raised.
        """
        call = getattr(self.hypervisor_iface, method)
        observers = self.observers
        if not observers:  # nobody watches: no clock reads
            return call(*args)
        started = time.perf_counter()
        try:
            result = call(*args)
        except Exception as error:
            observers.hypervisor_called(method, time.perf_counter() - started, error)
            raise
        observers.hypervisor_called(method, time.perf_counter() - started, None)
        for control, value in controls.items():
            observers.control_applied(self.name, guest, control, value)
        return result
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
                    self.name,
                    name,
                    type(error).__name__,
                    error,
                    exc_info=self.logger.isEnabledFor(logging.DEBUG),
                )
                self.observers.controller_failed(self.name, name, error)
