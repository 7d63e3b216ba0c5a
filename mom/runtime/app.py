"""The MOM application (upstream ``mom.MOM``): configuration, threads, main loop.

``MOM(conf_file, overrides).run()`` builds the host monitor (and takes the first host
sample), the hypervisor interface, the guest manager, the policy engine and the RPC
server, publishes the API methods on the instance, and then waits until
:meth:`MOM.shutdown` (or a thread dying) stops it.  All threads share one stop event,
so shutdown is prompt whatever the intervals.
"""

from __future__ import annotations

import configparser
import dataclasses
import logging
import threading
from typing import Any

from mom import __version__, _impl
from mom.config import INTERNAL_SECTION, load_config
from mom.errors import HypervisorConnectionError
from mom.log import configure, remove_handler
from mom.plugins import registry
from mom.rpc.api import EXPORTED_ATTRIBUTE, MOMFuncs
from mom.rpc.server import RPCServer
from mom.runtime.engine import PolicyEngine
from mom.runtime.guest_manager import GuestManager
from mom.runtime.host_monitor import HostMonitor
from mom.runtime.plotter import make_plot_subdir
from mom.runtime.pressure import PressureWatcher

__all__ = ["MOM"]


class MOM:
    """The daemon.  Raises :class:`~mom.errors.ConfigError` for an invalid configuration."""

    def __init__(self, conf_file: str, conf_overrides: configparser.ConfigParser | None = None) -> None:
        loaded = load_config(conf_file, conf_overrides)
        self.config = loaded.parser
        plot_subdir, plot_warning = make_plot_subdir(loaded.settings.plot_dir)
        if self.config.has_section(INTERNAL_SECTION):
            self.config.remove_section(INTERNAL_SECTION)
        self.config.add_section(INTERNAL_SECTION)
        self.config.set(INTERNAL_SECTION, "running", "0")
        self.config.set(INTERNAL_SECTION, "plot-subdir", plot_subdir)
        self.settings = dataclasses.replace(loaded.settings, plot_subdir=plot_subdir)
        self.logger = logging.getLogger("mom")
        self._handler = configure(
            self.settings.log, self.settings.verbosity, self.settings.log_max_bytes, self.settings.log_backup_count
        )
        for warning in loaded.warnings:
            self.logger.warning("%s", warning)
        if plot_warning:
            self.logger.warning("%s", plot_warning)
        self.stop_event = threading.Event()
        self.threads: dict[str, Any] = {}
        self.rpc_server: RPCServer | None = None
        self.hypervisor_iface: Any = None
        #: the Prometheus metrics (:mod:`mom.metrics`), when ``metrics-port`` is set
        self.metrics: Any = None
        #: the PSI trigger's thread, when ``pressure-trigger`` is on and the kernel has PSI
        self.pressure_watcher: PressureWatcher | None = None

    # ## Life cycle

    def shutdown(self) -> None:
        """Ask :meth:`run` to stop (safe from a signal handler or another thread)."""
        self.config.set(INTERNAL_SECTION, "running", "0")
        self.stop_event.set()

    def run(self) -> None:
        """Start everything, wait for :meth:`shutdown`, stop everything."""
        settings = self.settings
        if settings.policy and settings.policy_dir:
            self.logger.error("Only one of 'policy' and 'policy-dir' may bespecified")
            self.logger.error("Invalid configuration.  Unable to start")
            return
        self.logger.info("MOM starting")
        self.logger.info("mom %s; %s", __version__, _impl.describe())
        self.config.set(INTERNAL_SECTION, "running", "1")
        try:
            if not self._start_threads():
                return
            self._main_loop()
        finally:
            self._teardown()

    def _start_threads(self) -> bool:
        settings, config, stop = self.settings, self.config, self.stop_event
        try:
            host_monitor = HostMonitor(config, settings, stop)
            self.threads["host_monitor"] = host_monitor
            if host_monitor.collectors is None:
                self.shutdown()
                return False
            # the first host sample exists before the API is published
            host_monitor.collect()
            host_monitor.start()
            self.hypervisor_iface = self._hypervisor_interface()
            guest_manager = GuestManager(config, self.hypervisor_iface, settings, stop)
            self.threads["guest_manager"] = guest_manager
            guest_manager.start()
            # -- pressure trigger (mom.runtime.pressure): wakes the engine between ticks --
            wake = None
            if settings.pressure_trigger:
                watcher = PressureWatcher(
                    threading.Event(), stop, settings.pressure_stall_us, settings.pressure_window_us
                )
                if watcher.arm():
                    self.pressure_watcher, wake = watcher, watcher.wake
            # -- end pressure trigger --
            policy_engine = PolicyEngine(
                config, self.hypervisor_iface, host_monitor, guest_manager, settings, stop, wake=wake
            )
            self.threads["policy_engine"] = policy_engine
            if settings.metrics_port >= 0:
                # before the engine's thread starts: the metrics wrap its step
                from mom.metrics import start_metrics

                self.metrics = start_metrics(
                    settings, policy_engine, host_monitor, guest_manager, self.hypervisor_iface
                )
            policy_engine.start()
            if self.pressure_watcher is not None:
                self.pressure_watcher.start()
            funcs = MOMFuncs(config, self.threads)
            self.rpc_server = RPCServer(config, funcs, settings)
            self.rpc_server.start()
            self._publish(funcs)
        except HypervisorConnectionError as error:
            self.logger.error("Cannot connect to VDSM. This can happen when VDSM is starting. Error: %s", error)
            return False
        except Exception:
            self.logger.exception("Failed to initialize MOM threads")
            return False
        return True

    def _hypervisor_interface(self) -> Any:
        """The configured interface, or None (logged; MOM then stops) if it cannot be had."""
        name = self.settings.hypervisor_interface
        try:
            factory = registry.load("hypervisor", name)
        except ImportError as error:
            self.logger.error("Unable to import hypervisor interface: %s (%s)", name, error)
            self.shutdown()
            return None
        try:
            return factory(self.config)
        except HypervisorConnectionError:
            raise
        except ImportError as error:
            self.logger.error("Unable to import hypervisor interface: %s (%s)", name, error)
        except Exception as error:
            self.logger.error("Hypervisor interface %s failed to start: %s: %s", name, type(error).__name__, error)
        self.shutdown()
        return None

    def _publish(self, funcs: MOMFuncs) -> None:
        """Copy the exported API methods onto this instance (upstream's API surface)."""
        for name in dir(funcs):
            attribute = getattr(funcs, name)
            if callable(attribute) and getattr(attribute, EXPORTED_ATTRIBUTE, False):
                setattr(self, name, attribute)

    def _main_loop(self) -> None:
        watched = ("host_monitor", "guest_manager", "policy_engine")
        while not self.stop_event.wait(self.settings.main_loop_interval):
            for key in watched:
                thread = self.threads[key]
                if not thread.is_alive():
                    self.logger.error("Thread '%s' has exited", getattr(thread, "thread", thread).name)
                    self.shutdown()
            if self.rpc_server is not None and not self.rpc_server.thread_ok():
                self.logger.error("Thread 'RPCServer' has exited")
                self.shutdown()

    def _teardown(self) -> None:
        self.stop_event.set()
        self.config.set(INTERNAL_SECTION, "running", "0")
        if self.rpc_server is not None:
            self.rpc_server.shutdown()
            if self.rpc_server.ident is not None:
                self.rpc_server.join(5)
        if self.metrics is not None:
            self.metrics.stop()
        if self.pressure_watcher is not None:  # it ends with the stop event
            if self.pressure_watcher.ident is not None:
                self.pressure_watcher.join(2)
            self.pressure_watcher.close()
        for key, timeout in (("policy_engine", 10), ("guest_manager", 5), ("host_monitor", 5)):
            thread = self.threads.get(key)
            if thread is not None:
                thread.join(timeout)
        close = getattr(self.hypervisor_iface, "close", None)
        if callable(close):
            try:
                close()
            except Exception:
                self.logger.debug("closing the hypervisor interface failed", exc_info=True)
        self.logger.info("MOM ending")
        remove_handler(self._handler)
        self._handler = None
