"""IoTune controller: sends the disks whose IO limits the policy changed."""

from __future__ import annotations

from typing import Any, Iterable

from mom.plugins.collectors import io_tune
from mom.plugins.controllers.base import Controller

__all__ = ["IoTune", "changed_disks"]


def _limits(entry: Any) -> Any:
    # io_tune_current holds state dicts {name, path, ioTune}; accept bare limit dicts too
    if isinstance(entry, dict) and "ioTune" in entry:
        return entry["ioTune"]
    return entry


def changed_disks(guest: Any) -> list[dict[str, Any]] | None:
    """The ``ioTune()`` of every disk whose limits differ from the collected ones.

    None when the guest has no IO-tune data (``io_tune`` or ``io_tune_current``
    missing or empty): the controller skips it.  ``mom-policy eval`` reports this too.
    """
    return _changed(getattr(guest, "io_tune", None), getattr(guest, "io_tune_current", None))


def _changed(tunes: Any, current: Any) -> list[dict[str, Any]] | None:
    if not tunes or not current:
        return None
    changed = []
    for index, tune in enumerate(tunes):
        # an IoTune's ioTune()["ioTune"] is its _current: compare before building the dict
        limits = getattr(tune, "_current", None)
        if limits is None:
            limits = tune.ioTune()["ioTune"]
        if index >= len(current) or limits != _limits(current[index]):
            changed.append(tune.ioTune())
    return changed


class IoTune(Controller):
    """Guest fields ``io_tune`` and ``io_tune_current``: every disk whose limits now
    differ from the collected ones goes into one ``setVmIoTune`` call per guest.
    Guests without IO-tune data are skipped.
    """

    def process(self, host: Any, guests: Iterable[Any]) -> None:
        self.for_each_guest(self._candidates(guests), self.process_guest)

    def _candidates(self, guests: Iterable[Any]) -> Iterable[Any]:
        """The daemon's guests whose disks changed, found from the columns (a view only
        for those); other guests all (each is compared in process_guest)."""
        table, rows = getattr(guests, "table", None), getattr(guests, "rows", None)
        if table is None or rows is None or not hasattr(table, "latest_column"):
            return guests
        if not hasattr(rows, "tolist"):
            rows = list(rows)
        # the GuestSet's array as it is: the columns index it without a list between
        tunes = table.latest_column(rows, "io_tune")
        current = table.latest_column(rows, "io_tune_current")
        view = table.view
        # those surely unchanged (most, each round) left out in one pass; the rest compared
        return [
            view(int(rows[position]))
            for position in io_tune.disks_maybe_changed(tunes, current)
            if _changed(tunes[position], current[position])
        ]

    def process_guest(self, guest: Any) -> None:
        changed = changed_disks(guest)
        if changed:
            name = guest.properties.get("name")
            self.logger.info("Setting IO tune of guest %s: %r", name, changed)
            self.apply(name, {"io_tune": changed}, "setVmIoTune", guest.Prop("uuid"), changed)
