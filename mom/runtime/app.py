"""The MOM application (upstream ``mom.MOM``): configuration, threads, main loop.

``MOM(conf_file, overrides).run()`` builds the daemon's parts
(:func:`~mom.runtime.parts.build_parts`: the host monitor and its first sample, the
hypervisor interface, the guest manager, the policy engine, the RPC server), starts
their threads, publishes the API methods on the instance, and then waits until
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
from mom.config import load_config
from mom.errors import HypervisorConnectionError
from mom.log import configure, remove_handler
from mom.rpc.api import EXPORTED_ATTRIBUTE, MOMFuncs
from mom.runtime.parts import DaemonParts, StartupError, build_parts
from mom.runtime.plotter import make_plot_subdir
from mom.runtime.pressure import PressureWatcher
from mom.sla.registry import SlaRegistry

__all__ = ["MOM"]


class MOM:
    """The daemon.  Raises :class:`~mom.errors.ConfigError` for an invalid configuration."""

    def __init__(self, conf_file: str, conf_overrides: configparser.ConfigParser | None = None) -> None:
        loaded = load_config(conf_file, conf_overrides)
        self.config = loaded.parser
        plot_subdir, plot_warning = make_plot_subdir(loaded.settings.plot_dir)
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
        #: the parts, once :meth:`run` built them
        self.parts: DaemonParts | None = None
        #: upstream's name -> part (``host_monitor``, ``guest_manager``, ``policy_engine``)
        self.threads: dict[str, Any] = {}
        self.rpc_server: Any = None
        self.hypervisor_iface: Any = None
        #: the Prometheus metrics (:mod:`mom.metrics`), when ``metrics-port`` is set
        self.metrics: Any = None
        #: the SLA registry (:mod:`mom.sla.registry`), once the threads start
        self.sla: SlaRegistry | None = None
        #: the PSI trigger's thread, when ``pressure-trigger`` is on and the kernel has PSI
        self.pressure_watcher: PressureWatcher | None = None

    # ## Life cycle

    def shutdown(self) -> None:
        """Ask :meth:`run` to stop (safe from a signal handler or another thread)."""
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
        try:
            if not self._start():
                return
            self._main_loop()
        finally:
            self._teardown()

    def _start(self) -> bool:
        try:
            parts = build_parts(self.config, self.settings, self.stop_event)
        except StartupError:
            self.shutdown()  # the host monitor said why
            return False
        except HypervisorConnectionError as error:
            self.logger.error("Cannot connect to VDSM. This can happen when VDSM is starting. Error: %s", error)
            return False
        except Exception:
            self.logger.exception("Failed to initialize MOM threads")
            return False
        self.parts = parts
        self.threads = parts.threads
        self.rpc_server = parts.rpc_server
        self.hypervisor_iface = parts.hypervisor_iface
        self.metrics = parts.metrics
        self.sla = parts.sla
        self.pressure_watcher = parts.pressure_watcher
        if parts.hypervisor_iface is None:
            # logged; the API still comes up (and answers) while MOM stops
            self.shutdown()
        try:
            parts.start()
        except Exception:
            self.logger.exception("Failed to initialize MOM threads")
            return False
        self._publish(parts.funcs)
        return True

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
        if self.parts is not None:
            self.parts.close()
        self.logger.info("MOM ending")
        remove_handler(self._handler)
        self._handler = None
