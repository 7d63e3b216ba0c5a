"""The ``libvirt`` hypervisor interface, on libvirt-python (upstream ``libvirtInterface``).

Upstream's methods and results, at a cost per tick that does not grow with the guests:

- :meth:`LibvirtInterface.prefetch` (the guest manager calls it at the start of every
  collection round) makes **one** ``getAllDomainStats`` call for the state, balloon
  and vCPU groups of every running domain.  The per-guest methods the collectors
  call (``getVmMemoryStats``, ``getVmBalloonInfo``, ``getVmCpuTuneInfo``...) answer from
  that round's records.
- What the bulk records lack is fetched per domain, and counted: a driver whose records
  are empty (libvirt's test driver answers only the state group) costs one
  ``memoryStats()`` per guest per round; a guest that appeared after the round started
  is asked directly.
- What changes only when someone changes it (the domain XML: maximum memory, balloon
  guarantee, disks and their IO limits, oVirt's tuning metadata; the scheduler
  parameters) is cached per domain and dropped by libvirt's domain events (tunables,
  metadata, devices, lifecycle), by this interface's own actions and by a new
  connection.  Without events it is re-read every round, as upstream did.

Every libvirt call is counted (:meth:`stats`; ``getStatistics()['mom']['hypervisor']``);
the calls between two rounds are logged at DEBUG.  Errors: a domain that went away
answers None (queries) or raises :class:`HypervisorInterfaceError` (actions), without
touching the other guests; other libvirt errors are logged with the call and the domain
(see :mod:`mom.plugins.hypervisors.libvirt_connection`, which also reopens a lost
connection with back-off).  The QEMU process id comes from libvirt's pid file or a scan
of ``/proc/*/cmdline`` (upstream ran ``ps``); drivers without local processes (the test
driver, remote URIs) give ``pid`` None.
"""

from __future__ import annotations

import logging
import math
import operator
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlparse

import libvirt

from mom.dsl.sandbox import MISSING
from mom.errors import HypervisorInterfaceError
from mom.plugins import procfs
from mom.plugins.collectors.base import field_columns, transpose
from mom.plugins.collectors.walks import attr_holds, cached_values, count_containing, holds, holds_instance, values_of
from mom.plugins.hypervisors.base import HypervisorInterface
from mom.plugins.hypervisors.libvirt_connection import DomainGone, LibvirtConnection
from mom.plugins.hypervisors.libvirt_domain import (
    BULK_MEMORY_MAP,
    MEMORY_STATS_MAP,
    TUNE_NAMESPACE,
    DomainXml,
    parse_domain_xml,
)
from mom.plugins.hypervisors.libvirt_lifecycle import LibvirtLifecycle
from mom.plugins.ksm_sysfs import KsmSysfs

__all__ = ["LibvirtInterface", "instance", "TUNE_NAMESPACE", "MEMORY_STATS_MAP", "BULK_GROUPS"]

#: the statistics groups of the one bulk call per round.  No block group: on QEMU it costs
#: a query-blockstats per domain, and a disk list that changes comes with a device event
#: (the cached XML is dropped), or without events is read again next round anyway.  The
#: vCPU group stays: no domain event is sure to follow a vCPU hotplug; ``vcpu.current`` does.
#: The CPU group (``cpu.time``: QEMU's cgroup CPU time) is one cgroup read per domain.
BULK_GROUPS = (
    libvirt.VIR_DOMAIN_STATS_STATE
    | libvirt.VIR_DOMAIN_STATS_BALLOON
    | libvirt.VIR_DOMAIN_STATS_VCPU
    | libvirt.VIR_DOMAIN_STATS_CPU_TOTAL
)
#: running domains only; NOWAIT: a domain busy with another job (a stuck QEMU monitor,
#: a migration) is reported without its guest statistics instead of delaying every guest
_BULK_FLAGS = libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE | libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT

#: MEMORY_STATS_MAP's fields, and a getter of its keys' values (in the same order)
_MEMORY_FIELDS = tuple(MEMORY_STATS_MAP.values())
_memory_values = operator.itemgetter(*MEMORY_STATS_MAP)

#: what is read of a ``memoryStats()`` answer: GuestMemory's statistics, and the balloon's size
_ANSWER_KEYS = (*MEMORY_STATS_MAP, "actual")
_ACTUAL = len(MEMORY_STATS_MAP)  # its column
#: an answer whose values went into the columns (see LibvirtConnection.memory_stats_columns)
_WHOLE = object()

_SECOND = operator.itemgetter(1)
_HANDLE = operator.attrgetter("handle")
_VCPU_LIMIT = operator.attrgetter("vcpu_limit")


def _has_none(values: list[Any]) -> bool:
    """Whether a list holds None (by identity: no ``==`` called)."""
    return holds(values, None)


def _by_field(records: list[dict[str, Any]], fields: dict[str, str]) -> dict[str, list[Any]] | None:
    """Columns named by ``fields``' values, of the records' values of its keys; None if
    a record lacks one (one walk of the records, see field_columns)."""
    columns = field_columns(records, list(fields))
    return None if columns is None else dict(zip(fields.values(), columns))


#: write order for ksmTune: merge_across_nodes only changes while KSM is stopped
_KSM_ORDER = {"merge_across_nodes": 0, "pages_to_scan": 1, "sleep_millisecs": 2, "run": 3}

_PID_DIRS = ("/run/libvirt/qemu", "/var/run/libvirt/qemu")


def _action(method: Callable[..., Any]) -> Callable[..., Any]:
    """An action's failures are HypervisorInterfaceError, a vanished domain included."""

    def action(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except DomainGone as error:
            raise HypervisorInterfaceError(str(error)) from None

    action.__name__ = method.__name__
    action.__doc__ = method.__doc__
    return action


@dataclass
class _Round:
    """The bulk records of one collection round, and what was fetched per domain in it."""

    number: int
    started: float  # monotonic seconds
    records: dict[str, dict[str, Any]]  # uuid -> getAllDomainStats record
    #: uuid -> memoryStats() fetched in this round (drivers without bulk balloon stats)
    memory: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: how many of the records have the balloon group (all: QEMU's; none: the test driver's)
    bulk_balloon: int = 0
    #: the last guest list a batched step asked about, with its records and cache
    #: entries in that order (see LibvirtInterface._aligned)
    aligned: tuple[list[str], list[dict[str, Any]], list[_Domain]] | None = None
    #: the cached domain XML of the aligned entries, once one step found it all current
    #: (the round's later steps use it; an event meanwhile counts from the next round)
    xmls: tuple[list[_Domain], list[Any]] | None = None
    #: the aligned entries' ``memoryStats()`` answers, in their order, once a step asked
    #: them all at once and one was not whole (the balloon step reads ``actual`` from them)
    answers: tuple[list[_Domain], list[dict[str, Any]]] | None = None
    #: the aligned entries (and their UUIDs) whose ``memoryStats()`` were asked at once and
    #: each answered with every one of :data:`_ANSWER_KEYS`: those values, one column per
    #: key; made dicts only if something asks for a guest's (see :meth:`answered`)
    asked: tuple[list[_Domain], list[str], tuple[list[Any], ...]] | None = None

    def answered(self) -> dict[str, dict[str, Any]]:
        """:attr:`memory`, the answers asked at once put in it first (as dicts of the keys
        read from them: :data:`_ANSWER_KEYS`; a step that asks a single guest's later)."""
        asked = self.asked
        if asked is not None:
            # filled before asked is cleared: another thread reading the round meanwhile
            # finds the answers in one or the other (made twice at worst, the same dicts)
            self.memory.update(zip(asked[1], map(_answer_dict, zip(*asked[2]))))
            self.asked = None
        return self.memory


def _answer_dict(values: tuple[Any, ...]) -> dict[str, Any]:
    """A ``memoryStats()`` answer as the round keeps it: the values of :data:`_ANSWER_KEYS`."""
    return dict(zip(_ANSWER_KEYS, values))


@dataclass(slots=True)  # a round's walks read a thousand of these: slots read fastest
class _Domain:
    """What is cached about one domain (by UUID) between rounds."""

    uuid: str = ""
    handle: Any = None  # virDomain of the current connection
    xml: DomainXml | None = None
    sched: dict[str, Any] | None = None
    #: what each was read for (see LibvirtInterface._epoch)
    xml_epoch: int | None = None
    sched_epoch: int | None = None
    #: bumped by every invalidation, so a read racing with an event is not stored
    version: int = 0
    #: the guest's balloon statistics were in a bulk record once (its driver works)
    had_stats: bool = False
    #: the domain's name, kept when a lifecycle event drops the handle (messages still name it)
    name: str = ""
    #: getVmCpuTuneInfo's last answer: (xml, sched, vcpu.current, answer), reused while
    #: the three are the same (a batched round; see cpu_tune_samples)
    cpu_tune: tuple[Any, Any, Any, dict[str, Any]] | None = None

    def hold(self, handle: Any) -> None:
        """Keep ``handle`` (and its name: a local call in the binding, no RPC)."""
        self.handle = handle
        try:
            self.name = handle.name()
        except libvirt.libvirtError:
            pass

    def __str__(self) -> str:
        """The domain as messages name it: its name and UUID."""
        return f"{self.name} {self.uuid}" if self.name else self.uuid


class LibvirtInterface(LibvirtLifecycle, HypervisorInterface):
    """Talks to libvirt at ``[main] libvirt-hypervisor-uri`` (empty: libvirt's default).

    ``events=False`` does without libvirt's event loop (cached configuration is then
    re-read every round).
    """

    def __init__(self, config: Any, *, events: bool = True) -> None:
        self.logger = logging.getLogger("mom.libvirtInterface")
        self.uri: str | None = config.get("main", "libvirt-hypervisor-uri") or None
        interval = float(config.get("main", "guest-monitor-interval"))
        # whole seconds, at least 1: a period of 0 would switch the balloon stats off
        self.stats_period = max(1, math.ceil(interval))
        #: a round's bulk records are used for this long (then collectors ask per domain)
        self.round_max_age = max(2 * interval, 1.0)
        self.ksm_sysfs = KsmSysfs()
        self.lock = threading.Lock()
        self._domains: dict[str, _Domain] = {}
        self._uuids: dict[bytes, str] = {}  # raw UUID -> its text, for the domains seen
        self._generation = 0  # the connection generation _domains belongs to
        self._round: _Round | None = None
        self._rounds = 0
        self._bulk_flags = _BULK_FLAGS
        #: cpu_tune_columns' last (xmls, scheds, vCPU counts, columns), kept while they are the same
        self._cpu_tune_last: tuple[list[Any], list[Any], list[Any], dict[str, list[Any]]] | None = None
        #: balloon_columns' last (xmls, their maximum memory and balloon guarantee), kept while they are the same
        self._balloon_xml_last: tuple[list[Any], list[Any], list[Any]] | None = None
        self._calls_at_round = 0
        self.last_round_calls = 0
        self.connection = LibvirtConnection(self.uri, self._on_event if events else None, logger=self.logger)

    @property
    def conn(self) -> libvirt.virConnect | None:
        """The current libvirt connection (None while disconnected)."""
        return self.connection.conn

    # ## Bookkeeping

    def _state(self) -> tuple[libvirt.virConnect, int]:
        """The connection and its generation; the domain cache is reset on a new one."""
        conn = self.connection.get()
        generation = self.connection.generation
        if generation != self._generation:
            with self.lock:
                if generation != self._generation:
                    self._domains.clear()
                    self._round = None
                    self._generation = generation
        return conn, generation

    def _entry(self, uuid: str) -> _Domain:
        entry = self._domains.get(uuid)
        if entry is not None:
            return entry
        with self.lock:
            entry = self._domains.get(uuid)
            if entry is None:
                entry = self._domains[uuid] = _Domain(uuid)
            return entry

    def _on_event(self, uuid: str, kind: str, details: tuple[Any, ...]) -> None:
        """A domain event: what it may have changed is read again when next needed."""
        with self.lock:
            entry = self._domains.get(uuid)
            if entry is None:
                return
            entry.version += 1
            entry.xml = None
            if kind in ("tunable", "lifecycle"):
                entry.sched = None
            if kind == "lifecycle":
                entry.handle = None
        self.logger.debug("libvirt: %s event for %s", kind, uuid)

    def _handle(self, uuid: str) -> tuple[Any, _Domain]:
        """The domain's virDomain (looked up by UUID once per connection) and cache entry."""
        entry = self._domains.get(uuid)
        if entry is not None and entry.handle is not None and self._generation == self.connection.generation:
            if self.connection.connected:
                return entry.handle, entry
        conn, _ = self._state()
        entry = self._entry(uuid)
        handle = entry.handle
        if handle is None:
            handle = self.connection.call("lookupByUUIDString", conn.lookupByUUIDString, uuid, domain=uuid)
            entry.hold(handle)
        return handle, entry

    def _epoch(self) -> int | None:
        """What a cached read stays valid for: this connection (with events: its
        generation) or this round (without: minus its number); None: do not cache."""
        if self.connection.events:
            return self.connection.generation
        current = self._current_round()
        return None if current is None else -current.number

    def _xml(self, uuid: str) -> DomainXml:
        entry = self._domains.get(uuid) or self._entry(uuid)
        xml = entry.xml
        if xml is not None and entry.xml_epoch == self._epoch():
            return xml
        return self._refresh(uuid, "xml", self._read_xml)

    def _sched(self, uuid: str) -> dict[str, Any]:
        entry = self._domains.get(uuid) or self._entry(uuid)
        sched = entry.sched
        if sched is not None and entry.sched_epoch == self._epoch():
            return sched
        return self._refresh(uuid, "sched", self._read_sched)

    def _refresh(self, uuid: str, kind: str, read: Callable[[Any, _Domain], Any]) -> Any:
        """Read ``kind`` ("xml" or "sched") of a domain again, and cache it if allowed."""
        epoch = self._epoch()
        handle, entry = self._handle(uuid)
        version = entry.version
        value = read(handle, entry)
        if epoch is not None:
            with self.lock:
                if entry.version == version:  # no event came in meanwhile
                    setattr(entry, kind, value)
                    setattr(entry, kind + "_epoch", epoch)
        return value

    def _read_xml(self, handle: Any, label: _Domain) -> DomainXml:
        text = self.connection.call("XMLDesc", handle.XMLDesc, 0, domain=label)
        try:
            return parse_domain_xml(text)
        except ValueError as error:
            raise HypervisorInterfaceError(f"XMLDesc({label}): {error}") from None

    def _read_sched(self, handle: Any, label: _Domain) -> dict[str, Any]:
        return dict(self.connection.call("schedulerParameters", handle.schedulerParameters, domain=label))

    def _query(self, what: str, uuid: str, function: Callable[[], Any]) -> Any:
        """A query's result, or None if the domain is gone or libvirt failed (logged)."""
        try:
            return function()
        except HypervisorInterfaceError as error:
            return self._failed(what, uuid, error)

    def _failed(self, what: str, uuid: str, error: HypervisorInterfaceError) -> None:
        """A query's answer when libvirt failed: None (the failure is logged where it happened)."""
        if not isinstance(error, DomainGone):
            self.logger.debug("%s(%s): %s", what, uuid, error)

    # ## Rounds

    def prefetch(self) -> None:
        """Start a collection round: one ``getAllDomainStats`` for every running domain."""
        calls = self.connection.total_calls
        self.last_round_calls = calls - self._calls_at_round
        self._calls_at_round = calls
        if self._rounds:
            self.logger.debug(
                "libvirt: %d calls since the previous round (%d calls in all)", self.last_round_calls, calls
            )
        self._rounds += 1
        try:
            conn, _ = self._state()
            records = self._bulk_stats(conn)
        except HypervisorInterfaceError as error:
            self._round = None
            self.logger.debug("libvirt: no bulk statistics this round: %s", error)
            return
        domains = self._domains
        uuids = self._uuids
        # the raw UUID is a cheaper read than UUIDString(); its text is remembered
        raws = [domain.UUID() for domain, _record in records]
        names = values_of(uuids, raws)
        if names is None:
            names = list(map(uuids.get, raws))
            for position, name in enumerate(names):
                if name is None:
                    names[position] = uuids[raws[position]] = records[position][0].UUIDString()
        by_uuid = dict(zip(names, map(_SECOND, records)))
        # the domains without a cache entry or handle yet (after the first round: none,
        # found in one walk each)
        entries = values_of(domains, names)
        stale: list[tuple[str, Any]] = []
        if entries is None or attr_holds(entries, "handle", None):
            stale = [
                (name, records[position][0])
                for position, (name, entry) in enumerate(zip(names, map(domains.get, names)))
                if entry is None or entry.handle is None
            ]
        bulk_balloon = count_containing(by_uuid.values(), "balloon.current")
        with self.lock:
            for uuid, handle in stale:
                entry = domains.get(uuid)
                if entry is None:
                    entry = domains[uuid] = _Domain(uuid)
                entry.hold(handle)
            if len(domains) > len(by_uuid):
                for uuid in [uuid for uuid in domains if uuid not in by_uuid]:
                    del domains[uuid]  # not running any more
            if len(uuids) > 2 * len(by_uuid) + 64:
                self._uuids = {raw: uuid for raw, uuid in uuids.items() if uuid in by_uuid}
            self._round = _Round(self._rounds, time.monotonic(), by_uuid, bulk_balloon=bulk_balloon)

    def _bulk_stats(self, conn: libvirt.virConnect) -> list[tuple[Any, dict[str, Any]]]:
        call = self.connection.call
        try:
            return call("getAllDomainStats", conn.getAllDomainStats, BULK_GROUPS, self._bulk_flags)
        except DomainGone:
            raise
        except HypervisorInterfaceError:
            nowait = libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT
            if not self._bulk_flags & nowait or self.connection.conn is None:
                raise
            # an older driver may refuse NOWAIT: if it answers without, ask so from now on
            records = call("getAllDomainStats", conn.getAllDomainStats, BULK_GROUPS, self._bulk_flags & ~nowait)
            self._bulk_flags &= ~nowait
            return records

    def _current_round(self) -> _Round | None:
        current = self._round
        if current is None or time.monotonic() - current.started > self.round_max_age:
            return None
        return current

    def _record(self, uuid: str) -> dict[str, Any] | None:
        """This round's bulk record of a domain (None: no current round, or not in it)."""
        current = self._current_round()
        return None if current is None else current.records.get(uuid)

    def _memory_stats(self, uuid: str, current: _Round | None) -> dict[str, Any]:
        """``memoryStats()`` of a domain, fetched once per round (``current``)."""
        if current is not None:
            stats = current.answered().get(uuid)
            if stats is not None:
                return stats
        handle, entry = self._handle(uuid)
        stats = self.connection.call("memoryStats", handle.memoryStats, domain=entry)
        if current is not None:
            current.memory[uuid] = stats
        return stats

    # ## Guests

    def getVmList(self) -> list[int] | None:
        """IDs of the running domains; None (skip this pass) if libvirt fails."""
        try:
            conn, _ = self._state()
            return list(self.connection.call("listDomainsID", conn.listDomainsID))
        except HypervisorInterfaceError as error:
            # while disconnected, the connection's own attempts say so (with back-off)
            level = logging.WARNING if self.connection.connected else logging.DEBUG
            self.logger.log(level, "getVmList: %s", error)
            return None

    def getVmInfo(self, vm_id: Any) -> dict[str, Any] | None:
        def info() -> dict[str, Any]:
            conn, _ = self._state()
            domain = self.connection.call("lookupByID", conn.lookupByID, int(vm_id), domain=f"id {vm_id}")
            uuid, name = domain.UUIDString(), domain.name()
            self._entry(uuid).hold(domain)
            return {"uuid": uuid, "name": name, "pid": self._find_pid(name, uuid)}

        result = self._query("getVmInfo", str(vm_id), info)
        if result is None or result["uuid"] is None or result["name"] is None:
            return None
        return result

    def _find_pid(self, name: str, uuid: str) -> int | None:
        """The QEMU process of a local domain, without running ``ps``."""
        driver, uri = self.connection.driver, self.connection.canonical_uri
        if driver != "QEMU" or not uri or urlparse(uri).hostname:
            return None  # no local process (test driver, remote host)
        candidates = [os.path.join(directory, name + ".pid") for directory in _PID_DIRS]
        runtime = os.environ.get("XDG_RUNTIME_DIR")
        if runtime:
            candidates.append(os.path.join(runtime, "libvirt", "qemu", "run", name + ".pid"))
        for path in candidates:
            try:
                with open(path, encoding="ascii") as handle:
                    pid = int(handle.read().strip())
            except (OSError, ValueError):
                continue
            if _cmdline_has(pid, uuid):
                return pid
        matches = [pid for pid in procfs.pids() if _cmdline_has(pid, uuid)]
        return matches[0] if len(matches) == 1 else None

    # ## Memory

    def startVmMemoryStats(self, uuid: str) -> None:
        def start() -> None:
            handle, entry = self._handle(uuid)
            self.connection.call(
                "setMemoryStatsPeriod",
                handle.setMemoryStatsPeriod,
                self.stats_period,
                domain=entry,
            )

        self._query("startVmMemoryStats", uuid, start)

    def getStatsFields(self) -> set[str]:
        return set(MEMORY_STATS_MAP.values())

    def getVmMemoryStats(self, uuid: str) -> dict[str, Any]:
        """GuestMemory's fields (KiB; faults and swap counts), from the round's bulk record.

        :raises HypervisorInterfaceError: the guest reports no memory statistics (no
            balloon driver, no stats period) or the domain is gone
        """
        current = self._current_round()
        record = None if current is None else current.records.get(uuid)
        stats = None
        entry = self._domains.get(uuid)
        if record is not None and "balloon.current" in record:
            stats = {field: record[key] for key, field in BULK_MEMORY_MAP.items() if key in record}
            if entry is not None:
                if stats:
                    entry.had_stats = True
                elif entry.had_stats:
                    # it reported before: rather busy (NOWAIT skipped it) than driverless,
                    # so ask it alone, which waits for it without holding up the others
                    stats = None
        if stats is None:
            raw = self._memory_stats(uuid, current)
            stats = {field: raw[key] for key, field in MEMORY_STATS_MAP.items() if key in raw}
            if not stats and entry is not None:
                # not busy: it stopped reporting (driver unloaded); its empty bulk
                # records are believed again instead of asking it alone every round
                entry.had_stats = False
        if not stats:
            raise HypervisorInterfaceError("libvirt memoryStats() is not active")
        return stats

    def memory_samples(self, uuids: list[str]) -> list[Any]:
        """:meth:`getVmMemoryStats` of many guests at once (a batched round): for each,
        its dict or the HypervisorInterfaceError it would raise.  The same answers, with
        the round looked up once and the test driver's ``memoryStats()`` called directly."""
        results, found = self._memory_round(uuids)
        for position, raw in found:
            results[position] = self._stats_of(uuids[position], raw)
        return results

    def memory_columns(self, uuids: list[str]) -> tuple[dict[str, list[Any]], dict[int, HypervisorInterfaceError]]:
        """:meth:`memory_samples` as columns (field -> one value per guest, MISSING
        where a guest has none) and the errors by position (those guests' values all
        MISSING): the usual round, every statistic of every ``memoryStats()``
        reported, is one C-level pass per field, no dict per guest."""
        at_once = self._memory_columns_at_once(uuids)
        if at_once is not None:
            return at_once
        results, found = self._memory_round(uuids)
        count = len(uuids)
        if found and len(found) == count:
            raws: list[Any] = [None] * count
            for position, raw in found:  # in the guests' order (those asked come last)
                raws[position] = raw
            try:
                return {field: list(map(operator.itemgetter(key), raws)) for key, field in MEMORY_STATS_MAP.items()}, {}
            except KeyError:
                pass  # a guest without one of the statistics: guest by guest below
        for position, raw in found:
            results[position] = self._stats_of(uuids[position], raw)
        failures = {p: r for p, r in enumerate(results) if isinstance(r, HypervisorInterfaceError)}
        return transpose([None if p in failures else r for p, r in enumerate(results)]), failures

    def _aligned(self, uuids: list[str]) -> tuple[_Round, list[dict[str, Any]], list[_Domain]] | None:
        """This round, and its records and the cache entries of ``uuids`` in that order,
        found in C-level passes (and kept for the round's next step asking about the same
        guests); None if there is no current round, or a guest is not in it or not cached
        with a handle (the guest-by-guest path then)."""
        current = self._current_round()
        if current is None:
            return None
        aligned = current.aligned
        if aligned is not None and aligned[0] == uuids:
            return current, aligned[1], aligned[2]
        records = values_of(current.records, uuids)
        entries = values_of(self._domains, uuids)
        if records is None or entries is None or attr_holds(entries, "handle", None):
            return None
        current.aligned = (list(uuids), records, entries)
        return current, records, entries

    def _current_xmls(self, entries: list[_Domain]) -> list[DomainXml] | None:
        """The cached domain XML of each entry, or None if one is not cached for now
        (found once a round for the round's aligned entries: a read, do not change it)."""
        current = self._round
        known = current.xmls if current is not None else None
        if known is not None and known[0] is entries:
            return known[1]
        epoch = self._epoch()
        xmls = None if epoch is None else cached_values(entries, "xml", "xml_epoch", epoch)
        if xmls is None:
            return None
        if current is not None and current.aligned is not None and current.aligned[2] is entries:
            current.xmls = (entries, xmls)
        return xmls

    def _memory_columns_at_once(
        self, uuids: list[str]
    ) -> tuple[dict[str, list[Any]], dict[int, HypervisorInterfaceError]] | None:
        """:meth:`memory_columns` when every guest of the round answers alike, in C-level
        passes: QEMU's bulk records, each with every balloon statistic, or the test
        driver's records (no balloon group), each guest's ``memoryStats()`` asked and
        answered in full.  None: guest by guest (:meth:`_memory_round`)."""
        aligned = self._aligned(uuids)
        if aligned is None:
            return None
        current, records, entries = aligned
        count = len(uuids)
        if current.bulk_balloon == count:
            columns = _by_field(records, BULK_MEMORY_MAP)
            if columns is None:
                return None  # some statistic missing: getVmMemoryStats' rules, guest by guest
            for entry in entries:
                entry.had_stats = True
            return columns, {}
        if current.bulk_balloon or current.memory or current.asked is not None:
            return None
        # the handles read before the calls: a lifecycle event (another thread, while a
        # call waits on libvirt) may drop an entry's handle meanwhile
        handles = list(map(_HANDLE, entries))
        if holds(handles, None):
            return None  # dropped since the round's entries were found: guest by guest
        # each answer's values taken out as it comes (no thousand dicts held for the round)
        values, notes = self.connection.memory_stats_columns(handles, entries, _ANSWER_KEYS, _WHOLE)
        if notes.count(_WHOLE) == count:  # every answer whole (the usual round)
            current.asked = (entries, list(uuids), values)  # kept for the round (the balloon step)
            # GuestMemory's statistics: every column but the balloon's size
            return dict(zip(_MEMORY_FIELDS, map(list, values[:_ACTUAL]))), {}
        # one failed or lacks a statistic (rare): each answer as a dict, as asked one by one
        answers = [_answer_dict(whole) if note is _WHOLE else note for note, whole in zip(notes, zip(*values))]
        if holds_instance(answers, HypervisorInterfaceError):
            # a guest failed (rare): the others' answers kept for the round, each guest's
            # sample as memory_samples gives it
            results: list[Any] = []
            for uuid, answer in zip(uuids, answers):
                if not isinstance(answer, HypervisorInterfaceError):
                    current.memory[uuid] = answer
                    answer = self._stats_of(uuid, answer)
                results.append(answer)
            failures = {p: r for p, r in enumerate(results) if isinstance(r, HypervisorInterfaceError)}
            return transpose([None if p in failures else r for p, r in enumerate(results)]), failures
        # kept for the round (getVmBalloonInfo reads "actual" from them)
        current.memory.update(zip(uuids, answers))
        current.answers = (entries, answers)
        columns = _by_field(answers, MEMORY_STATS_MAP)
        if columns is None:
            return None  # a guest without some statistic: guest by guest (answers kept)
        return columns, {}

    def _memory_round(self, uuids: list[str]) -> tuple[list[Any], list[tuple[int, dict[str, Any]]]]:
        """A batched round's memory statistics: the answers of the guests done (a dict
        or an error), and (position, ``memoryStats()``) of the others, still raw."""
        current = self._current_round()
        if current is None:
            return [self._memory_sample(uuid) for uuid in uuids], []
        records, memory, domains = current.records, current.answered(), self._domains
        results: list[Any] = [None] * len(uuids)
        # the guests whose records lack the balloon group (the test driver's): their
        # memoryStats() asked in one pass (what _memory_stats does, without its lookups)
        asked: list[int] = []
        functions: list[Any] = []
        labels: list[Any] = []
        found: list[tuple[int, Any]] = []
        for position, uuid in enumerate(uuids):
            record = records.get(uuid)
            if record is not None and "balloon.current" in record:
                results[position] = self._memory_sample(uuid)
                continue
            raw = memory.get(uuid)
            if raw is not None:
                found.append((position, raw))
                continue
            entry = domains.get(uuid)
            if entry is None or entry.handle is None:
                results[position] = self._memory_sample(uuid)
                continue
            asked.append(position)
            functions.append(entry.handle.memoryStats)
            labels.append(entry)
        if asked:
            for position, answer in zip(asked, self.connection.call_each("memoryStats", functions, labels)):
                if isinstance(answer, HypervisorInterfaceError):
                    results[position] = answer
                else:
                    memory[uuids[position]] = answer
                    found.append((position, answer))
        return results, found

    def _stats_of(self, uuid: str, raw: dict[str, Any]) -> Any:
        """GuestMemory's fields of a ``memoryStats()`` (none: as getVmMemoryStats says)."""
        try:  # every statistic reported (the usual case): one C-level pass
            stats = dict(zip(_MEMORY_FIELDS, _memory_values(raw)))
        except KeyError:
            stats = {field: raw[key] for key, field in MEMORY_STATS_MAP.items() if key in raw}
        return stats if stats else self._memory_sample(uuid)

    def _memory_sample(self, uuid: str) -> Any:
        try:
            return self.getVmMemoryStats(uuid)
        except HypervisorInterfaceError as error:
            return error

    def getVmBalloonInfo(self, uuid: str) -> dict[str, Any] | None:
        """``{balloon_max, balloon_cur, balloon_min}`` in KiB, or None."""
        try:
            xml = self._xml(uuid)
            this_round = self._current_round()
            record = None if this_round is None else this_round.records.get(uuid)
            if record is not None and "balloon.current" in record:
                current, maximum = record["balloon.current"], record.get("balloon.maximum", xml.max_memory)
            else:
                stats = self._memory_stats(uuid, this_round)
                if "actual" in stats:
                    current, maximum = stats["actual"], xml.max_memory
                else:  # no balloon device: what the domain has
                    handle, entry = self._handle(uuid)
                    info = self.connection.call("info", handle.info, domain=entry)
                    current, maximum = info[2], info[1]
        except HypervisorInterfaceError as error:
            return self._failed("getVmBalloonInfo", uuid, error)
        return {"balloon_max": maximum, "balloon_cur": current, "balloon_min": xml.min_guarantee}

    def balloon_samples(self, uuids: list[str]) -> list[dict[str, Any] | None]:
        """:meth:`getVmBalloonInfo` of many guests at once (a batched round): from the
        cached XML and this round's record (or its ``memoryStats()``) without lookups."""
        current = self._current_round()
        if current is None:
            return [self.getVmBalloonInfo(uuid) for uuid in uuids]
        records, memory, domains = current.records, current.answered(), self._domains
        epoch = self._epoch()
        results: list[dict[str, Any] | None] = []
        for uuid in uuids:
            entry = domains.get(uuid)
            xml = None if entry is None or entry.xml_epoch != epoch else entry.xml
            if xml is not None:
                record = records.get(uuid)
                if record is not None and "balloon.current" in record:
                    cur, maximum = record["balloon.current"], record.get("balloon.maximum", xml.max_memory)
                    results.append({"balloon_max": maximum, "balloon_cur": cur, "balloon_min": xml.min_guarantee})
                    continue
                raw = memory.get(uuid)
                if raw is not None and "actual" in raw:
                    results.append(
                        {"balloon_max": xml.max_memory, "balloon_cur": raw["actual"], "balloon_min": xml.min_guarantee}
                    )
                    continue
            results.append(self.getVmBalloonInfo(uuid))
        return results

    def balloon_columns(self, uuids: list[str]) -> dict[str, list[Any]] | None:
        """:meth:`balloon_samples` as columns, in C-level passes, when every guest's
        answer comes alike (the domain XML cached; QEMU's bulk records each with the
        balloon's size and maximum, or the test driver's ``memoryStats()`` of this round
        each with ``actual``); None: ask :meth:`balloon_samples`."""
        aligned = self._aligned(uuids)
        if aligned is None:
            return None
        current, records, entries = aligned
        xmls = self._current_xmls(entries)
        if xmls is None:
            return None
        try:
            if current.bulk_balloon == len(uuids):
                maximum = list(map(operator.itemgetter("balloon.maximum"), records))
                balloon = list(map(operator.itemgetter("balloon.current"), records))
            elif current.bulk_balloon:
                return None
            else:
                maximum = list(self._balloon_of(xmls)[1])
                asked, answers = current.asked, current.answers
                if asked is not None and asked[0] is entries:  # asked at once this round, in this order
                    balloon = list(asked[2][_ACTUAL])
                elif answers is not None and answers[0] is entries:  # asked at once this round, in this order
                    found = field_columns(answers[1], ("actual",))
                    if found is None:
                        return None
                    balloon = found[0]
                else:
                    balloon = list(map(operator.itemgetter("actual"), map(current.answered().__getitem__, uuids)))
        except (KeyError, TypeError):
            return None  # a guest without its round's statistics: guest by guest
        return {"balloon_max": maximum, "balloon_cur": balloon, "balloon_min": list(self._balloon_of(xmls)[2])}

    def _balloon_of(self, xmls: list[Any]) -> tuple[list[Any], list[Any], list[Any]]:
        """The XMLs' maximum memory and balloon guarantee, last round's while the XMLs
        are the same (equal: with events the same objects, found without looking
        inside); a read, copy before handing out."""
        last = self._balloon_xml_last
        if last is None or last[0] != xmls:
            last = self._balloon_xml_last = (
                xmls,
                [xml.max_memory for xml in xmls],
                [xml.min_guarantee for xml in xmls],
            )
        return last

    @_action
    def setVmBalloonTarget(self, uuid: str, target: int) -> None:
        handle, entry = self._handle(uuid)
        self.connection.call("setMemory", handle.setMemory, int(target), domain=entry, query=False)

    # ## CPU

    def getVmCpuTuneInfo(self, uuid: str) -> dict[str, Any] | None:
        """``vcpu_user_limit`` (percent), every scheduler parameter (``vcpu_quota`` and
        ``vcpu_period`` in µs, 0 if the driver has none) and ``vcpu_count``; or None."""
        try:
            xml = self._xml(uuid)
            data: dict[str, Any] = {"vcpu_user_limit": xml.vcpu_limit}
            data.update(self._sched(uuid))
        except HypervisorInterfaceError as error:
            return self._failed("getVmCpuTuneInfo", uuid, error)
        if data.get("vcpu_quota") is None:
            data["vcpu_quota"] = 0
        if data.get("vcpu_period") is None:
            data["vcpu_period"] = 0
        record = self._record(uuid)
        data["vcpu_count"] = record["vcpu.current"] if record is not None and "vcpu.current" in record else xml.vcpus
        return data

    def cpu_tune_samples(self, uuids: list[str]) -> list[dict[str, Any] | None]:
        """:meth:`getVmCpuTuneInfo` of many guests at once (a batched round): a guest whose
        domain XML, scheduler parameters and vCPU count did not change gets its last
        answer again (the same dict: read it, do not change it)."""
        current = self._current_round()
        records = current.records if current is not None else {}
        domains = self._domains
        epoch = self._epoch()
        results: list[dict[str, Any] | None] = []
        for uuid in uuids:
            entry = domains.get(uuid)
            record = records.get(uuid)
            count = record.get("vcpu.current") if record is not None else None
            if entry is not None and epoch is not None:
                cached = entry.cpu_tune
                if (
                    cached is not None
                    and entry.xml_epoch == epoch
                    and entry.sched_epoch == epoch
                    and cached[0] is entry.xml
                    and cached[1] is entry.sched
                    and cached[2] == count
                ):
                    results.append(cached[3])
                    continue
            answer = self.getVmCpuTuneInfo(uuid)
            entry = domains.get(uuid)
            if answer is not None and entry is not None and entry.xml is not None and entry.sched is not None:
                entry.cpu_tune = (entry.xml, entry.sched, count, answer)
            results.append(answer)
        return results

    def cpu_tune_columns(self, uuids: list[str]) -> dict[str, list[Any]] | None:
        """:meth:`cpu_tune_samples` as columns, in C-level passes, when every guest's
        domain XML and scheduler parameters are cached (and the vCPU counts come alike:
        every bulk record has ``vcpu.current``, or none has); None: ask
        :meth:`cpu_tune_samples`."""
        aligned = self._aligned(uuids)
        if aligned is None:
            return None
        _current, records, entries = aligned
        xmls = self._current_xmls(entries)
        if xmls is None:
            return None
        scheds = cached_values(entries, "sched", "sched_epoch", self._epoch())
        if scheds is None:
            return None
        try:
            counts = list(map(operator.itemgetter("vcpu.current"), records))
        except KeyError:
            if count_containing(records, "vcpu.current"):
                return None
            counts = [xml.vcpus for xml in xmls]
        # the same XML, scheduler parameters and vCPU counts as last round (equal: with
        # events they are the same objects, and == finds that without looking inside):
        # last round's columns, each a fresh list (nothing a caller does reaches the memo)
        last = self._cpu_tune_last
        if last is None or last[0] != xmls or last[1] != scheds or last[2] != counts:
            last = self._cpu_tune_last = (xmls, scheds, counts, self._cpu_tune_of(xmls, scheds, list(counts)))
        return {name: list(values) for name, values in last[3].items()}

    @staticmethod
    def _cpu_tune_of(xmls: list[Any], scheds: list[dict[str, Any]], counts: list[Any]) -> dict[str, list[Any]]:
        count = len(xmls)
        columns: dict[str, list[Any]] = {"vcpu_user_limit": list(map(_VCPU_LIMIT, xmls))}
        columns.update(transpose(scheds))  # every scheduler parameter (MISSING where one has none)
        for name in ("vcpu_quota", "vcpu_period"):  # 0 where the driver has none
            values = columns.get(name)
            if values is None:
                columns[name] = [0] * count
            elif holds(values, None) or holds(values, MISSING):
                columns[name] = [0 if value is None or value is MISSING else value for value in values]
        columns["vcpu_count"] = counts
        return columns

    @_action
    def setVmCpuTune(self, uuid: str, quota: int, period: int) -> None:
        params = {"vcpu_quota": int(quota), "vcpu_period": int(period)}
        self._set(uuid, "setSchedulerParameters", params, what=params, cached="sched")

    def getVmCpuStats(self, uuid: str) -> dict[str, Any] | None:
        """``{cpu_time, vcpu_count, vcpu_wait, vcpu_delay}`` (ns, cumulative; the waits are
        summed over the vCPUs, None where libvirt reports none), from the round's bulk
        record; a driver whose records lack ``cpu.time`` (the test driver) is asked with
        ``getCPUStats`` (one call per guest per round).  None if the domain is gone."""
        record = self._record(uuid)
        data: dict[str, Any] = {"vcpu_wait": None, "vcpu_delay": None}
        try:
            if record is not None and "cpu.time" in record:
                data["cpu_time"] = record["cpu.time"]
            else:
                handle, entry = self._handle(uuid)
                total = self.connection.call("getCPUStats", handle.getCPUStats, True, domain=entry)
                data["cpu_time"] = total[0].get("cpu_time") if total else None
            if record is not None and "vcpu.current" in record:
                count = int(record["vcpu.current"])
            else:
                count = self._xml(uuid).vcpus
        except HypervisorInterfaceError as error:
            return self._failed("getVmCpuStats", uuid, error)
        data["vcpu_count"] = count
        if record is not None:
            for key in ("wait", "delay"):
                values = [record.get(f"vcpu.{n}.{key}") for n in range(count)]
                if values and all(value is not None for value in values):
                    data["vcpu_" + key] = sum(values)
        return data

    def getVmSchedulerInfo(self, uuid: str) -> dict[str, Any] | None:
        """Every scheduler parameter of the domain (QEMU: ``cpu_shares``, ``vcpu_quota``...;
        cached until a tunable event or our own change), a fresh dict; or None."""
        try:
            return dict(self._sched(uuid))
        except HypervisorInterfaceError as error:
            return self._failed("getVmSchedulerInfo", uuid, error)

    @_action
    def setVmCpuShares(self, uuid: str, shares: int) -> None:
        """The domain's ``cpu_shares`` (QEMU's cgroup ``cpu.weight`` or ``cpu.shares``), live."""
        params = {"cpu_shares": int(shares)}
        self._set(uuid, "setSchedulerParameters", params, what=params, cached="sched")

    # ## Resources: block IO weight, network bandwidth, NUMA placement

    def getVmResourceTune(self, uuid: str) -> dict[str, Any] | None:
        """``{blkio_weight, bandwidth: {dev: {"inbound.average": ...}}, numa_nodeset,
        vcpu_pins: {vcpu: cpuset}}`` from the cached domain XML; or None."""
        try:
            return self._xml(uuid).resource_tune()
        except HypervisorInterfaceError as error:
            return self._failed("getVmResourceTune", uuid, error)

    @_action
    def setVmBlkioWeight(self, uuid: str, weight: int) -> None:
        """The domain's block IO weight (``setBlkioParameters``, the running domain)."""
        params = {"weight": int(weight)}
        self._set(uuid, "setBlkioParameters", params, libvirt.VIR_DOMAIN_AFFECT_CURRENT, what=params)

    @_action
    def setVmInterfaceBandwidth(self, uuid: str, device: str, params: dict[str, int]) -> None:
        """One interface's ``inbound.*``/``outbound.*`` (KiB/s, burst KiB; 0: unlimited)."""
        values = {key: int(value) for key, value in params.items()}
        self._set(
            uuid,
            "setInterfaceParameters",
            device,
            values,
            libvirt.VIR_DOMAIN_AFFECT_CURRENT,
            what=f"{device}, {values}",
        )

    @_action
    def setVmNumaPlacement(self, uuid: str, node: int, cpus: list[int], host_cpus: int) -> None:
        """Memory on ``node`` (``numa_nodeset``) and every vCPU pinned to ``cpus``."""
        handle, entry = self._handle(uuid)
        cpumap = tuple(cpu in set(cpus) for cpu in range(host_cpus))
        try:
            self.connection.call(
                "setNumaParameters",
                handle.setNumaParameters,
                {"numa_nodeset": str(node)},
                libvirt.VIR_DOMAIN_AFFECT_CURRENT,
                domain=f"{entry}, node {node}",
                query=False,
            )
            for vcpu in range(self._xml(uuid).vcpus):
                self.connection.call(
                    "pinVcpu", handle.pinVcpu, vcpu, cpumap, domain=f"{entry}, vCPU {vcpu}", query=False
                )
        finally:
            self._invalidate(entry, "xml")

    def getNumaCellsFree(self, cells: int) -> list[int] | None:
        """Free memory of the host's first ``cells`` NUMA cells, KiB (libvirt's
        ``getCellsFreeMemory``), or None if libvirt cannot say."""
        try:
            conn, _ = self._state()
            free = self.connection.call("getCellsFreeMemory", conn.getCellsFreeMemory, 0, int(cells))
        except HypervisorInterfaceError as error:
            self.logger.debug("getCellsFreeMemory: %s", error)
            return None
        return [int(value) // 1024 for value in free]

    def _set(self, uuid: str, method: str, *args: Any, what: object, cached: str = "xml") -> None:
        """``virDomain.<method>(*args)`` on the domain (``what`` names the change in an
        error), then the ``cached`` reading of it ("xml" or "sched") is read again."""
        handle, entry = self._handle(uuid)
        try:
            self.connection.call(method, getattr(handle, method), *args, domain=f"{entry}, {what}", query=False)
        finally:
            self._invalidate(entry, cached)

    # ## SLA

    def getVmSlaMetadata(self, uuid: str) -> dict[str, Any] | None:
        """Our ``urn:mom:sla:1`` element and oVirt's ``sla_*`` custom properties, from the
        cached domain XML (read again after a metadata-change event); None if unknown."""
        try:
            return self._xml(uuid).sla_metadata()
        except HypervisorInterfaceError as error:
            return self._failed("getVmSlaMetadata", uuid, error)

    # ## IO

    def config_token(self, uuid: str) -> Any:
        """The cached domain XML itself: a new object once it is read again (an event,
        our own change, a new connection; every round without events)."""
        try:
            return self._xml(uuid)
        except HypervisorInterfaceError:
            return None

    def config_tokens(self, uuids: list[str]) -> list[Any]:
        """:meth:`config_token` of many guests at once (a batched round): the cached
        XML of those whose cache is current, without a lookup each."""
        aligned = self._aligned(uuids)
        if aligned is not None:
            xmls = self._current_xmls(aligned[2])
            if xmls is not None:
                return list(xmls)  # every one cached: found in C-level passes (a copy: the round keeps it)
        epoch = self._epoch()
        domains = self._domains
        tokens: list[Any] = []
        for uuid in uuids:
            entry = domains.get(uuid)
            if entry is not None and entry.xml is not None and entry.xml_epoch == epoch:
                tokens.append(entry.xml)
            else:
                tokens.append(self.config_token(uuid))
        return tokens

    def getVmIoTunePolicy(self, uuid: str) -> list[dict[str, Any]] | None:
        """oVirt's IO policies of the domain's disks (from its metadata), or None."""
        try:
            return self._xml(uuid).io_tune_policy()
        except HypervisorInterfaceError as error:
            return self._failed("getVmIoTunePolicy", uuid, error)

    def getVmIoTune(self, uuid: str) -> list[dict[str, Any]] | None:
        """``[{name, path, ioTune: {limit: value}}]``, one per disk (fresh dicts), or None."""
        try:
            return self._xml(uuid).io_tune_state()
        except HypervisorInterfaceError as error:
            return self._failed("getVmIoTune", uuid, error)

    @_action
    def setVmIoTune(self, uuid: str, tunables: list[dict[str, Any]]) -> None:
        handle, entry = self._handle(uuid)
        try:
            for tune in tunables:
                params = {key: int(value) for key, value in tune.get("ioTune", {}).items() if value is not None}
                name = tune.get("name")
                self.connection.call(
                    "setBlockIoTune",
                    handle.setBlockIoTune,
                    name,
                    params,
                    libvirt.VIR_DOMAIN_AFFECT_LIVE,
                    domain=f"{entry}, {name}, {params}",
                    query=False,
                )
        finally:
            self._invalidate(entry, "xml")

    def _invalidate(self, entry: _Domain, kind: str) -> None:
        with self.lock:
            entry.version += 1
            setattr(entry, kind, None)

    # ## Host

    def ksmTune(self, tuning_params: dict[str, int]) -> None:
        """Write the KSM knobs to sysfs (merge_across_nodes first, run last)."""
        failures = []
        for key in sorted(tuning_params, key=lambda k: _KSM_ORDER.get(k, 2)):
            try:
                self.ksm_sysfs.write(key, int(tuning_params[key]))
            except (OSError, ValueError) as error:
                failures.append(f"{key}={tuning_params[key]}: {error}")
        if failures:
            raise HypervisorInterfaceError("ksmTune failed: " + "; ".join(failures))

    @_action
    def qemuAgentCommand(self, uuid: str, command: str, timeout: int = 10) -> str | None:
        import libvirt_qemu

        handle, entry = self._handle(uuid)
        return self.connection.call(
            "qemuAgentCommand",
            libvirt_qemu.qemuAgentCommand,
            handle,
            command,
            timeout,
            0,
            domain=entry,
            query=False,
        )

    # ## Statistics and life cycle

    def stats(self) -> dict[str, Any]:
        """Counters for logs and ``getStatistics``: calls (in all, by name, in the last round)."""
        connection = self.connection
        return {
            "uri": connection.label,
            "connected": connection.connected,
            "events": connection.events,
            "reconnects": connection.reconnects,
            "rounds": self._rounds,
            "calls": connection.total_calls,
            "calls_last_round": self.last_round_calls,
            "calls_by_name": connection.calls_by_name(),
        }

    def close(self) -> None:
        with self.lock:
            self._domains.clear()
            self._round = None
        self.connection.close()


def instance(config: Any) -> LibvirtInterface:
    """Upstream's factory: the interface for this configuration."""
    return LibvirtInterface(config)


# ## Helpers


def _cmdline_has(pid: int, uuid: str) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return uuid.encode() in handle.read()
    except OSError:
        return False
