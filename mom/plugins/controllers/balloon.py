"""Balloon controller: sets each guest's balloon to the policy's ``balloon_target``, safely.

Whatever the policy (vdsm's, ours, a hostile one), a target passes the safety floors of
:mod:`~mom.plugins.controllers.balloon_floors` first, and a guest whose balloon is stuck
(:mod:`~mom.plugins.controllers.balloon_stuck`) is not pushed until its retry.
"""

from __future__ import annotations

import time
from collections import Counter
from operator import itemgetter
from typing import Any, Callable, Iterable

from mom.config import Settings
from mom.plugins.controllers.balloon_floors import (
    FloorSettings,
    GuestSizes,
    InvalidTarget,
    check_target,
    clamp_target,
    used_memory,
)
from mom.plugins.controllers.balloon_stuck import StuckEvent, StuckTracker
from mom.plugins.controllers.base import Controller

__all__ = ["Balloon"]

_UUID, _NAME = itemgetter("uuid"), itemgetter("name")


class _Fields:
    """``stats.get(name)`` over an entity's declared fields (upstream entities and table rows alike)."""

    __slots__ = ("guest",)

    def __init__(self, guest: Any) -> None:
        self.guest = guest

    def get(self, name: str) -> Any:
        return getattr(self.guest, name, None)


class Balloon(Controller):
    """Reads the guest control ``balloon_target`` (KiB) and calls ``setVmBalloonTarget``.

    The call is made even when the value is unchanged: thresholds belong in the policy.
    Settings come from ``properties["settings"]`` (the engine's), else the defaults.
    """

    def __init__(self, properties: Any) -> None:
        super().__init__(properties)
        settings = properties.get("settings") or Settings()
        self.floors = FloorSettings(
            min_guest_memory=settings.min_guest_memory,
            min_guest_free=settings.min_guest_free,
            max_change_percent=settings.balloon_max_change_percent,
        )
        self.stuck_tracker = StuckTracker(settings.balloon_stuck_after, settings.balloon_stuck_retry)
        #: seconds, monotonic; the simulator sets its simulated clock here
        self.clock: Callable[[], float] = time.monotonic
        #: guest uuid -> name, for the reports
        self._names: dict[str, str] = {}
        #: the names_of (of _guests_of) _names was last updated from, while nothing else
        #: wrote it since (then it holds just those names: no update needed)
        self._names_from: dict[str, str] | None = None
        #: guest uuid -> the kind of episode it is in (its log level: "info" a clamp,
        #: "error" a refused target, "warning" no balloon size): logged at its start
        #: only; a new kind is a new episode (a refusal after clamps is still said)
        self._episodes: dict[str, str] = {}
        self.clamped_total: Counter[str] = Counter()  #: targets changed, by bound
        self.invalid_total = 0  #: targets refused (not a size)
        self.blind_total = 0  #: targets not set: no balloon statistics
        self.stuck_skipped_total = 0  #: targets not sent to a stuck balloon
        #: the SLA registry, told which balloons are stuck (GuestSla gives it to policies)
        guest_properties = getattr(properties.get("guest_manager"), "guest_properties", None) or {}
        self.sla_registry = guest_properties.get("sla_registry")
        #: the last guests _to_visit read from a table's rows, and what they were read for
        self._known: tuple[Any, Any] | None = None

    # ## The cycle

    def process(self, host: Any, guests: Iterable[Any]) -> None:
        now = self.clock()
        seen: set[str] = set()

        def one(guest: Any) -> None:
            uuid = str(guest.Prop("uuid"))
            seen.add(uuid)
            self._names[uuid] = str(guest.properties.get("name", uuid))
            self._names_from = None
            self.process_guest(guest, uuid, now)

        self.for_each_guest(self._to_visit(guests, seen), one)
        self.stuck_tracker.forget(seen)
        if self.sla_registry is not None:
            self.sla_registry.stuck_balloons = self.stuck_tracker.stuck()
        # the guests gone: set differences (C-level; every guest is in seen)
        for uuid in self._episodes.keys() - seen:
            del self._episodes[uuid]
        # every guest seen has its name here: as many names as guests seen, none is gone
        if len(self._names) != len(seen):
            for uuid in self._names.keys() - seen:
                del self._names[uuid]

    def _to_visit(self, guests: Iterable[Any], seen: set[str]) -> Iterable[Any]:
        """The guests process_guest has work for.  Of the daemon's guests (rows of its
        column store) those without a target and without a watched balloon are only
        noted here, from their row's properties and the control column: no view built."""
        table, rows = getattr(guests, "table", None), getattr(guests, "rows", None)
        if table is None or rows is None or not hasattr(table, "rows_with_control"):
            return guests
        known = self._guests_of(table, rows)
        row_list, uuids, uuid_set, names_of, position_of_row, position_of_uuid = known
        # the guests with work: a target (the control column), or a balloon being
        # followed (the tracker's few, found by uuid); in the rows' order
        positions = {position_of_row[row] for row in table.rows_with_control(rows, "balloon_target").tolist()}
        watched = self.stuck_tracker.watched()
        if watched:
            positions.update(position_of_uuid[uuid] for uuid in watched if uuid in position_of_uuid)
        # what one() and process_guest do for the others (for those visited, the same)
        seen.update(uuid_set)  # a set: its hashes copied, none computed or compared again
        if self._names_from is not names_of or len(self._names) != len(names_of):
            self._names.update(names_of)
            self._names_from = names_of
        if self._episodes:
            visited = {uuids[position] for position in positions}
            for uuid in [uuid for uuid in self._episodes if uuid not in visited and uuid in seen]:
                del self._episodes[uuid]
        view = table.view
        return [view(row_list[position]) for position in sorted(positions)]

    def _guests_of(
        self, table: Any, rows: Any
    ) -> tuple[list[int], list[str], frozenset[str], dict[str, str], dict[int, int], dict[str, int]]:
        """The rows as a list, their guests' uuids (a list and a set), uuid -> name, and the position of each row
        and uuid: kept while the same rows of the same table hold the same guests (no row
        added or removed since: a row's properties are its guest's, set when it is added)."""
        key = (table, getattr(table, "rows_version", None), rows.tobytes())
        known = self._known
        if known is not None and key[1] is not None and known[0] == key:
            return known[1]
        row_list = rows.tolist()
        properties = list(map(table.properties.__getitem__, row_list))
        try:  # every guest has its uuid and name (the daemon's do): C-level passes
            uuids = list(map(str, map(_UUID, properties)))
            names = list(map(str, map(_NAME, properties)))
        except KeyError:
            uuids = [str(p.get("uuid")) for p in properties]
            names = [str(p.get("name", uuid)) for p, uuid in zip(properties, uuids)]
        found = (
            row_list,
            uuids,
            frozenset(uuids),
            dict(zip(uuids, names)),
            dict(zip(row_list, range(len(row_list)))),
            dict(zip(uuids, range(len(uuids)))),
        )
        self._known = (key, found)
        return found

    def process_guest(self, guest: Any, uuid: str, now: float) -> None:
        """One guest: follow its balloon, then clamp and apply its target if the policy set one."""
        value = guest.GetControl("balloon_target")
        if value is None:
            self._episodes.pop(uuid, None)
            if self.stuck_tracker.watching(uuid):
                current = _int(getattr(guest, "balloon_cur", None))
                if current is not None:
                    self._report(self.stuck_tracker.observe(uuid, current, now))
            return
        fields = _Fields(guest)
        name = self._names[uuid]
        current = _int(fields.get("balloon_cur"))
        if current is not None:
            self._report(self.stuck_tracker.observe(uuid, current, now))
        try:
            requested = check_target(value)
        except InvalidTarget as error:
            self.invalid_total += 1
            self._once(uuid, "error", "Balloon target of guest %s refused, nothing applied: %s", name, error)
            return
        sizes = GuestSizes(
            balloon_cur=current,
            balloon_max=_int(fields.get("balloon_max")),
            balloon_min=_int(fields.get("balloon_min")),
            sla_guarantee=_int(fields.get("sla_guarantee")),
            used=used_memory(fields),
        )
        if sizes.balloon_cur is None or sizes.balloon_max is None:
            self.blind_total += 1
            self._once(uuid, "warning", "Guest %s reports no balloon size: balloon target %s not applied", name, value)
            return
        clamp = clamp_target(requested, sizes, self.floors)
        if clamp.clamped:
            self.clamped_total.update(clamp.reasons)
            self._once(
                uuid,
                "info",
                "Balloon target of guest %s clamped from %s to %s KiB (floor %s KiB, cap %s KiB/cycle: %s)",
                name,
                requested,
                clamp.target,
                clamp.floor,
                clamp.cap,
                ", ".join(clamp.reasons),
            )
        else:
            self._episodes.pop(uuid, None)
        if not self.stuck_tracker.may_push(uuid, now):
            self.stuck_skipped_total += 1
            self.logger.debug("Guest %s: balloon stuck, target %s not sent before the retry", name, clamp.target)
            return
        self.logger.info("Ballooning guest:%s from %s to %s", name, sizes.balloon_cur, clamp.target)
        self.apply(name, {"balloon_target": clamp.target}, "setVmBalloonTarget", guest.Prop("uuid"), clamp.target)
        self.stuck_tracker.pushed(uuid, clamp.target, sizes.balloon_cur, now)

    def _once(self, uuid: str, level: str, message: str, *args: Any) -> None:
        if self._episodes.get(uuid) != level:
            self._episodes[uuid] = level
            getattr(self.logger, level)(message, *args)

    def _report(self, event: StuckEvent | None) -> None:
        if event is None:
            return
        name = self._names.get(event.guest, event.guest)
        if event.kind == "stuck":
            self.logger.warning(
                "Balloon of guest %s is stuck at %s KiB: no progress towards %s KiB for %.0f s; "
                "not pushed, its memory counts as not reclaimable, retry in %.0f s",
                name,
                event.size,
                event.target,
                event.seconds,
                self.stuck_tracker.retry_after,
            )
        else:
            self.logger.info("Balloon of guest %s moves again (stuck for %.0f s)", name, event.seconds)

    # ## What others read

    def stuck_guests(self) -> frozenset[str]:
        """UUIDs of the guests whose balloon is stuck (their memory is not reclaimable)."""
        return self.stuck_tracker.stuck()

    def statistics(self) -> dict[str, Any]:
        return {
            "clamped_targets": dict(sorted(self.clamped_total.items())),
            "invalid_targets": self.invalid_total,
            "targets_without_balloon_info": self.blind_total,
            "stuck_guests": sorted(self._names.get(u, u) for u in self.stuck_tracker.stuck()),
            "stuck_marked_total": self.stuck_tracker.marked_total,
            "stuck_retries_total": self.stuck_tracker.retries_total,
            "stuck_skipped_targets": self.stuck_skipped_total,
        }


def _int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError, OverflowError):
        return None
