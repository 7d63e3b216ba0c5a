"""The exported API (upstream ``MOMFuncs``): what vdsm and ``momctl`` call.

Only methods marked with :func:`exported` are published (on the MOM instance and
over RPC); method names are upstream's, plus this project's ``setGuestSla``,
``getGuestSla`` and ``getActions``.  ``threads`` holds ``host_monitor``, ``guest_manager`` and
``policy_engine``; ``sla`` is the daemon's :class:`~mom.sla.registry.SlaRegistry`.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable, TypeVar

from mom import _impl
from mom.log import log_set_verbosity
from mom.plugins.controllers.base import Controller
from mom.rpc.marshalling import plain
from mom.timings import TickTimings

__all__ = ["MOMFuncs", "exported", "EXPORTED_ATTRIBUTE"]

EXPORTED_ATTRIBUTE = "__mom_exported__"

F = TypeVar("F", bound=Callable[..., Any])


def exported(function: F) -> F:
    """Mark a method as part of the RPC API."""
    setattr(function, EXPORTED_ATTRIBUTE, True)
    return function


class MOMFuncs:
    """The API methods; ``config``, ``threads``, ``sla`` and ``logger`` are its only data."""

    def __init__(self, config: Any, threads: dict[str, Any], sla: Any = None) -> None:
        self.config = config
        self.threads = threads
        #: the SLA registry (None: the SLA methods raise, e.g. under upstream's signature)
        self.sla = sla
        self.logger = logging.getLogger("mom.RPCServer")
        # RPC workers answer clients concurrently: a call that changes the policies runs
        # alone, as every call did on upstream's one-thread server (setPolicy is a
        # clear and a set, resetPolicies a clear and a load)
        self._changing = threading.Lock()

    @exported
    def ping(self) -> bool:
        return True

    @exported
    def setPolicy(self, policy: str | None) -> bool:
        """Replace all policies with ``policy`` (named ``50_main_``); False if it does not parse."""
        self.logger.info("setPolicy()")
        self.logger.debug("New policy:\n%s", policy)
        with self._changing:
            return self.threads["policy_engine"].rpc_set_policy(policy)

    @exported
    def setNamedPolicy(self, name: str, policy: str | None) -> bool:
        """Store, replace or (``policy`` None) delete one named policy."""
        self.logger.info("setNamedPolicy(%s)", name)
        self.logger.debug("New policy:\n%s", policy)
        with self._changing:
            return self.threads["policy_engine"].rpc_set_named_policy(name, policy)

    @exported
    def getPolicy(self) -> str:
        """Every policy, joined in name order (``'0'`` when there is none)."""
        return self.threads["policy_engine"].rpc_get_policy()

    @exported
    def getNamedPolicies(self) -> dict[str, str]:
        return self.threads["policy_engine"].rpc_get_named_policies()

    @exported
    def resetPolicies(self) -> bool | None:
        """Reload the configured policy or policy directory."""
        self.logger.info("resetPolicies()")
        with self._changing:
            return self.threads["policy_engine"].rpc_reset_policy()

    @exported
    def setVerbosity(self, verbosity: Any) -> bool:
        """Set the log level of logger ``mom`` (upstream set the root logger's, to no effect)."""
        self.logger.info("setVerbosity(%s)", verbosity)
        log_set_verbosity(logging.getLogger("mom"), verbosity)
        return True

    @exported
    def getStatistics(self) -> dict[str, Any]:
        """``{'host': latest host sample, 'guests': {name: latest sample}, 'mom': {...}}``.

        ``'mom'`` (this package's addition) names the policy implementation in use and,
        under ``'hypervisor'``, the interface's counters (libvirt: calls in all, by name,
        and since the previous collection round), under ``'controllers'`` theirs
        (``Balloon``: clamped targets by bound, refused targets, stuck guests), and under
        ``'timings'`` where the ticks' time goes (:mod:`mom.timings`).  Raises AttributeError before the host
        monitor is ready, as upstream does.
        """
        host = self.threads["host_monitor"].interrogate()
        if host is None:
            raise AttributeError("host statistics are not available yet")
        guests = {}
        for entity in self.threads["guest_manager"].interrogate().values():
            guests[entity.properties["name"]] = plain(entity.statistics[-1])
        about = {"implementation": _impl.IMPLEMENTATION, "policy_engine": _impl.describe()}
        iface = getattr(self.threads["guest_manager"], "hypervisor_iface", None)  # upstream's threads may lack it
        counters = iface.stats() if iface is not None else None
        if counters is not None:
            about["hypervisor"] = plain(counters)
        # the controllers' counters (the Balloon controller's floors and stuck balloons)
        controllers = {}
        for controller in getattr(self.threads.get("policy_engine"), "controllers", ()):
            counters = controller.statistics() if isinstance(controller, Controller) else None
            if counters:
                controllers[type(controller).__name__] = plain(counters)
        if controllers:
            about["controllers"] = controllers
        timings = self._timings()
        if timings is not None:
            about["timings"] = plain(timings.summary())
        return {"host": plain(host.statistics[-1]), "guests": guests, "mom": about}

    def _timings(self) -> Any:
        """The daemon's TickTimings (mom.timings), if its engine has one among its observers."""
        observers = getattr(self.threads["policy_engine"], "observers", None)
        find = getattr(observers, "find", None)
        return find(TickTimings) if find is not None else None

    @exported
    def getActiveGuests(self) -> list[str]:
        """Names of the guests whose monitor is ready."""
        return self.threads["guest_manager"].rpc_get_active_guests()

    # ## SLA (this project's; README "SLA classes")

    def _sla_registry(self) -> Any:
        if self.sla is None:
            raise RuntimeError("this MOM has no SLA registry")
        return self.sla

    @exported
    def setGuestSla(self, guest: str, sla: dict[str, Any] | None) -> dict[str, Any]:
        """Set what the RPC says about a guest (by UUID or name): ``{class, priority,
        tags, guarantee}``, each optional; ``{}`` clears it.  Kept in the state file;
        returns the guest's effective SLA (as :meth:`getGuestSla`)."""
        return self._sla_registry().set_rpc(guest, sla)

    @exported
    def getGuestSla(self, guest: str) -> dict[str, Any]:
        """A guest's effective SLA: class, priority, tags, guarantee, and each field's source."""
        return plain(self._sla_registry().get(guest))

    # ## Lifecycle actions (this project's; README "Lifecycle actions")

    @exported
    def getActions(self, count: int = 50) -> dict[str, Any]:
        """The last ``count`` lifecycle actions (done, refused, dry runs...), the guests
        momd stopped and will start again, what runs now, the recommendations; ``mode``
        is ``not loaded`` when the Lifecycle controller is not configured."""
        engine = self.threads.get("policy_engine")
        for controller in getattr(engine, "controllers", ()):
            answer = getattr(controller, "rpc_get_actions", None)
            if callable(answer):
                return plain(answer(int(count)))
        return {"mode": "not loaded", "actions": [], "stopped": [], "running": [], "recommendations": []}
