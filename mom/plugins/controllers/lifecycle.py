"""Lifecycle controller: powers guests off, back on, and migrates them, when a policy asks
and the gates allow (README "Lifecycle actions").

Guest controls a policy sets:

- ``power`` = ``"off"``: power the guest off (``[lifecycle] vapor-action``);
- ``migrate`` = ``1`` (any ``[migration] peers`` entry that fits) or a peer's URI;

and the host control ``pressure_threshold`` (a fraction) replaces ``[lifecycle]
pressure-threshold`` for the cycle.

The controller decides (:mod:`mom.lifecycle.gates`), audits (:mod:`mom.lifecycle.audit`),
runs actions on its own workers (:mod:`mom.lifecycle.worker`), and starts again, once
memory has stayed plentiful for ``restore-after`` seconds, the guests it stopped itself
(:mod:`mom.lifecycle.stopped`), best class and priority first, one per
``power-off-interval``.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Iterable, Mapping

from mom.config import Settings
from mom.errors import MomError
from mom.lifecycle.audit import Audit
from mom.lifecycle.gates import MIGRATE, POWER_OFF, RESTORE, Limits, Request, refusal
from mom.lifecycle.pressure import HostMemory, guarantees_at_risk, host_memory, latest
from mom.lifecycle.stopped import StoppedGuest, StoppedGuests
from mom.lifecycle.worker import Outcome, Worker
from mom.plugins.controllers.balloon_floors import FloorSettings, GuestSizes, floor_of, used_memory
from mom.plugins.controllers.base import Controller
from mom.sla.classes import SlaClass, reclaim_ranks
from mom.sla.state import StateFile

__all__ = ["Lifecycle", "POWER_CONTROL", "MIGRATE_CONTROL", "THRESHOLD_CONTROL", "STATE_SECTION"]

POWER_CONTROL = "power"
MIGRATE_CONTROL = "migrate"
#: host control: where pressure starts this cycle, a fraction of the host's memory
THRESHOLD_CONTROL = "pressure_threshold"
#: the state file's key
STATE_SECTION = "lifecycle"
#: a refusal repeated every cycle is audited again only after this many seconds
_REFUSAL_QUIET = 300.0
#: seconds the migration worker waits beyond [migration] timeout (the job aborts itself)
_MIGRATION_GRACE = 60.0
#: a restart that failed this many times in a row is given up (audited)
_RESTART_ATTEMPTS = 3


class Lifecycle(Controller):
    """Guest controls ``power`` and ``migrate``; see the module docstring."""

    def __init__(
        self,
        properties: Mapping[str, Any],
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(properties)
        self.logger = logging.getLogger("mom.Lifecycle")
        self.settings: Settings = properties.get("settings") or Settings()
        registry = properties.get("sla_registry")
        if registry is None:
            guest_manager = properties.get("guest_manager")
            registry = getattr(guest_manager, "guest_properties", {}).get("sla_registry")
        self.guest_manager = properties.get("guest_manager")
        self.state: StateFile = registry.state if registry is not None else StateFile("")
        self.classes: Mapping[str, SlaClass] = self.settings.sla.classes
        #: each class's reclaim rank, as the allocator orders them (mom.sla.classes)
        self.ranks = reclaim_ranks(self.classes)
        self.mode = self.settings.lifecycle_actions
        self.clock = clock
        self.audit = Audit(self.settings.audit_size, self.logger, wall_clock, on_change=self._persist)
        self.stopped = StoppedGuests()
        self.power_worker = Worker("LifecyclePower", self.logger)
        self.migration_worker = Worker("LifecycleMigration", self.logger)
        self.capabilities: frozenset[str] = frozenset(getattr(self.hypervisor_iface, "lifecycle_actions", ()))
        self.last_power_off: float | None = None
        self.last_restore: float | None = None
        #: since when memory has been plentiful with nothing asked (None: it is not)
        self.calm_since: float | None = None
        self._refused: dict[tuple[str, str, str], float] = {}
        self._restart_failures: dict[str, int] = {}
        #: uuids whose action runs now
        self._in_flight: set[str] = set()
        #: uuid -> the migration recommended for it (interfaces without migration: vdsm)
        self.recommendations: dict[str, dict[str, Any]] = {}
        self._load()
        self.logger.info(
            "lifecycle actions: %s (vapor-action %s; %d guest(s) stopped by momd on record)",
            self.mode,
            self.settings.vapor_action,
            len(self.stopped),
        )

    # ## The state file

    def _load(self) -> None:
        saved = self.state.section(STATE_SECTION)
        if not isinstance(saved, dict):
            return
        for values in saved.get("stopped") or ():
            try:
                self.stopped.add(StoppedGuest.from_dict(values))
            except (ValueError, AttributeError) as error:
                self.logger.error("state file %r: a stopped guest is ignored: %s", self.state.path, error)
        self.audit.restore(saved.get("actions") or ())

    def _persist(self) -> None:
        try:
            self.state.save_section(
                STATE_SECTION,
                {"stopped": self.stopped.as_list(), "actions": [r.as_dict() for r in self.audit.last()]},
            )
        except MomError as error:
            self.logger.error("%s; the lifecycle record is kept in memory only", error)

    # ## The cycle

    def process(self, host: Any, guests: Iterable[Any]) -> None:
        guests = list(guests)
        now = self.clock()
        memory = host_memory(host, self._threshold(host), self.settings.pressure_band)
        requests = self._requests(guests)
        if requests:
            self.calm_since = None
            self._handle(requests, guests, memory, now)
        self._restore(guests, memory, now, asked=bool(requests))

    def _threshold(self, host: Any) -> float:
        """``[lifecycle] pressure-threshold``, or the policy's host control ``pressure_threshold``
        (a fraction 0..1) this cycle: the policy may say where pressure starts, not what is done."""
        wanted = host.GetControl(THRESHOLD_CONTROL)
        if wanted is None:
            return float(self.settings.pressure_threshold)
        try:
            value = float(wanted)
        except (TypeError, ValueError):
            value = -1.0
        if not 0.0 <= value <= 1.0:
            self.logger.warning(
                "host control %s = %r is not a fraction 0..1; using %s",
                THRESHOLD_CONTROL,
                wanted,
                self.settings.pressure_threshold,
            )
            return float(self.settings.pressure_threshold)
        return value

    def _requests(self, guests: list[Any]) -> list[tuple[Any, Request]]:
        found = []
        for guest in guests:
            power, migrate = guest.GetControl(POWER_CONTROL), guest.GetControl(MIGRATE_CONTROL)
            if power is None and not migrate:
                continue
            name = str(guest.properties.get("name", "?"))
            uuid = str(guest.properties.get("uuid", "?"))
            if power is not None:
                if str(power).strip().lower() == "off":
                    found.append((guest, Request(name, uuid, POWER_OFF)))
                else:
                    self.logger.debug('guest %s: power control %r ignored (only "off")', name, power)
            if migrate:
                target = "" if migrate is True or isinstance(migrate, (int, float)) else str(migrate).strip()
                found.append((guest, Request(name, uuid, MIGRATE, target)))
        # the most expendable first: lowest class rank, then lowest priority
        found.sort(key=lambda item: self._expendability(item[0]))
        return found

    def _expendability(self, guest: Any) -> tuple[int, int]:
        sla_class = self.classes.get(str(latest(guest, "sla_class")))
        rank = self.ranks[sla_class.name] if sla_class is not None else 99
        return (rank, int(latest(guest, "sla_priority") or 0))

    def _reason(self, memory: HostMemory | None, at_risk: list[str] | None) -> str:
        host = memory.describe() if memory is not None else "host free memory unknown (no HostMemory)"
        if at_risk is None:
            risk = "guarantees at risk unknown (needs GuestBalloon, GuestMemory, GuestSla)"
        else:
            risk = "guarantees at risk: " + (", ".join(at_risk) if at_risk else "none")
        return f"policy asked; {host}; {risk}"

    def _handle(
        self, requests: list[tuple[Any, Request]], guests: list[Any], memory: HostMemory | None, now: float
    ) -> None:
        at_risk = guarantees_at_risk(guests, memory, self.classes) if memory is not None else None
        reason = self._reason(memory, at_risk)
        for guest, request in requests:
            if request.uuid in self._in_flight:  # asked again while its action runs: nothing new
                continue
            sla_class = self.classes.get(str(latest(guest, "sla_class")))
            limits = Limits(
                now,
                self.last_power_off,
                float(self.settings.power_off_interval),
                self.power_worker.busy,
                self.migration_worker.busy,
            )
            why = refusal(request, sla_class, self.mode, limits) or self._unsupported(request)
            how = self.settings.vapor_action if request.action == POWER_OFF else request.target
            if why == "recommended":
                self._recommend(request, reason)
                continue
            if why is not None:
                self._refuse(request, why, reason, now)
                continue
            if self.mode == "log-only":
                if request.action == POWER_OFF:
                    self.last_power_off = now
                self.audit.record(
                    request.guest, request.uuid, request.action, "dry-run", reason, "lifecycle-actions = log-only", how
                )
                continue
            assert sla_class is not None
            if request.action == POWER_OFF:
                self._power_off(guest, request, sla_class, reason, now)
            else:
                self._migrate(guest, request, reason)

    def _unsupported(self, request: Request) -> str | None:
        if request.action == POWER_OFF:
            how = self.settings.vapor_action
            if how not in self.capabilities:
                return f"vapor-action {how} is not offered by this hypervisor interface"
            return None
        if "migrate" not in self.capabilities:
            return "recommended"
        peers = self.settings.migration_peers
        if not peers:
            return "no [migration] peers configured"
        if request.target and request.target not in peers:
            return f"peer {request.target!r} is not one of [migration] peers"
        return None

    def _refuse(self, request: Request, why: str, reason: str, now: float) -> None:
        """Audit a refusal, unless the same one was audited within the last minutes
        (a policy asking every cycle would flood the log)."""
        key = (request.uuid, request.action, why.split(" (next in")[0])
        last = self._refused.get(key)
        if last is not None and now - last < _REFUSAL_QUIET:
            return
        if len(self._refused) > 4096:
            self._refused.clear()
        self._refused[key] = now
        self.audit.record(
            request.guest,
            request.uuid,
            request.action,
            "refused",
            reason,
            why,
            self.settings.vapor_action if request.action == POWER_OFF else request.target,
        )

    def _recommend(self, request: Request, reason: str) -> None:
        """vdsm's engine owns placement: publish the recommendation, make no call."""
        if request.uuid in self.recommendations:
            self.recommendations[request.uuid]["time"] = self.audit.clock()
            return
        self.recommendations[request.uuid] = {
            "guest": request.guest,
            "uuid": request.uuid,
            "action": MIGRATE,
            "peer": request.target,
            "reason": reason,
            "time": self.audit.clock(),
        }
        self.audit.record(
            request.guest,
            request.uuid,
            MIGRATE,
            "recommended",
            reason,
            "this interface leaves placement to its manager (oVirt engine): no migration call",
            request.target,
        )

    # ## Power off

    def _power_off(self, guest: Any, request: Request, sla_class: SlaClass, reason: str, now: float) -> None:
        settings, iface = self.settings, self.hypervisor_iface
        how = settings.vapor_action
        record = StoppedGuest(
            uuid=request.uuid,
            name=request.guest,
            sla_class=sla_class.name,
            rank=self.ranks[sla_class.name],
            priority=int(latest(guest, "sla_priority") or 0),
            memory_kib=int(latest(guest, "balloon_max") or latest(guest, "balloon_cur") or 0),
            how=how,
            stopped_at=self.audit.clock(),
        )
        restartable = "start" in self.capabilities

        def action() -> Outcome:
            xml = ""
            if restartable:
                xml = iface.getVmLifecycleInfo(request.uuid)["xml"]
            if how == "shutdown":
                detail = iface.shutdownVm(
                    request.uuid,
                    settings.shutdown_timeout,
                    delay=settings.vdsm_shutdown_delay,
                    message=settings.vdsm_shutdown_message,
                    force=settings.vdsm_shutdown_force,
                )
            elif how == "managedsave":
                detail = iface.managedSaveVm(request.uuid)
            else:
                detail = iface.destroyVm(request.uuid)
            if restartable:
                self.stopped.add(StoppedGuest(**{**record.as_dict(), "xml": xml}))
            else:
                detail += "; not restarted by momd (this interface cannot start it: its manager does)"
            return "done", str(detail)

        def report(result: str, detail: str) -> None:
            self._in_flight.discard(request.uuid)
            self.audit.record(request.guest, request.uuid, POWER_OFF, result, reason, detail, how)

        timeout = float(settings.shutdown_timeout if how == "shutdown" else 0) + float(settings.action_timeout)
        self._in_flight.add(request.uuid)
        if not self.power_worker.submit(f"power-off {request.guest}", action, timeout, report):
            self._in_flight.discard(request.uuid)
        else:
            self.last_power_off = now
            self.logger.info("lifecycle: powering off guest %s (%s) by %s", request.guest, request.uuid, how)

    # ## Migration

    def _migration_floor(self, guest: Any) -> int:
        """The balloon size a guest is shrunk to before it migrates (less to copy): its
        safety floor, as the Balloon controller computes it (balloon_min, the SLA
        guarantee, min-guest-memory, what it uses plus min-guest-free); 0 (no shrink)
        without its balloon sizes."""

        class Newest:
            @staticmethod
            def get(name: str) -> Any:
                return latest(guest, name)

        def size(name: str) -> int | None:
            value = latest(guest, name)
            return None if value is None else int(value)

        sizes = GuestSizes(
            balloon_cur=size("balloon_cur"),
            balloon_max=size("balloon_max"),
            balloon_min=size("balloon_min"),
            sla_guarantee=size("sla_guarantee"),
            used=used_memory(Newest),
        )
        if sizes.balloon_cur is None or sizes.balloon_max is None:
            return 0
        settings = self.settings
        floor, _bounds = floor_of(
            sizes,
            FloorSettings(min_guest_memory=settings.min_guest_memory, min_guest_free=settings.min_guest_free),
        )
        return floor if floor < sizes.balloon_cur else 0

    def _migrate(self, guest: Any, request: Request, reason: str) -> None:
        settings, iface = self.settings, self.hypervisor_iface
        peers = [request.target] if request.target else list(settings.migration_peers)
        need = int(latest(guest, "balloon_max") or latest(guest, "balloon_cur") or 0)
        floor = self._migration_floor(guest)
        chosen: list[str] = []

        def action() -> Outcome:
            answers = []
            best: tuple[int, str] | None = None
            for uri in peers:
                try:
                    free = int(iface.getPeerFreeMemory(uri))
                except Exception as error:  # a peer down or refusing: the next one
                    answers.append(f"{uri}: {error}")
                    continue
                answers.append(f"{uri}: {free} KiB free")
                if free >= need and (best is None or free > best[0]):
                    best = (free, uri)
            if best is None:
                return "failed", f"no peer has {need} KiB free ({'; '.join(answers)}); the guest stays here"
            chosen.append(best[1])
            if floor > 0:
                try:
                    iface.setVmBalloonTarget(request.uuid, floor)
                except Exception as error:
                    self.logger.warning(
                        "guest %s: shrinking to %d KiB before migrating: %s", request.guest, floor, error
                    )
            detail = iface.migrateVm(
                request.uuid,
                best[1],
                settings.migration_bandwidth,
                settings.migration_auto_converge,
                settings.migration_timeout,
                settings.migration_data_uri,
            )
            return "done", f"{detail} ({'; '.join(answers)})"

        def report(result: str, detail: str) -> None:
            self._in_flight.discard(request.uuid)
            if result == "failed" and "aborted after" in detail:
                result = "timed-out"
            if result != "done":
                detail += "; the guest keeps running here"
            self.audit.record(
                request.guest, request.uuid, MIGRATE, result, reason, detail, chosen[0] if chosen else request.target
            )

        timeout = float(settings.migration_timeout) + _MIGRATION_GRACE + 30.0 * len(peers)
        self._in_flight.add(request.uuid)
        if not self.migration_worker.submit(f"migrate {request.guest}", action, timeout, report):
            self._in_flight.discard(request.uuid)
        else:
            self.logger.info("lifecycle: migrating guest %s (%s), peers %s", request.guest, request.uuid, peers)

    # ## Restore

    def _running_uuids(self, guests: list[Any]) -> set[str]:
        monitored = getattr(self.guest_manager, "monitored_uuids", None)
        uuids = {str(guest.properties.get("uuid")) for guest in guests}
        if callable(monitored):
            uuids.update(monitored())
        return uuids

    def _restore(self, guests: list[Any], memory: HostMemory | None, now: float, asked: bool) -> None:
        if not len(self.stopped):
            return
        running = self._running_uuids(guests)
        # the guest manager drops a stopped guest's monitor only at its next look
        settings = self.settings
        grace = 3 * max(
            settings.guest_manager_interval, settings.guest_monitor_interval, settings.policy_engine_interval
        )
        wall = self.audit.clock()
        for record in self.stopped.in_restart_order():
            if record.uuid in running and wall - record.stopped_at > grace:
                # started by someone else: no longer ours to start
                self.stopped.remove(record.uuid)
                self.logger.info("lifecycle: guest %s runs again (not started by momd); forgotten", record.name)
                self._persist()
        if asked or memory is None or not memory.plentiful:
            self.calm_since = None
            return
        if self.calm_since is None:
            self.calm_since = now
        if now - self.calm_since < float(self.settings.restore_after) or self.mode == "off":
            return
        interval = float(self.settings.power_off_interval)
        for last in (self.last_restore, self.last_power_off):
            if last is not None and now - last < interval:
                return
        if self.power_worker.busy:
            return
        for record in self.stopped.in_restart_order():
            if memory.free - record.memory_kib > memory.threshold + memory.band:
                self._start(record, memory, now)
                return

    def _start(self, record: StoppedGuest, memory: HostMemory, now: float) -> None:
        reason = f"memory plentiful for {self.settings.restore_after:g} s; {memory.describe()}"
        self.last_restore = now
        if self.mode == "log-only":
            self.audit.record(record.name, record.uuid, RESTORE, "dry-run", reason, "lifecycle-actions = log-only")
            return
        iface = self.hypervisor_iface

        def action() -> Outcome:
            return "done", str(iface.startVm(record.uuid, record.xml))

        def report(result: str, detail: str) -> None:
            if result == "done":
                self.stopped.remove(record.uuid)
                self._restart_failures.pop(record.uuid, None)
            else:
                failures = self._restart_failures.get(record.uuid, 0) + 1
                self._restart_failures[record.uuid] = failures
                if failures >= _RESTART_ATTEMPTS:
                    self.stopped.remove(record.uuid)
                    detail += f"; given up after {failures} attempts (start it by hand)"
            self.audit.record(record.name, record.uuid, RESTORE, result, reason, detail, record.how)

        self.power_worker.submit(f"restore {record.name}", action, float(self.settings.action_timeout), report)

    # ## RPC

    def rpc_get_actions(self, count: int = 50) -> dict[str, Any]:
        """``getActions``: the last actions, the guests momd stopped, what runs now."""
        return {
            "mode": self.mode,
            "actions": [record.as_dict() for record in self.audit.last(count)],
            "stopped": [
                {key: value for key, value in guest.as_dict().items() if key != "xml"}
                for guest in self.stopped.in_restart_order()
            ],
            "running": [what for what in (self.power_worker.what, self.migration_worker.what) if what],
            "recommendations": list(self.recommendations.values()),
        }
