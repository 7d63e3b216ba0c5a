"""Prometheus metrics for momd (prometheus-client), off unless ``[main] metrics-port`` is set.

:func:`start_metrics` is called by the composition root
(:func:`~mom.runtime.parts.build_parts`), which adds the :class:`Metrics` to the
daemon's observers (:mod:`mom.observers`).  Through those hooks they count and time:

- each tick (``do_controls``): its duration and outcome, and each phase's duration;
- each policy evaluation: policy errors, and the controls each tick set;
- each collection round of the guest manager: its duration;
- every hypervisor call the interface counts (read when scraped);
- each hypervisor call a controller makes (``setVmBalloonTarget``, ``setVmCpuTune``,
  ``setVmIoTune``, ``ksmTune``): calls, failures and time spent;

and they read the monitors' latest samples only when scraped.  Each MOM instance has
its own registry, so several can run in one process.  Metric names are in the README
("Metrics").
"""

from __future__ import annotations

import logging
from typing import Any, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import start_http_server

from mom import __version__, _impl
from mom.observers import OUTCOMES, PHASES, TickObserver
from mom.runtime.table import TAG_ABSENT, GuestSet

__all__ = ["Metrics", "start_metrics", "ACTIONS"]

log = logging.getLogger("mom.Metrics")

#: hypervisor interface methods that act on the host or a guest
ACTIONS = ("setVmBalloonTarget", "setVmCpuTune", "setVmIoTune", "ksmTune")

#: policy cycle duration buckets, seconds (a cycle over 1000 guests takes a few ms)
CYCLE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: hypervisor call duration buckets, seconds (libvirt's test driver answers in tens of
#: microseconds, vdsm over JSON-RPC in milliseconds)
CALL_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    return None


class _Statistics:
    """A custom collector: the latest host and guest samples, read at scrape time."""

    def __init__(self, host_monitor: Any, guest_manager: Any) -> None:
        self.host_monitor = host_monitor
        self.guest_manager = guest_manager

    def describe(self) -> Iterable[Any]:
        return []  # families are built at scrape time; nothing to check at registration

    def collect(self) -> Iterable[Any]:
        host = GaugeMetricFamily(
            "mom_host_statistic", "Latest host sample, per collector field (units as the field's)", labels=["field"]
        )
        entity = self.host_monitor.interrogate() if self.host_monitor is not None else None
        if entity is not None and entity.statistics:
            for field, value in sorted(entity.statistics[-1].items()):
                number = _number(value)
                if number is not None:
                    host.add_metric([field], number)
        yield host
        guest = GaugeMetricFamily(
            "mom_guest_statistic",
            "Latest sample of each ready guest, per collector field (units as the field's)",
            labels=["guest", "field"],
        )
        ready = 0
        entities = self.guest_manager.interrogate() if self.guest_manager is not None else {}
        for entity in entities.values():
            ready += 1
            if not entity.statistics:
                continue
            name = str(entity.properties.get("name", "?"))
            for field, value in sorted(entity.statistics[-1].items()):
                number = _number(value)
                if number is not None:
                    guest.add_metric([name, field], number)
        yield guest
        monitored = len(getattr(self.guest_manager, "guests", {}) or {})
        guests = GaugeMetricFamily("mom_guests", "Guests by monitor state", labels=["state"])
        guests.add_metric(["monitored"], monitored)
        guests.add_metric(["ready"], ready)
        yield guests


class _HypervisorCalls:
    """``mom_hypervisor_calls_total{method}``: every call the interface counts (libvirt's:
    collection included), read from its counters when scraped, nothing per call."""

    def __init__(self, iface: Any) -> None:
        self.iface = iface

    def describe(self) -> Iterable[Any]:
        return []

    def collect(self) -> Iterable[Any]:
        family = CounterMetricFamily(
            "mom_hypervisor_calls", "Calls to the hypervisor (libvirt API calls), by method", labels=["method"]
        )
        stats = self.iface.stats() if self.iface is not None else None
        for method, count in sorted(((stats or {}).get("calls_by_name") or {}).items()):
            family.add_metric([str(method)], float(count))
        yield family


# -- the controllers' own counters (the Balloon controller's floors and stuck balloons) --


class _ControllerStatistics:
    """A custom collector: ``Controller.statistics()`` of the engine's controllers, read at scrape time."""

    def __init__(self, controllers: Iterable[Any]) -> None:
        self.controllers = list(controllers)

    def describe(self) -> Iterable[Any]:
        return []

    def collect(self) -> Iterable[Any]:
        from mom.plugins.controllers.balloon import Balloon

        for controller in self.controllers:
            if not isinstance(controller, Balloon):
                continue
            stats = controller.statistics()
            clamped = CounterMetricFamily(
                "mom_balloon_clamped_targets", "Balloon targets the safety floors changed, by bound", labels=["bound"]
            )
            for bound, count in stats["clamped_targets"].items():
                clamped.add_metric([bound], count)
            yield clamped
            yield CounterMetricFamily(
                "mom_balloon_invalid_targets", "Balloon targets refused (not a size)", value=stats["invalid_targets"]
            )
            yield GaugeMetricFamily(
                "mom_balloon_stuck_guests", "Guests whose balloon is stuck now", value=len(stats["stuck_guests"])
            )
            yield CounterMetricFamily(
                "mom_balloon_stuck_marked", "Times a balloon was marked stuck", value=stats["stuck_marked_total"]
            )


class _LifecycleCounters:
    """``mom_lifecycle_actions_total{action, result}``, the guests momd stopped, and the
    migrations recommended (interfaces without migration: vdsm)."""

    def __init__(self, controller: Any) -> None:
        self.controller = controller

    def describe(self) -> Iterable[Any]:
        return []

    def collect(self) -> Iterable[Any]:
        from mom.lifecycle.audit import ACTIONS as LIFECYCLE_ACTIONS
        from mom.lifecycle.audit import RESULTS

        counts = self.controller.audit.counters()
        family = CounterMetricFamily(
            "mom_lifecycle_actions", "Lifecycle actions audited, by action and result", labels=["action", "result"]
        )
        for action in LIFECYCLE_ACTIONS:
            for result in RESULTS:
                family.add_metric([action, result], counts.get((action, result), 0))
        yield family
        stopped = GaugeMetricFamily("mom_lifecycle_stopped_guests", "Guests momd stopped and will start again")
        stopped.add_metric([], len(self.controller.stopped))
        yield stopped
        recommended = GaugeMetricFamily(
            "mom_lifecycle_recommendation", "1 per migration recommended to the manager", labels=["guest", "peer"]
        )
        for item in list(self.controller.recommendations.values()):
            recommended.add_metric([str(item["guest"]), str(item.get("peer") or "")], 1)
        yield recommended


# -- end of the controllers' counters --


class Metrics(TickObserver):
    """The metrics of one MOM instance (an observer of its ticks) and its HTTP endpoint."""

    def __init__(self, hypervisor_interface: str = "") -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.info = Info("mom", "This momd: version, policy implementation, hypervisor interface", registry=r)
        self.info.info(
            {
                "version": __version__,
                "implementation": _impl.IMPLEMENTATION,
                "hypervisor_interface": hypervisor_interface,
            }
        )
        self.implementation = Gauge(
            "mom_policy_implementation", "1 for the policy implementation in use", ["implementation"], registry=r
        )
        self.implementation.labels(_impl.IMPLEMENTATION).set(1)
        self.cycle_seconds = Histogram(
            "mom_policy_cycle_seconds",
            "Duration of one policy engine cycle (samples, policy, controllers)",
            buckets=CYCLE_BUCKETS,
            registry=r,
        )
        self.phase_seconds = Histogram(
            "mom_tick_phase_seconds",
            "Duration of each phase of a policy engine cycle (collect, policy, controls)",
            ["phase"],
            buckets=CYCLE_BUCKETS,
            registry=r,
        )
        self.cycles = Counter(
            "mom_policy_cycles", "Policy engine cycles by outcome (ok, failed, skipped)", ["result"], registry=r
        )
        self.policy_errors = Counter("mom_policy_errors", "Policy evaluations that failed", registry=r)
        self.controls = Counter(
            "mom_controls", "Controls the policy set (host and guest), by control name", ["control"], registry=r
        )
        self.actions = Counter(
            "mom_hypervisor_actions", "Hypervisor calls made by the controllers", ["method"], registry=r
        )
        self.action_errors = Counter(
            "mom_hypervisor_action_errors", "Hypervisor calls that raised", ["method"], registry=r
        )
        self.call_seconds = Histogram(
            "mom_hypervisor_call_seconds",
            "Time inside the hypervisor calls the controllers make",
            ["method"],
            buckets=CALL_BUCKETS,
            registry=r,
        )
        self.tick_seconds = Histogram(
            "mom_tick_seconds", "Duration of one whole tick of the policy engine", buckets=CYCLE_BUCKETS, registry=r
        )
        self.collection_seconds = Histogram(
            "mom_collection_seconds",
            "Duration of one collection round of the guest manager (every guest sampled)",
            buckets=CYCLE_BUCKETS,
            registry=r,
        )
        for outcome in OUTCOMES:
            self.cycles.labels(outcome)
        for phase in PHASES:
            self.phase_seconds.labels(phase)
        #: method -> (calls, errors, seconds): the children, looked up once (a call per guest per tick)
        self._per_method: dict[str, tuple[Any, Any, Any]] = {}
        for method in ACTIONS:
            self._method(method)
        self.server: Any = None
        self.thread: Any = None

    def watch(self, host_monitor: Any, guest_manager: Any, controllers: Iterable[Any] = ()) -> None:
        """Serve the monitors' latest samples and the controllers' counters (read when scraped)."""
        self.registry.register(_Statistics(host_monitor, guest_manager))
        self.registry.register(_HypervisorCalls(getattr(guest_manager, "hypervisor_iface", None)))
        self.registry.register(_ControllerStatistics(controllers))
        # the Lifecycle controller's audit (issue 12)
        for controller in controllers:
            if hasattr(controller, "audit") and hasattr(controller, "recommendations"):
                self.registry.register(_LifecycleCounters(controller))

    def _method(self, method: str) -> tuple[Any, Any, Any]:
        children = self._per_method.get(method)
        if children is None:
            children = self._per_method[method] = (
                self.actions.labels(method),
                self.action_errors.labels(method),
                self.call_seconds.labels(method),
            )
        return children

    # ## Observer hooks (mom.observers)

    def phase_finished(self, tick: int, phase: str, seconds: float) -> None:
        self.phase_seconds.labels(phase).observe(seconds)

    def tick_finished(self, tick: int, outcome: str, seconds: float) -> None:
        self.tick_seconds.observe(seconds)
        self.cycle_seconds.observe(seconds)
        self.cycles.labels(outcome).inc()

    def policy_evaluated(self, tick: int, host: Any, guests: Any, ok: bool) -> None:
        if not ok:
            self.policy_errors.inc()
            return
        self._count_controls([host])
        if isinstance(guests, GuestSet):
            # the daemon's guests: counted from the control columns, without a view or
            # a dict per guest (this runs every tick)
            table = guests.table
            set_per_column = (table.control_tags[guests.rows] != TAG_ABSENT).sum(0).tolist()
            for name, count in zip(table.control_names, set_per_column):
                if count:
                    self.controls.labels(str(name)).inc(count)
        else:
            self._count_controls(guests)

    def collection_finished(self, seconds: float, guests: int, batched: bool) -> None:
        self.collection_seconds.observe(seconds)

    def hypervisor_called(self, method: str, seconds: float, error: BaseException | None) -> None:
        calls, errors, timing = self._method(method)
        calls.inc()
        timing.observe(seconds)
        if error is not None:
            errors.inc()

    def _count_controls(self, entities: Iterable[Any]) -> None:
        for entity in entities:
            controls = getattr(entity, "controls", None)
            if isinstance(controls, dict):
                for name in controls:
                    self.controls.labels(str(name)).inc()

    # ## HTTP endpoint

    def serve(self, port: int, address: str) -> int:
        """Listen on ``address:port`` (``/metrics``); the port bound.  OSError if it cannot."""
        self.server, self.thread = start_http_server(port, addr=address, registry=self.registry)
        return int(self.server.server_port)

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        if self.thread is not None:
            self.thread.join(5)
            self.thread = None


def start_metrics(
    settings: Any, host_monitor: Any, guest_manager: Any, controllers: Iterable[Any] = ()
) -> Metrics | None:
    """Metrics for a MOM instance if ``metrics-port`` is configured (>= 0), else None;
    the caller adds them to the daemon's observers.

    A port that cannot be bound is logged; MOM runs on without the endpoint.
    """
    port = settings.metrics_port
    if port is None or port < 0:
        return None
    metrics = Metrics(settings.hypervisor_interface)
    metrics.watch(host_monitor, guest_manager, controllers)
    address = settings.metrics_address or "127.0.0.1"
    try:
        bound = metrics.serve(port, address)
    except OSError as error:
        log.error("Cannot serve metrics on %s:%s: %s; running without them", address, port, error.strerror or error)
        return metrics
    log.info("Prometheus metrics on http://%s:%d/metrics", address, bound)
    return metrics
