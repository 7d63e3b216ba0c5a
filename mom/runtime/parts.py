"""The composition root: every part of the daemon, built from validated settings in one place.

:func:`build_parts` is the daemon's wiring for all who run it: momd and ``mom.MOM``
(:mod:`mom.runtime.app`, which starts the parts' threads), mom-sim
(:mod:`mom.sim.runner`, which calls their steps on a simulated clock) and the tests.
In order: the host monitor and its first sample, the hypervisor interface, the guest
manager, the PSI pressure watcher (armed, if ``pressure-trigger`` is on and the kernel
accepts it), the policy engine with its controllers, the RPC API and its server, the
metrics (if ``metrics-port`` is set).  Whatever watches the ticks is added to
``parts.observers``, which the engine and the controllers call.  A new part is built
here, once, and is a field of :class:`DaemonParts`.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from mom.config import INTERNAL_SECTION, Settings
from mom.errors import HypervisorConnectionError, MomError
from mom.observers import Observers
from mom.plugins import registry
from mom.plugins.hypervisors.base import as_interface
from mom.rpc.api import MOMFuncs
from mom.rpc.server import RPCServer
from mom.runtime.engine import PolicyEngine
from mom.runtime.guest_manager import GuestManager
from mom.runtime.host_monitor import HostMonitor
from mom.runtime.pressure import PressureWatcher
from mom.sla.registry import SlaRegistry
from mom.sla.state import StateFile
from mom.timings import TickTimings

__all__ = ["DaemonParts", "StartupError", "build_parts", "load_hypervisor_interface"]

log = logging.getLogger("mom")


class StartupError(MomError):
    """A part the daemon cannot run without did not start (the reason is logged too)."""


@dataclass
class DaemonParts:
    """The daemon's parts, built and wired; no thread started (see :meth:`start`)."""

    config: Any
    settings: Settings
    #: the event every thread waits on; set, it stops them all
    stop: threading.Event
    #: what watches the ticks (the engine and every controller call them)
    observers: Observers
    host_monitor: HostMonitor
    #: the host monitor's first sample, taken before anything else runs
    first_host_sample: dict[str, Any] | None
    #: None if it could not be had (logged): the guest manager then finds no guests
    hypervisor_iface: Any
    guest_manager: GuestManager
    policy_engine: PolicyEngine
    #: upstream's name -> part, as :class:`~mom.rpc.api.MOMFuncs` reads them
    threads: dict[str, Any]
    funcs: MOMFuncs
    rpc_server: RPCServer
    #: the Prometheus metrics (:mod:`mom.metrics`), when ``metrics-port`` is set
    metrics: Any = None
    #: every guest's SLA (:mod:`mom.sla.registry`)
    sla: Any = None
    #: the PSI trigger's thread (:mod:`mom.runtime.pressure`) that wakes the policy
    #: engine, when ``pressure-trigger`` is on and the kernel accepted the trigger
    pressure_watcher: PressureWatcher | None = None

    def start(self) -> None:
        """Start the threads: host monitor, guest manager, policy engine, pressure watcher, RPC server."""
        self.host_monitor.start()
        self.guest_manager.start()
        self.policy_engine.start()
        if self.pressure_watcher is not None:
            self.pressure_watcher.start()
        self.rpc_server.start()

    def close(self) -> None:
        """Stop the threads (those started), the metrics endpoint, the interface's connections."""
        self.stop.set()
        self.rpc_server.shutdown()
        if self.rpc_server.ident is not None:
            self.rpc_server.join(5)
        if self.metrics is not None:
            self.metrics.stop()
        if self.pressure_watcher is not None:  # it ends with the stop event
            if self.pressure_watcher.ident is not None:
                self.pressure_watcher.join(2)
            self.pressure_watcher.close()
        self.policy_engine.join(10)
        self.guest_manager.join(5)
        self.host_monitor.join(5)
        if self.hypervisor_iface is not None:
            try:
                self.hypervisor_iface.close()
            except Exception:
                log.debug("closing the hypervisor interface failed", exc_info=True)


def load_hypervisor_interface(config: Any, settings: Settings) -> Any:
    """The configured interface, or None (logged) if it cannot be had.

    HypervisorConnectionError (vdsm not answering yet) is raised: MOM stops on it with
    a message of its own.
    """
    name = settings.hypervisor_interface
    try:
        factory = registry.load("hypervisor", name)
    except ImportError as error:
        log.error("Unable to import hypervisor interface: %s (%s)", name, error)
        return None
    try:
        return as_interface(factory(config))
    except HypervisorConnectionError:
        raise
    except ImportError as error:
        log.error("Unable to import hypervisor interface: %s (%s)", name, error)
    except Exception as error:
        log.error("Hypervisor interface %s failed to start: %s: %s", name, type(error).__name__, error)
    return None


def build_parts(
    config: Any,
    settings: Settings,
    stop: threading.Event | None = None,
    *,
    implementation: Any = None,
) -> DaemonParts:
    """Build the daemon from its validated ``settings`` (and ``config``, the parser the
    plugins read their own sections from).

    :param stop: the threads' shared stop event (a new one by default)
    :param implementation: the policy implementation (``mom._impl.program`` by default)
    :raises StartupError: the host collectors cannot be loaded
    :raises HypervisorConnectionError: the hypervisor interface cannot connect (vdsm)
    """
    stop = stop if stop is not None else threading.Event()
    # what the monitors read of the configuration (all that vdsm's offline validator
    # gives a monitor, so they read nothing else)
    if config.has_section(INTERNAL_SECTION):
        config.remove_section(INTERNAL_SECTION)
    config.add_section(INTERNAL_SECTION)
    config.set(INTERNAL_SECTION, "plot-subdir", settings.plot_subdir)
    observers = Observers()
    observers.add(TickTimings())  # getStatistics()['mom']['timings']
    host_monitor = HostMonitor(config, settings, stop)
    if host_monitor.collectors is None:
        raise StartupError("the host collectors cannot be loaded")
    # the first host sample exists before the API is published
    first_host_sample = host_monitor.collect()
    iface = load_hypervisor_interface(config, settings)
    watcher = None
    try:
        # one SLA registry, for the GuestSla collector and the RPC
        sla = SlaRegistry(settings.sla, StateFile(settings.state_file))
        guest_manager = GuestManager(config, iface, settings, stop, guest_properties={"sla_registry": sla}, observers=observers)
        sla.live_guests = guest_manager.monitored_uuids
        watcher = _pressure_watcher(settings, stop)
        engine = PolicyEngine(
            config,
            iface,
            host_monitor,
            guest_manager,
            settings,
            stop,
            implementation=implementation,
            observers=observers,
            wake=watcher.wake if watcher is not None else None,
        )
        threads = {"host_monitor": host_monitor, "guest_manager": guest_manager, "policy_engine": engine}
        funcs = MOMFuncs(config, threads, sla)
        rpc_server = RPCServer(config, funcs, settings)
        metrics = None
        if settings.metrics_port >= 0:
            from mom.metrics import start_metrics  # prometheus-client only when asked for

            metrics = start_metrics(settings, host_monitor, guest_manager, engine.controllers)
            if metrics is not None:
                observers.add(metrics)
    except BaseException:
        if iface is not None:  # nobody else has it to close
            iface.close()
        if watcher is not None:
            watcher.close()
        raise
    return DaemonParts(
        config=config,
        settings=settings,
        stop=stop,
        observers=observers,
        host_monitor=host_monitor,
        first_host_sample=first_host_sample,
        hypervisor_iface=iface,
        guest_manager=guest_manager,
        policy_engine=engine,
        threads=threads,
        funcs=funcs,
        rpc_server=rpc_server,
        metrics=metrics,
        sla=sla,
        pressure_watcher=watcher,
    )


def _pressure_watcher(settings: Settings, stop: threading.Event) -> PressureWatcher | None:
    """An armed PSI watcher (its trigger set, the thread not started), or None:
    ``pressure-trigger`` off, or this kernel cannot (said once)."""
    if not settings.pressure_trigger:
        return None
    watcher = PressureWatcher(threading.Event(), stop, settings.pressure_stall_us, settings.pressure_window_us)
    return watcher if watcher.arm() else None
