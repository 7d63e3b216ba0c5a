"""GuestManager: finds guests, keeps one monitor per guest, and collects them.

A fixed number of threads whatever the number of guests: the ``GuestManager``
thread itself (discovery every ``guest-manager-interval``, and a collection round
every ``guest-monitor-interval``) plus, when ``guest-manager-multi-thread`` is true,
``guest-collector-threads`` workers that collect the guests of a round in parallel
(upstream started one thread per guest).  In single-thread mode the manager thread
collects the guests itself, without holding the lock RPC readers need.  A round
starts with the hypervisor interface's ``prefetch()`` (a no-op unless the interface
has more to do): the libvirt interface fetches every guest's statistics there in one
call, and the collectors then read them from that round.

Isolation: an error listing or describing guests skips that pass; an error in one
guest's collectors is that guest's monitor's business; a guest whose monitor stopped
(FatalError) gets a new monitor after a back-off that doubles up to five minutes
(upstream re-created it every pass).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from itertools import compress, islice
from operator import attrgetter
from typing import Any

import numpy as np

from mom.config import Settings
from mom.plugins.collectors.walks import attrs_are, first_true_attr, first_true_item, items_are
from mom.runtime.batch import BatchedRounds, collect_batched
from mom.runtime.entity import Entity
from mom.runtime.gc_pause import gc_paused
from mom.runtime.guest_monitor import GuestMonitor
from mom.runtime.monitor import READY_OF, ROW_OF, TERMINATING, Monitor
from mom.runtime.table import GuestSet, SampleTable

__all__ = ["GuestManager"]

#: longest wait before re-creating a monitor that stopped (seconds)
MAX_RESPAWN_BACKOFF = 300.0

_STOP = object()

_VARIABLES = attrgetter("variables")


class GuestManager(threading.Thread):
    """Discovery and collection of guests (thread ``GuestManager``)."""

    def __init__(
        self,
        config: Any,
        hypervisor_iface: Any,
        settings: Settings,
        stop: threading.Event | None = None,
        guest_properties: dict[str, Any] | None = None,
        observers: Any = None,
    ) -> None:
        super().__init__(name="GuestManager", daemon=True)
        #: properties every guest monitor gets besides its own (momd: ``sla_registry``)
        self.guest_properties = dict(guest_properties or {})
        #: who hears of each collection round (mom.observers; nobody by default)
        self.observers = observers
        self.config = config
        self.settings = settings
        self.hypervisor_iface = hypervisor_iface
        self.stop = stop or threading.Event()
        self.logger = logging.getLogger("mom.GuestManager")
        #: guest id (libvirt domain ID, vdsm UUID) -> its monitor
        self.guests: dict[Any, GuestMonitor] = {}
        #: every guest's samples, one row per monitor (what the policy engine reads)
        self.table = SampleTable(history=self.settings.sample_history_length)
        self.guests_lock = threading.Lock()
        #: guest id -> (monotonic time before which no new monitor, next back-off)
        self.respawn_after: dict[Any, tuple[float, float]] = {}
        #: getVmList()'s answer at the last pass that left every listed guest with a
        #: monitor and no back-off pending (None: not settled): the same answer again,
        #: with no monitor terminating, means nothing to do for any guest
        self._settled_list: list[Any] | None = None
        self.multi_thread = self.settings.guest_manager_multi_thread
        #: collection rounds batched when the guests' collectors allow it (mom.runtime.batch)
        self.batched = True
        self._batched_rounds = BatchedRounds()  # what one round can use again in the next
        #: guest_set's last ready rows and what they were found from (see _ready_rows)
        self._ready_cache: tuple[Any, ...] | None = None
        self.work: queue.Queue[Any] = queue.Queue()
        #: monitors queued or being collected (a slow guest is not queued twice)
        self.pending: set[int] = set()
        self.pending_lock = threading.Lock()
        self.workers: list[threading.Thread] = []
        if self.multi_thread:
            self.workers = [
                threading.Thread(target=self._worker, name=f"GuestCollector-{index}", daemon=True)
                for index in range(self.settings.guest_collector_threads)
            ]

    # ## The thread

    def run(self) -> None:
        for worker in self.workers:
            worker.start()
        # two schedules on one thread: discovery and collection rounds, each due every
        # its interval from when it last started; the wait is until the next one is due
        next_update = next_collect = time.monotonic()
        delay = 0.0
        try:
            while not self.stop.wait(delay):
                now = time.monotonic()
                if now >= next_update:
                    self._guard(self.update_guests)
                    next_update = now + self.settings.guest_manager_interval
                if now >= next_collect:
                    self._guard(self.collect_guests)
                    next_collect = now + self.settings.guest_monitor_interval
                delay = max(0.0, min(next_update, next_collect) - time.monotonic())
        finally:
            for _ in self.workers:
                self.work.put(_STOP)
            self.logger.debug("GuestManager ending")

    def join(self, timeout: float | None = None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        if self.ident is not None:
            super().join(timeout)
        for worker in self.workers:
            if worker.ident is not None:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                worker.join(left)

    def _guard(self, step: Any) -> None:
        try:
            step()
        except Exception:
            self.logger.exception("GuestManager: unexpected error in %s; continuing", step.__name__)

    # ## Discovery

    def update_guests(self) -> None:
        """Start monitors for new guests; drop vanished and stopped ones."""
        if self.hypervisor_iface is None:
            return
        try:
            vm_list = self.hypervisor_iface.getVmList()
        except Exception as error:
            self.logger.warning("getVmList failed: %s: %s", type(error).__name__, error)
            return
        if vm_list is None:
            return
        with self.guests_lock:
            if (
                self._settled_list is not None
                and not self.respawn_after
                and vm_list == self._settled_list
                and not any(map(TERMINATING, self.guests.values()))
            ):
                return  # the same guests, all monitored: two C-level passes, no per-guest work
            known = dict(self.guests)
        current = set(vm_list)
        now = time.monotonic()
        removed = [vm_id for vm_id in known if vm_id not in current]
        stopped = [vm_id for vm_id, monitor in known.items() if vm_id in current and monitor._terminate]
        for vm_id in stopped:
            _, backoff = self.respawn_after.get(vm_id, (0.0, self.settings.guest_manager_interval / 2))
            backoff = min(backoff * 2, MAX_RESPAWN_BACKOFF)
            self.respawn_after[vm_id] = (now + backoff, backoff)
            self.logger.info("Monitor of guest %s stopped; a new one in %.1f s", known[vm_id].name, backoff)
        for vm_id in list(self.respawn_after):
            monitor = known.get(vm_id)
            if vm_id not in current or (monitor is not None and monitor.isReady()):
                del self.respawn_after[vm_id]  # gone, or healthy again: the back-off starts over
        added: dict[Any, GuestMonitor] = {}
        for vm_id in vm_list:
            if vm_id in known and vm_id not in stopped:
                continue
            if self.respawn_after.get(vm_id, (0.0, 0.0))[0] > now:
                continue
            monitor = self._new_monitor(vm_id)
            if monitor is not None:
                added[vm_id] = monitor
        dropped = []
        with self.guests_lock:
            for vm_id in removed + stopped:
                monitor = self.guests.pop(vm_id, None)
                if monitor is not None:
                    dropped.append((vm_id, monitor))
            self.guests.update(added)
            # the monitors are a subset of current now: as many means every guest has one
            settled = not self.respawn_after and len(self.guests) == len(current)
            self._settled_list = list(vm_list) if settled else None
        # the rows go after guests_lock is released: guest_set() takes table.lock, then
        # guests_lock, so taking them the other way round here could deadlock.  Out of
        # self.guests, a dropped monitor is in no new GuestSet; an evaluation that has
        # its row already holds table.lock until it is done with it.
        for vm_id, monitor in dropped:
            with self.table.lock:  # no collection may write the row after this
                monitor.terminate()
                self.table.remove_row(monitor.row)
            if vm_id in removed:
                self.logger.info("Guest %s is gone", monitor.name)

    def _new_monitor(self, vm_id: Any) -> GuestMonitor | None:
        try:
            info = self.hypervisor_iface.getVmInfo(vm_id)
        except Exception as error:
            self.logger.warning("getVmInfo(%s) failed: %s: %s", vm_id, type(error).__name__, error)
            info = None
        if info is None:
            self.logger.error("Failed to get guest:%s information -- monitor can't start", vm_id)
            return None
        try:
            monitor = GuestMonitor(self.config, {**self.guest_properties, **info}, self.hypervisor_iface, self.settings)
        except Exception:
            self.logger.exception("Guest Monitor initialization failed for guest %s", vm_id)
            return None
        monitor.attach(self.table, self.table.add_row(monitor.name))
        self.logger.info("Monitoring guest %s", monitor.name)
        return monitor

    # ## Collection

    def collect_guests(self) -> None:
        """One collection round: every monitor, batched, on the workers or right here."""
        started = time.perf_counter()
        with gc_paused():  # a burst of short-lived objects (see mom.runtime.gc_pause)
            batched = self._collect_round()
        if self.observers:
            # a round on the workers is timed until its guests are queued
            self.observers.collection_finished(time.perf_counter() - started, len(self.guests), batched)

    def _collect_round(self) -> bool:
        with self.guests_lock:
            monitors = list(self.guests.values())
        # an interface that can fetch every guest's statistics at once does it now
        # (the libvirt interface: one getAllDomainStats per round, see prefetch())
        if monitors:
            self._guard(self.hypervisor_iface.prefetch)
        # every guest with the same shipped collectors: one batched round into the
        # columns (mom.runtime.batch); otherwise guest by guest
        if self._collect_batched([monitor for monitor in monitors if not monitor._terminate]):
            return True
        for monitor in monitors:
            if self.stop.is_set():
                return False
            if monitor._terminate:
                continue
            if not self.multi_thread:
                self._collect(monitor)
                continue
            with self.pending_lock:
                if id(monitor) in self.pending:
                    self.logger.debug("%s: previous collection still running", monitor.name)
                    continue
                self.pending.add(id(monitor))
            self.work.put(monitor)
        return False

    def _collect_batched(self, monitors: list[GuestMonitor]) -> bool:
        if not self.batched or self.stop.is_set():
            return False
        try:
            return collect_batched(monitors, self._batched_rounds)
        except Exception:
            self.logger.exception("GuestManager: batched collection failed; collecting guest by guest")
            return False

    def _worker(self) -> None:
        while True:
            monitor = self.work.get()
            if monitor is _STOP:
                return
            try:
                if not self.stop.is_set():
                    self._collect(monitor)
            finally:
                with self.pending_lock:
                    self.pending.discard(id(monitor))

    def _collect(self, monitor: GuestMonitor) -> None:
        try:
            monitor.collect()
        except Exception:
            self.logger.exception("%s: unexpected error collecting the guest", monitor.name)

    # ## Readers

    def _ready(self) -> list[tuple[Any, GuestMonitor]]:
        with self.guests_lock:
            return [(vm_id, monitor) for vm_id, monitor in self.guests.items() if monitor.isReady()]

    def interrogate(self) -> dict[Any, Entity]:
        """Guest id -> Entity, for every ready guest."""
        entities = {}
        for vm_id, monitor in self._ready():
            entity = monitor.interrogate()
            if entity is not None:
                entities[vm_id] = entity
        return entities

    def guest_set(self) -> GuestSet:
        """The ready guests as the policy engine's ``Guests``: their table rows, reset
        for a new cycle, in the order the guests were found (upstream's dict order)."""
        with self.table.lock:
            # every row's controls at once: a guest that is not ready this cycle has no
            # use for old ones either (upstream builds fresh entities each cycle)
            self.table.clear_controls()
            monitors, rows, row_array = self._ready_rows()
            # each cycle starts from the monitors' variables: the rows whose variables a
            # policy set, or whose monitor has some, get a copy (most have neither: no
            # dict each).  Each pass starts at the first it finds (a compiled walk over
            # the dicts' truth values; usually there is none): nothing before it has any
            variables = self.table.variables
            start = first_true_item(variables, rows)
            if start >= 0:
                for position in compress(
                    range(start, len(rows)), map(variables.__getitem__, islice(rows, start, None))
                ):
                    variables[rows[position]] = dict(monitors[position].variables)
            start = first_true_attr(monitors, "variables")
            if start >= 0:
                for monitor in compress(islice(monitors, start, None), map(_VARIABLES, islice(monitors, start, None))):
                    variables[monitor.row] = dict(monitor.variables)
            return GuestSet(self.table, row_array)

    def _ready_rows(self) -> tuple[list[GuestMonitor], list[int], np.ndarray]:
        """The ready monitors, their rows (a list and an array), in ``guests`` order.

        Kept from the last call while it would find the same: the same monitor objects
        in the same order, each as ready as it was (its ``ready`` compared, however it
        was set: the very object it was then), and no table row added or removed since
        (a monitor's row is the one added for it).  Each is checked every call with
        compiled walks (pointer compares, one attribute read per monitor), so a guest
        added, removed, becoming ready or not ready is in the very next set.  A monitor
        class with its own isReady() is asked every call instead.
        """
        table = self.table
        with self.guests_lock:
            monitors = list(self.guests.values())
        cache = self._ready_cache
        if cache is not None:
            rows_version, known, flags, ready, rows, row_array = cache
            # ``ready`` compared by identity: stricter than ==, so at worst the
            # lists are found again (True, False and None are singletons anyway)
            if (
                rows_version == table.rows_version
                and items_are(monitors, known)
                and attrs_are(monitors, "ready", flags)
            ):
                return ready, rows, row_array
        rows_version = table.rows_version
        flags = list(map(READY_OF, monitors))
        plain = all(type(monitor).isReady is Monitor.isReady for monitor in monitors)
        # plain monitors' readiness is bool(ready): taken from the flags the cache keeps
        # (a second read could see a guest that changed meanwhile, and keep it out)
        ready = list(compress(monitors, flags)) if plain else [monitor for monitor in monitors if monitor.isReady()]
        rows = list(map(ROW_OF, ready))
        row_array = np.array(rows, dtype=np.int32)  # each GuestSet takes its own copy
        self._ready_cache = (rows_version, monitors, flags, ready, rows, row_array) if plain else None
        return ready, rows, row_array

    def monitored_uuids(self) -> list[str]:
        """UUIDs of the guests that have a monitor now."""
        with self.guests_lock:
            return [str(monitor.properties.get("uuid")) for monitor in self.guests.values()]

    def rpc_get_active_guests(self) -> list[str]:
        """Names of the ready guests."""
        return [monitor.getGuestName() for _, monitor in self._ready()]
