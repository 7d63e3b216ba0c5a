"""The daemon's SLA registry: every monitored guest's SLA, and the RPC-set ones (state file).

One instance per daemon, built by :class:`mom.runtime.app.MOM` and handed to the RPC API
and (as the guest property ``sla_registry``) to the ``GuestSla`` collector, which calls
:meth:`SlaRegistry.observe` every collection round with what the hypervisor's metadata
says.  A change (RPC or metadata event) is therefore seen at the guest's next collection
and by the policy cycle after it.  A guest that is no longer monitored is dropped from
memory (:meth:`SlaRegistry.prune`: at the next RPC call, the next guest found, or within
two collection rounds); what the RPC set for it stays in the state file.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from mom.sla.classes import SlaError, guarantee_kib
from mom.sla.config import SlaConfig
from mom.sla.sources import (
    Sla,
    SlaSpec,
    combine,
    match_rules,
    parse_mom_metadata,
    parse_ovirt_custom,
    spec_from_values,
)
from mom.sla.state import StateError, StateFile

__all__ = ["SlaRegistry", "SlaMetadata"]

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

#: what a hypervisor interface reads (``getVmSlaMetadata``): ``{"mom_sla": <the
#: urn:mom:sla:1 element as XML text> or None, "ovirt_custom": {key: text}}``
SlaMetadata = Mapping[str, Any]


@dataclass
class _Guest:
    """One monitored guest."""

    uuid: str
    name: str
    rule: SlaSpec | None
    #: (source, raw metadata) -> its parsed spec, or the error already logged
    parsed: dict[str, tuple[Any, SlaSpec | None]] = field(default_factory=dict)
    metadata: SlaSpec | None = None
    ovirt: SlaSpec | None = None
    #: (balloon_max, balloon_min) KiB, last collected; None: not known
    balloon: tuple[int, int] | None = None
    #: the last resolved SLA and the specs it came from (specs are cached objects, so
    #: an unchanged guest is answered without combining again)
    resolved: Sla | None = None
    resolved_from: tuple[Any, ...] = ()


class SlaRegistry:
    """Thread-safe: collectors (worker threads) and the RPC server call it."""

    def __init__(
        self,
        config: SlaConfig,
        state: StateFile | None = None,
        live_guests: Callable[[], Iterable[str]] | None = None,
    ) -> None:
        self.config = config
        self.state = state or StateFile("")
        #: uuids of the guests being monitored (the guest manager's); None: no pruning
        self.live_guests = live_guests
        self.logger = logging.getLogger("mom.sla")
        self.lock = threading.Lock()
        self._write_lock = threading.Lock()  # held while the state file is written
        self._guests: dict[str, _Guest] = {}
        #: uuid -> what the RPC set, as stored (plain values, plus "name")
        self._stored: dict[str, dict[str, Any]] = {}
        #: uuid -> its parsed RPC spec (entries that no longer validate are left out)
        self._rpc: dict[str, SlaSpec] = {}
        #: guests found since the last prune: their monitor may not be listed yet
        self._fresh: set[str] = set()
        self._observed = 0  # observations since the last prune
        #: UUIDs of the guests whose balloon the Balloon controller holds stuck (it sets
        #: this each cycle; GuestSla gives it to policies as ``balloon_stuck``, and the
        #: allocator counts their memory as not reclaimable)
        self.stuck_balloons: frozenset[str] = frozenset()
        try:
            self._stored = self.state.load()
        except StateError as error:
            self.logger.error("%s; starting without the SLAs set over RPC", error)
        for uuid, values in self._stored.items():
            plain = {key: value for key, value in values.items() if key != "name"}
            try:
                self._rpc[uuid] = spec_from_values(plain, config.classes)
            except SlaError as error:
                self.logger.error("state file %r: the SLA of guest %s is ignored: %s", self.state.path, uuid, error)

    # ## Guests (the GuestSla collector)

    def guest_found(self, uuid: str, name: str) -> None:
        """A guest is monitored: its rule is matched once (the name does not change)."""
        self.prune()
        with self.lock:
            self._guests[uuid] = _Guest(uuid, name, match_rules(self.config.rules, name))
            self._fresh.add(uuid)

    def observe(self, uuid: str, name: str, metadata: SlaMetadata | None) -> Sla:
        """The guest's SLA now, given what its metadata says (None: unknown, e.g. libvirt
        failed this time, or an interface without metadata: the previous answer stands)."""
        # about once per collection round (amortised): forget the guests gone meanwhile
        self._observed += 1
        if self._observed >= len(self._guests):
            self.prune()
        with self.lock:
            self._fresh.discard(uuid)  # it is being collected, so the manager lists it
            guest = self._guests.get(uuid)
            if guest is None:
                guest = self._guests[uuid] = _Guest(uuid, name, match_rules(self.config.rules, name))
            if metadata is not None:  # None: not known this time, the last answer stands
                custom = metadata.get("ovirt_custom")
                guest.metadata = self._parsed(guest, "metadata", metadata.get("mom_sla"), parse_mom_metadata)
                guest.ovirt = self._parsed(guest, "ovirt", dict(custom) if custom else None, parse_ovirt_custom)
            return self._resolve(guest)

    def _parsed(self, guest: _Guest, source: str, raw: Any, parse: Callable[[Any, Any], SlaSpec]) -> SlaSpec | None:
        """The spec of a metadata source, parsed once per content; a bad one is logged once."""
        if not raw:
            guest.parsed.pop(source, None)
            return None
        cached = guest.parsed.get(source)
        if cached is not None and cached[0] == raw:
            return cached[1]
        try:
            spec: SlaSpec | None = parse(raw, self.config.classes)
        except SlaError as error:
            self.logger.warning(
                "guest %s (%s): SLA %s ignored, using its rules or the default class: %s",
                guest.name,
                guest.uuid,
                source,
                error,
            )
            spec = None
        guest.parsed[source] = (raw, spec)
        return spec

    def _resolve(self, guest: _Guest) -> Sla:
        rpc = self._rpc.get(guest.uuid)
        inputs = guest.resolved_from
        if (
            guest.resolved is not None
            and inputs[0] is rpc
            and inputs[1] is guest.metadata
            and inputs[2] is guest.ovirt
        ):
            return guest.resolved
        specs = {"rpc": rpc, "metadata": guest.metadata, "ovirt": guest.ovirt, "rule": guest.rule}
        guest.resolved = combine(specs, self.config.classes, self.config.default_class)
        guest.resolved_from = (rpc, guest.metadata, guest.ovirt)
        return guest.resolved

    def guarantee(self, uuid: str, sla: Sla, balloon: Mapping[str, Any] | None) -> int | None:
        """The guest's guarantee in KiB (None without balloon_max); the balloon bounds are
        remembered for the RPC's answer."""
        bounds = None
        if balloon is not None and balloon.get("balloon_max") is not None:
            bounds = (int(balloon["balloon_max"]), int(balloon.get("balloon_min") or 0))
        with self.lock:
            guest = self._guests.get(uuid)
            if guest is not None:
                guest.balloon = bounds
        return None if bounds is None else guarantee_kib(bounds[0], bounds[1], sla.sla_class, sla.guarantee)

    def prune(self) -> None:
        """Forget the guests that are no longer monitored (not those found since the
        previous prune: the guest manager lists a new monitor only after creating it)."""
        if self.live_guests is None:
            return
        live = set(self.live_guests())
        with self.lock:
            self._observed = 0
            for uuid in [uuid for uuid in self._guests if uuid not in live and uuid not in self._fresh]:
                del self._guests[uuid]
            self._fresh.clear()

    def known_guests(self) -> list[str]:
        """uuids of the guests in memory (for tests and momctl)."""
        with self.lock:
            return list(self._guests)

    # ## The RPC

    def _lookup(self, guest: str) -> tuple[str, _Guest | None]:
        """(uuid, monitored guest or None) for a UUID or a running guest's name."""
        if not isinstance(guest, str) or not guest:
            raise SlaError(f"guest {guest!r}: expected a UUID or a guest name")
        self.prune()
        with self.lock:
            entry = self._guests.get(guest.lower()) or self._guests.get(guest)
            if entry is not None:
                return entry.uuid, entry
            named = [entry for entry in self._guests.values() if entry.name == guest]
        if len(named) == 1:
            return named[0].uuid, named[0]
        if len(named) > 1:
            raise SlaError(f"guest name {guest!r} is ambiguous: give its UUID")
        if _UUID.match(guest):
            return guest.lower(), None  # not running now: its SLA applies when it starts
        raise SlaError(f"no monitored guest named {guest!r} (a guest that is not running is named by UUID)")

    def set_rpc(self, guest: str, values: Mapping[str, Any] | None) -> dict[str, Any]:
        """Set (or, with an empty dict or None, clear) the RPC SLA of a guest.

        The state file is written first: if that fails nothing changes (StateError).
        """
        spec = None if not values else spec_from_values(values, self.config.classes)
        uuid, entry = self._lookup(guest)
        # one writer at a time; the collectors wait for self.lock only, never for the disk
        with self._write_lock:
            stored = dict(self._stored)
            if spec is None:
                stored.pop(uuid, None)
            else:
                name = entry.name if entry is not None else self._stored.get(uuid, {}).get("name", "")
                stored[uuid] = {**spec.values(), "name": name}
            self.state.save(stored)
            with self.lock:
                self._stored = stored
                if spec is None:
                    self._rpc.pop(uuid, None)
                else:
                    self._rpc[uuid] = spec
        self.logger.info("setGuestSla(%s): %s", guest, spec.values() if spec is not None else "cleared")
        return self.get(uuid)

    def get(self, guest: str) -> dict[str, Any]:
        """The effective SLA of a guest, with the source of each field (no None values:
        TCP XML-RPC cannot carry them)."""
        uuid, entry = self._lookup(guest)
        with self.lock:
            if entry is not None:
                sla = self._resolve(entry)
                name, kib = entry.name, None
                if entry.balloon is not None:
                    kib = guarantee_kib(entry.balloon[0], entry.balloon[1], sla.sla_class, sla.guarantee)
            else:
                specs = {"rpc": self._rpc.get(uuid)}
                sla = combine(specs, self.config.classes, self.config.default_class)
                name, kib = self._stored.get(uuid, {}).get("name", ""), None
            rpc = self._stored.get(uuid)
        result: dict[str, Any] = {
            "uuid": uuid,
            "name": name,
            "monitored": entry is not None,
            "class": sla.sla_class.name,
            "priority": sla.priority,
            "tags": list(sla.tags),
            "guarantee": str(sla.guarantee) if sla.guarantee is not None else f"{sla.sla_class.guarantee * 100:g}%",
            "sources": dict(sla.sources),
        }
        if kib is not None:
            result["guarantee_kib"] = kib
        if rpc is not None:
            result["rpc"] = {key: value for key, value in rpc.items() if key != "name"}
        return result
