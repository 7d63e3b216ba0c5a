"""Prometheus metrics for momd (prometheus-client), off unless ``[main] metrics-port`` is set.

:func:`start_metrics` is called by :class:`~mom.runtime.app.MOM` once the threads'
objects exist and before the policy engine's thread starts.  It wraps, from outside:

- the policy engine's periodic step (``engine.thread.step``, i.e. ``do_controls``): the
  cycle's duration and outcome;
- the policy store's ``evaluate``: policy errors, and the controls each cycle set;
- the hypervisor interface's actions (``setVmBalloonTarget``, ``setVmCpuTune``,
  ``setVmIoTune``, ``ksmTune``): calls and failures;

and reads the monitors' latest samples only when scraped.  Each MOM instance has its
own registry, so several can run in one process.  Metric names are in the README
("Metrics").
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Any, Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import start_http_server

from mom import __version__, _impl
from mom.runtime.table import TAG_ABSENT, GuestSet

__all__ = ["Metrics", "start_metrics", "ACTIONS"]

log = logging.getLogger("mom.Metrics")

#: hypervisor interface methods that act on the host or a guest
ACTIONS = ("setVmBalloonTarget", "setVmCpuTune", "setVmIoTune", "ksmTune")

#: policy cycle duration buckets, seconds (a cycle over 1000 guests takes a few ms)
CYCLE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


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


# -- lifecycle actions (issue 12) --
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


# -- end lifecycle --


class Metrics:
    """The metrics of one MOM instance and its HTTP endpoint."""

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
        for outcome in ("ok", "failed", "skipped"):
            self.cycles.labels(outcome)
        for method in ACTIONS:
            self.actions.labels(method)
            self.action_errors.labels(method)
        self.server: Any = None
        self.thread: Any = None
        self._failed_now = False

    # ## Instrumentation (wrappers around the daemon's objects)

    def instrument(self, engine: Any, host_monitor: Any, guest_manager: Any, hypervisor_iface: Any) -> None:
        """Wrap the engine's step, its policy's evaluate and the interface's actions; add the statistics."""
        self.registry.register(_Statistics(host_monitor, guest_manager))
        # -- lifecycle actions (issue 12): read from the Lifecycle controller's audit at scrape time --
        for controller in getattr(engine, "controllers", ()):
            if hasattr(controller, "audit") and hasattr(controller, "recommendations"):
                self.registry.register(_LifecycleCounters(controller))
        # -- end lifecycle --
        if engine is not None:
            engine.policy.evaluate = self._wrap_evaluate(engine.policy.evaluate)
            thread = getattr(engine, "thread", None)
            if thread is not None:
                thread.step = self.wrap_cycle(thread.step)
        if hypervisor_iface is not None:
            for method in ACTIONS:
                original = getattr(hypervisor_iface, method, None)
                if callable(original):
                    setattr(hypervisor_iface, method, self._wrap_action(method, original))

    def wrap_cycle(self, step: Callable[[], Any]) -> Callable[[], Any]:
        """``step`` (``do_controls``) timed and counted by outcome."""

        @functools.wraps(step)
        def cycle() -> Any:
            self._failed_now = False
            started = time.perf_counter()
            try:
                result = step()
            finally:
                self.cycle_seconds.observe(time.perf_counter() - started)
            outcome = "failed" if self._failed_now else ("ok" if result else "skipped")
            self.cycles.labels(outcome).inc()
            return result

        return cycle

    def _wrap_evaluate(self, evaluate: Callable[..., bool]) -> Callable[..., bool]:
        @functools.wraps(evaluate)
        def wrapped(host: Any, guests: Any) -> bool:
            if not isinstance(guests, GuestSet):
                guests = list(guests)  # iterated twice: by the policy, then here
            ok = evaluate(host, guests)
            if not ok:
                self.policy_errors.inc()
                self._failed_now = True
                return ok
            self._count_controls([host])
            if isinstance(guests, GuestSet):
                # the daemon's guests: counted from the control columns, without a
                # view or a dict per guest (this runs every cycle)
                table = guests.table
                set_per_column = (table.control_tags[guests.rows] != TAG_ABSENT).sum(0).tolist()
                for name, count in zip(table.control_names, set_per_column):
                    if count:
                        self.controls.labels(str(name)).inc(count)
            else:
                self._count_controls(guests)
            return ok

        return wrapped

    def _count_controls(self, entities: Iterable[Any]) -> None:
        for entity in entities:
            controls = getattr(entity, "controls", None)
            if isinstance(controls, dict):
                for name in controls:
                    self.controls.labels(str(name)).inc()

    def _wrap_action(self, method: str, call: Callable[..., Any]) -> Callable[..., Any]:
        calls, errors = self.actions.labels(method), self.action_errors.labels(method)

        @functools.wraps(call)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            calls.inc()
            try:
                return call(*args, **kwargs)
            except Exception:
                errors.inc()
                raise

        return wrapped

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


def start_metrics(settings: Any, engine: Any, host_monitor: Any, guest_manager: Any, iface: Any) -> Metrics | None:
    """Metrics for a MOM instance if ``metrics-port`` is configured (>= 0), else None.

    A port that cannot be bound is logged; MOM runs on without metrics.
    """
    port = getattr(settings, "metrics_port", -1)
    if port is None or port < 0:
        return None
    metrics = Metrics(getattr(settings, "hypervisor_interface", ""))
    metrics.instrument(engine, host_monitor, guest_manager, iface)
    address = getattr(settings, "metrics_address", "127.0.0.1") or "127.0.0.1"
    try:
        bound = metrics.serve(port, address)
    except OSError as error:
        log.error("Cannot serve metrics on %s:%s: %s; running without them", address, port, error.strerror or error)
        return metrics
    log.info("Prometheus metrics on http://%s:%d/metrics", address, bound)
    return metrics
