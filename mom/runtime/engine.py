"""PolicyEngine: every ``policy-engine-interval`` seconds, evaluate the policy and act.

The whole path of one tick lives in :meth:`PolicyEngine.do_controls`: samples ->
entities (``Monitor.cycle_entity``, ``GuestManager.guest_set``) ->
``PolicyStore.evaluate(host, guests)`` -> controllers.  Each controller runs isolated:
one that raises is logged and the next one still runs, and so does the next tick
(upstream's engine thread died).  Whatever watches the ticks (the metrics, audits)
is one of the engine's :class:`~mom.observers.Observers` and hears every phase there.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any

from mom.config import Settings
from mom.errors import PluginNotFoundError
from mom.observers import (
    OUTCOME_FAILED,
    OUTCOME_OK,
    OUTCOME_SKIPPED,
    PHASE_COLLECT,
    PHASE_CONTROLS,
    PHASE_POLICY,
    Observers,
)
from mom.plugins import registry
from mom.policy_files import policy_dir_files, policy_name, policy_name_from_file, read_text
from mom.runtime.gc_pause import gc_paused
from mom.runtime.policy_store import PolicyStore
from mom.runtime.threads import PeriodicThread, RunsPeriodically

__all__ = ["PolicyEngine", "policy_name_from_file"]


def _holding(owner: Any) -> Any:
    """The lock of the table behind an entity or guest manager (a no-op without one)."""
    table = getattr(owner, "table", None)
    return table.lock if table is not None else contextlib.nullcontext()


class PolicyEngine(RunsPeriodically):
    """Loads the controllers and the policy; :meth:`start` runs thread ``PolicyEngine``.

    :param implementation: the policy implementation (``mom._impl.program`` by default)
    :param observers: what watches the ticks (the daemon's; none by default)
    :param wake: an event that runs one extra cycle at once (the PSI watcher's)
    """

    def __init__(
        self,
        config: Any,
        hypervisor_iface: Any,
        host_monitor: Any,
        guest_manager: Any,
        settings: Settings,
        stop: threading.Event | None = None,
        *,
        implementation: Any = None,
        observers: Observers | None = None,
        wake: threading.Event | None = None,
    ) -> None:
        self.config = config
        self.settings = settings
        self.logger = logging.getLogger("mom.PolicyEngine")
        self.hypervisor_iface = hypervisor_iface
        self.host_monitor = host_monitor
        self.guest_manager = guest_manager
        self.stop = stop or threading.Event()
        self.observers = observers if observers is not None else Observers()
        self.policy = PolicyStore(implementation=implementation)
        #: ticks begun (the observers' tick numbers)
        self.ticks = 0
        self._failed_once: set[str] = set()
        self.controllers = self.load_controllers()
        self.load_policy()
        self.thread = PeriodicThread(
            "PolicyEngine",
            self.settings.policy_engine_interval,
            self.stop,
            self.do_controls,
            logger=self.logger,
            wake=wake,
        )

    # ## Set-up

    def load_controllers(self) -> list[Any]:
        """Instantiate ``[main] controllers``; one that fails is logged and left out."""
        properties = {
            "hypervisor_iface": self.hypervisor_iface,
            "host_monitor": self.host_monitor,
            "guest_manager": self.guest_manager,
            "observers": self.observers,
            # the validated settings (the Balloon controller's floors and the Lifecycle
            # controller's keys read theirs here)
            "settings": self.settings,
        }
        controllers = []
        for name in self.settings.controllers:
            try:
                cls = registry.load("controller", name)
            except PluginNotFoundError as error:
                self.logger.error("Unable to import controller: %s (%s)", name, error)
                continue
            try:
                controllers.append(cls(properties))
            except Exception as error:
                self.logger.error("Controller %s disabled: %s: %s", name, type(error).__name__, error)
        return controllers

    def _read(self, path: str) -> str:
        # UnreadableFileError (an OSError) also for a file that is not UTF-8: logged
        # and skipped like a missing one, the other policies still load
        return read_text(path)

    def load_policy(self) -> bool | None:
        """Load ``policy`` or ``policy-dir``; upstream's return values (see ``resetPolicies``)."""
        if self.settings.policy_dir:
            return self._load_policy_dir(self.settings.policy_dir)
        if self.settings.policy:
            try:
                text = self._read(self.settings.policy)
            except OSError as error:
                self.logger.error("Unable to read policy file: %s", error)
                return False
            return self.policy.set_policy(None, text)
        return None

    def _load_policy_dir(self, directory: str) -> bool:
        try:
            paths = policy_dir_files(directory)
        except OSError as error:
            self.logger.error("Unable to read directory '%s': %s", directory, error)
            return False
        for path in paths:
            try:
                text = self._read(path)
            except OSError as error:
                self.logger.error("Unable to read policy file: %s", error)
                continue
            self.policy.set_policy(policy_name(path), text)
        return True

    # ## The tick

    def do_controls(self) -> bool:
        """One tick: samples -> entities -> policy -> controllers, each phase observed.

        Returns True if the controllers ran.  The host entity missing (host monitor
        not ready) or the policy failing skips the controllers this tick.  The cyclic
        garbage collector waits until the tick is done (see mom.runtime.gc_pause).
        """
        with gc_paused():
            return self._tick()

    def _tick(self) -> bool:
        observers = self.observers
        self.ticks += 1
        tick = self.ticks
        started = time.perf_counter()
        observers.tick_started(tick)
        cycle_entity = getattr(self.host_monitor, "cycle_entity", None)  # upstream-style monitors lack it
        host = cycle_entity() if cycle_entity is not None else self.host_monitor.interrogate()
        if host is None:
            self.logger.debug("Host statistics not ready; skipping this cycle")
            observers.tick_finished(tick, OUTCOME_SKIPPED, time.perf_counter() - started)
            return False
        manager = self.guest_manager
        # no collection may change the tables while the policy reads them or the
        # controllers act on what it saw (a guest's entity is a view of its row's latest
        # sample: a sample appended meanwhile would hand the controllers other fields
        # than the policy's), and no row may be freed (or reused by a new guest) between
        # choosing the guests and acting on them: one hold of each table's lock covers
        # the whole tick.  Collections meanwhile wait only to append their sample.
        with _holding(host), _holding(manager):
            guests: Any = manager.guest_set() if manager is not None else {}.values()
            collected = time.perf_counter()
            observers.phase_finished(tick, PHASE_COLLECT, collected - started)
            ok = self.policy.evaluate(host, guests)
            observers.policy_evaluated(tick, host, guests, ok)
            evaluated = time.perf_counter()
            observers.phase_finished(tick, PHASE_POLICY, evaluated - collected)
            if not ok:
                observers.tick_finished(tick, OUTCOME_FAILED, evaluated - started)
                return False
            self._run_controllers(host, guests)
        finished = time.perf_counter()
        observers.phase_finished(tick, PHASE_CONTROLS, finished - evaluated)
        observers.tick_finished(tick, OUTCOME_OK, finished - started)
        return True

    def _run_controllers(self, host: Any, guests: Any) -> None:
        for controller in self.controllers:
            try:
                controller.process(host, guests)
            except Exception as error:
                name = type(controller).__name__
                # the traceback once per controller; then one line per failure
                self.logger.error(
                    "Controller %s failed: %s: %s",
                    name,
                    type(error).__name__,
                    error,
                    exc_info=name not in self._failed_once,
                )
                self._failed_once.add(name)
                self.observers.controller_failed(name, None, error)

    # ## RPC

    def rpc_get_policy(self) -> str:
        return self.policy.get_string()

    def rpc_set_policy(self, policy: str | None) -> bool:
        """Replace every policy with one, named ``50_main_``."""
        self.policy.clear_policy()
        if policy is None:
            return True
        return self.policy.set_policy(None, policy)

    def rpc_set_named_policy(self, name: str, policy: str | None) -> bool:
        return self.policy.set_policy(name, policy)

    def rpc_get_named_policies(self) -> dict[str, str]:
        return self.policy.get_strings()

    def rpc_reset_policy(self) -> bool | None:
        self.policy.clear_policy()
        return self.load_policy()
