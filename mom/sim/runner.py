"""Run the real daemon code against a simulated host, on a simulated clock.

The daemon's own pieces do the work, built by momd's composition root
(:func:`~mom.runtime.parts.build_parts`) and loaded through the plugin registry as
momd loads them: :class:`~mom.runtime.host_monitor.HostMonitor` with the ``SimHost*``
collectors, the ``sim`` hypervisor interface,
:class:`~mom.runtime.guest_manager.GuestManager` with the real guest collectors,
:class:`~mom.runtime.engine.PolicyEngine` with the scenario's policies and the real
controllers, the RPC server if asked for.  Their threads are not started: each
simulated tick, the model advances and then every step whose interval has come runs
synchronously, through the same public methods the threads call (``collect()``,
``update_guests()``, ``collect_guests()``, ``do_controls()``).  So a run is as fast as
the code allows and deterministic.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from mom.config import new_parser, validate
from mom.errors import MomError
from mom.lifecycle.worker import InlineWorker
from mom.plugins.controllers.balloon import Balloon
from mom.plugins.controllers.lifecycle import Lifecycle
from mom.runtime.parts import DaemonParts, StartupError, build_parts
from mom.sim.interface import attached
from mom.sim.model import SimHost
from mom.sim.record import Recording
from mom.sim.scenario import Scenario

__all__ = ["Simulation", "SimulationError", "RunResult", "build_config", "sla_rules"]

log = logging.getLogger("mom.sim")


class SimulationError(MomError):
    """The simulation cannot start (bad policies, plugins that do not load) or broke an invariant."""


@dataclass
class RunResult:
    """What :meth:`Simulation.run` gives back."""

    recording: Recording
    host: SimHost
    #: wall-clock seconds the run took
    elapsed: float
    #: ERROR (and worse) records the daemon logged, by logger name
    errors: dict[str, int] = field(default_factory=dict)
    #: the first few of them, as text
    error_samples: list[str] = field(default_factory=list)
    policy_cycles: int = 0
    policy_failures: int = 0
    #: the Balloon controller's counters at the end (floors, stuck balloons), if it ran
    balloon: dict[str, Any] = field(default_factory=dict)
    #: indexes of the guests the daemon holds stuck at the end
    daemon_stuck: list[int] = field(default_factory=list)
    #: the Lifecycle controller's audit counts ("power-off done", "migrate refused"...), if it ran
    lifecycle: dict[str, int] = field(default_factory=dict)
    #: the Lifecycle controller's getActions answer at the end (every action kept), if it ran
    actions: dict[str, Any] | None = None


class _Counter(logging.Handler):
    """Counts ERROR records by logger and keeps the first few."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.counts: dict[str, int] = {}
        self.samples: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[record.name] = self.counts.get(record.name, 0) + 1
        if len(self.samples) < 5:
            self.samples.append(f"{record.name}: {record.getMessage()}")


class _SimTime(logging.Filter):
    """Puts the simulated time on each record (``%(simtime)s``) for the run's log."""

    def __init__(self, host: SimHost) -> None:
        super().__init__()
        self.host = host

    def filter(self, record: logging.LogRecord) -> bool:
        record.simtime = f"{self.host.time:9.0f}s"
        return True


def build_config(scenario: Scenario) -> Any:
    """The daemon's configuration for a scenario (a ConfigParser, as momd builds it)."""
    daemon = scenario.daemon
    config = new_parser()
    main = {
        "host-monitor-interval": daemon.host_monitor_interval,
        "guest-monitor-interval": daemon.guest_monitor_interval,
        "guest-manager-interval": daemon.guest_manager_interval,
        "policy-engine-interval": daemon.policy_engine_interval,
        "sample-history-length": daemon.sample_history_length,
        "hypervisor-interface": "sim",
        "controllers": ", ".join(daemon.controllers),
        "policy-dir": scenario.policy_dir(),
        # one thread: the guests are collected in order, here, on the simulated clock
        "guest-manager-multi-thread": "false",
        "rpc-port": "-1",
        "plot-dir": "",
        # the real host's memory pressure says nothing of the simulated one
        "pressure-trigger": "false",
        # nothing of a run outlives it (SLAs set over RPC, guests the Lifecycle stopped)
        "state-file": "",
    }
    for key, value in main.items():
        config.set("main", key, str(value))
    rules = sla_rules(scenario)
    if rules:
        _section(config, "sla").update({"rules": rules})
    if daemon.lifecycle:
        _section(config, "lifecycle").update(dict(daemon.lifecycle))
    if scenario.peers:
        _section(config, "migration").update({"peers": ", ".join(uri for uri, _ in scenario.peers)})
    config.set("host", "collectors", ", ".join(daemon.host_collectors))
    config.set("guest", "collectors", ", ".join(daemon.guest_collectors))
    return config


def _section(config: Any, name: str) -> Any:
    if not config.has_section(name):
        config.add_section(name)
    return config[name]


def sla_rules(scenario: Scenario) -> str:
    """``[sla] rules`` giving each group's guests (named ``GROUP-NNNN``) its ``sla-class``;
    the longest group names first, so that group ``web`` never takes ``web-2``'s guests."""
    groups = sorted((g for g in scenario.groups if g.sla_class), key=lambda g: -len(g.name))
    return "\n".join(f"{g.name}-[0-9]* class={g.sla_class}" for g in groups)


def _every(interval: float, tick: float) -> int:
    return max(1, int(round(interval / tick)))


class Simulation:
    """One scenario, set up and ready to :meth:`run`."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        check: bool = True,
        log_path: str | None = None,
        pace: float | None = None,
        rpc_port: str | None = None,
    ) -> None:
        self.scenario = scenario
        self.check = check
        self.host = SimHost(scenario)
        self.recording = Recording(self.host)
        self.config = build_config(scenario)
        #: serve upstream's RPC (a socket path or a TCP port) while the run lasts
        self.rpc_port = rpc_port
        if rpc_port is not None:
            self.config.set("main", "rpc-port", str(rpc_port))
        # the loader's validation, on a configuration built here rather than read
        self.settings, _ = validate(self.config)
        self.log_path = log_path
        #: spread the run over this many wall-clock seconds (None: as fast as it goes)
        self.pace = pace
        #: the daemon's parts while the run lasts
        self.parts: DaemonParts | None = None

    def _attach_logging(self) -> tuple[_Counter, list[logging.Handler], int, bool]:
        logger = logging.getLogger("mom")
        counter = _Counter()
        handlers: list[logging.Handler] = [counter]
        if self.log_path:
            handler = logging.FileHandler(self.log_path, mode="w", encoding="utf-8")
            handler.setFormatter(logging.Formatter("%(simtime)s %(name)s %(levelname)s %(message)s"))
            handler.addFilter(_SimTime(self.host))
            handlers.append(handler)
        for handler in handlers:
            logger.addHandler(handler)
        old_level, old_propagate = logger.level, logger.propagate
        # the daemon logs every balloon call at INFO, thousands a minute here: WARNING
        # unless the caller chose a level (mom-sim -v info / debug)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)
        logger.propagate = False
        return counter, handlers, old_level, old_propagate

    def run(self, progress: Callable[[int, int], None] | None = None) -> RunResult:
        """Run the whole scenario; ``progress(tick, ticks)`` is called now and then."""
        scenario, host, recording = self.scenario, self.host, self.recording
        counter, handlers, old_level, old_propagate = self._attach_logging()
        logger = logging.getLogger("mom")
        started = time.perf_counter()
        try:
            with attached(host):
                self.parts = parts = self._start(counter)
                engine, host_monitor, guest_manager = parts.policy_engine, parts.host_monitor, parts.guest_manager
                iface = parts.hypervisor_iface
                tick = scenario.tick
                every_host = _every(scenario.daemon.host_monitor_interval, tick)
                every_guest = _every(scenario.daemon.guest_monitor_interval, tick)
                every_manager = _every(scenario.daemon.guest_manager_interval, tick)
                every_policy = _every(scenario.daemon.policy_engine_interval, tick)
                ticks = scenario.ticks
                recording.tick(host)
                seen = len(iface.actions)
                cycles = failures = 0
                report_every = max(1, ticks // 200)
                for k in range(1, ticks + 1):
                    if self.pace:  # a watchable run: tick k is due at pace * k / ticks
                        delay = started + self.pace * k / ticks - time.perf_counter()
                        if delay > 0:
                            time.sleep(delay)
                    host.step()
                    if self.check:
                        host.check()
                    now = host.time
                    if k % every_host == 0:
                        recording.sample(now, host_monitor.collect())
                    if k % every_manager == 0:
                        guest_manager.update_guests()
                    if k % every_guest == 0:
                        guest_manager.collect_guests()
                    if k % every_policy == 0:
                        ok = engine.do_controls()
                        cycles += 1
                        failures += not ok
                        recording.policy_cycle(now, ok, iface.actions[seen:], host)
                        seen = len(iface.actions)
                    recording.tick(host)
                    if progress is not None and (k % report_every == 0 or k == ticks):
                        progress(k, ticks)
        finally:
            if self.parts is not None:
                self.parts.close()
            for handler in handlers:
                logger.removeHandler(handler)
                handler.close()
            logger.setLevel(old_level)
            logger.propagate = old_propagate
        balloon: dict[str, Any] = {}
        daemon_stuck: list[int] = []
        lifecycle: dict[str, int] = {}
        actions: dict[str, Any] | None = None
        for controller in self.parts.policy_engine.controllers if self.parts is not None else ():
            if isinstance(controller, Balloon):
                balloon = controller.statistics()
                daemon_stuck = sorted(host.by_uuid[uuid].index for uuid in controller.stuck_guests())
            if isinstance(controller, Lifecycle):
                lifecycle = {
                    f"{action} {result}": n for (action, result), n in sorted(controller.audit.counters().items())
                }
                actions = controller.rpc_get_actions(controller.settings.audit_size)
        return RunResult(
            lifecycle=lifecycle,
            actions=actions,
            balloon=balloon,
            daemon_stuck=daemon_stuck,
            recording=recording,
            host=host,
            elapsed=time.perf_counter() - started,
            errors=dict(counter.counts),
            error_samples=list(counter.samples),
            policy_cycles=cycles,
            policy_failures=failures,
        )

    def _start(self, counter: _Counter) -> DaemonParts:
        """The daemon's parts, as momd builds them; SimulationError if any cannot start."""
        settings = self.settings
        try:
            parts = build_parts(self.config, settings)  # no thread is started: run() calls the steps
        except StartupError:
            raise SimulationError("the host collectors cannot start: " + "; ".join(counter.samples)) from None
        self.recording.sample(self.host.time, parts.first_host_sample)
        engine, guest_manager = parts.policy_engine, parts.guest_manager
        host = self.host
        epoch = time.time()  # the audit's times: the run's start, plus simulated seconds

        def clock() -> float:
            return float(host.time)

        for controller in engine.controllers:
            if isinstance(controller, Balloon):  # stuck balloons are timed on the simulated clock
                controller.clock = lambda: float(host.time)
            if isinstance(controller, Lifecycle):
                # its intervals on the simulated clock, its actions run inline (the sim's
                # calls return at once): a run does not depend on thread timing
                controller.clock = clock
                controller.audit.clock = lambda: epoch + float(host.time)
                controller.power_worker = InlineWorker("LifecyclePower", controller.logger)
                # a live migration takes a while: the next one waits for the next policy cycle
                controller.migration_worker = InlineWorker(
                    "LifecycleMigration", controller.logger, clock, self.scenario.daemon.policy_engine_interval - 1e-6
                )
        try:
            if parts.hypervisor_iface is None:
                raise SimulationError("the hypervisor interface cannot start: " + "; ".join(counter.samples))
            if self.scenario.daemon.parameters:
                engine.rpc_set_named_policy("01-parameters", self.scenario.daemon.parameters)
            for name, text in self.scenario.daemon.policies:
                if not engine.rpc_set_named_policy(name, text):
                    raise SimulationError(
                        f"policy {name!r} of [daemon.policies] does not load: " + "; ".join(counter.samples)
                    )
            if len(engine.controllers) != len(settings.controllers):
                raise SimulationError("a controller cannot start: " + "; ".join(counter.samples))
            if counter.counts:
                raise SimulationError("the daemon cannot start: " + "; ".join(counter.samples))
            if not engine.policy.get_strings():
                raise SimulationError(f"no policy in {settings.policy_dir}")
        except SimulationError:
            parts.close()
            raise
        guest_manager.update_guests()
        guest_manager.collect_guests()
        if self.rpc_port is not None:  # momctl and vdsm's client can talk to the simulated daemon
            parts.rpc_server.start()
        return parts
