"""A batched collection round: every guest's sample into the column store in one pass.

The guest manager's round (:meth:`~mom.runtime.guest_manager.GuestManager.collect_guests`)
hands its monitors to :func:`collect_batched` when every guest has the same collectors
and each is ``batchable`` (the shipped guest collectors).  Then, collector after
collector, the values of all the guests are gathered field by field (a collector class
may give them itself with ``collect_columns(collectors)``; otherwise each one's
``collect()`` is asked, but for those its class's ``known_samples(collectors, alive)``
says are the same as last time), merged as :meth:`Monitor.collect <mom.runtime.monitor.Monitor.collect>`
merges one guest's (an earlier non-None value wins; optional fields missing are None;
a mandatory one missing leaves the guest not ready) and stored with one
:meth:`~mom.runtime.table.SampleTable.append_columns`.  No per-guest dict is merged,
and no row is written field by field.

Upstream-style collectors (not ``batchable``), a plotter, or monitors that differ fall
back to the guest-by-guest path (the function returns False).
"""

from __future__ import annotations

import logging
from operator import attrgetter, itemgetter
from typing import Any, Sequence

from mom.dsl.sandbox import MISSING
from mom.errors import CollectionError, FatalError, HypervisorInterfaceError
from mom.plugins.collectors.base import Peers, transpose
from mom.plugins.collectors.walks import all_attr_is, holds, layout_of, layouts_are
from mom.runtime.monitor import ROW_OF, TERMINATING

__all__ = ["collect_batched", "batchable", "BatchedRounds"]

log = logging.getLogger("mom.GuestManager")

_COLLECTORS = attrgetter("collectors")
#: what a plan needs to stay the same in each monitor (see _Plan.fits)
_LAYOUT = ("collectors", "fields", "optional_fields", "table", "row", "plotter")


def batchable(monitors: Sequence[Any]) -> bool:
    """Whether these monitors can be collected in one batched round."""
    if not monitors:
        return False
    first = monitors[0]
    classes = _classes(first)
    if classes is None or first.table is None or not all(getattr(cls, "batchable", False) for cls in classes):
        return False
    table = first.table
    for monitor in monitors:
        if monitor.plotter is not None or monitor.table is not table or _classes(monitor) != classes:
            return False
    return True


def _classes(monitor: Any) -> tuple[type, ...] | None:
    """The classes of a monitor's collectors (remembered: they are made once, with it)."""
    collectors = monitor.collectors
    if collectors is None:
        return None
    known = monitor.__dict__.get("_collector_classes")
    if known is None or known[0] is not collectors:
        known = monitor._collector_classes = (collectors, tuple(type(collector) for collector in collectors))
    return known[1]


def _columns_by_collect(
    monitors: Sequence[Any], position: int, alive: list[bool], collectors: list[Any]
) -> dict[str, list[Any]]:
    """Each monitor's collector ``position`` (``collectors``, in the monitors' order) asked
    with ``collect()``, errors as Monitor.collect."""
    count = len(monitors)
    results: list[Any] = [None] * count
    # a class may say which of its guests' samples are the same as last time
    # (``known_samples(collectors, alive)``: a sample, or MISSING to ask collect())
    known_samples = getattr(type(collectors[0]), "known_samples", None)
    known = None
    if known_samples is not None:
        known = known_samples(collectors, alive)
        if known is not None and all(alive) and not _has_missing(known):
            return transpose(known)  # every guest's sample the same as last time
    for index, monitor in enumerate(monitors):
        if not alive[index]:
            continue
        if known is not None and known[index] is not MISSING:
            results[index] = known[index]
            continue
        collector = collectors[index]
        try:
            results[index] = collector.collect()
        except (CollectionError, HypervisorInterfaceError) as error:
            message = getattr(error, "msg", None) or str(error)
            level = logging.WARNING if monitor.ready is not False else logging.DEBUG
            monitor.logger.log(level, "%s: Collection error: %s", monitor.name, message)
        except FatalError as error:
            monitor._set_not_ready(f"Fatal Collector error: {error.msg}", logging.ERROR)
            monitor.terminate()
            alive[index] = False
        except Exception:
            monitor.logger.exception("%s: Unexpected collection error in %s", monitor.name, type(collector).__name__)
    return transpose(results)


def _has_missing(values: list[Any]) -> bool:
    """Whether a column has an absent value (by identity: no ``==`` called)."""
    return holds(values, MISSING)


def _merge(merged: dict[str, list[Any]], columns: dict[str, list[Any]]) -> None:
    """Add one collector's columns; where a field is set twice the earlier non-None value wins."""
    for name, values in columns.items():
        earlier = merged.get(name)
        if earlier is None:
            merged[name] = list(values)
            continue
        for index, value in enumerate(values):
            if value is not MISSING and (earlier[index] is None or earlier[index] is MISSING):
                earlier[index] = value


class _Plan:
    """What a batched round of these monitors needs that stays the same while they do:
    their collectors by position, their rows, their fields (checked once, with
    :func:`batchable`); kept between rounds by :class:`BatchedRounds`."""

    __slots__ = ("monitors", "layouts", "rows", "table", "by_position", "required", "optional")

    def __init__(self, monitors: Sequence[Any], required: Any, optional: Any) -> None:
        self.monitors = list(monitors)
        #: what the plan depends on: each monitor, then its _LAYOUT attributes (see fits)
        self.layouts = layout_of(monitors, _LAYOUT)
        self.rows = list(map(ROW_OF, monitors))
        self.table = monitors[0].table
        # a tuple of a kind that remembers what its collectors were made with
        self.by_position = [
            Peers(map(itemgetter(position), map(_COLLECTORS, monitors)))
            for position in range(len(monitors[0].collectors))
        ]
        self.required = required
        self.optional = optional

    def fits(self, monitors: Sequence[Any]) -> bool:
        """Whether these are the plan's monitors, unchanged: the same objects in order,
        each with the collectors, fields, table, row and (no) plotter it had (one walk
        reading each monitor once, comparing by identity first, as lists do)."""
        return layouts_are(monitors, _LAYOUT, self.layouts)


class BatchedRounds:
    """The guest manager's batched rounds: the last round's plan kept for the next."""

    def __init__(self) -> None:
        self._plan: _Plan | None = None

    def plan(self, monitors: Sequence[Any]) -> _Plan | None:
        """The plan of a batched round of ``monitors``; None if they cannot be batched."""
        plan = self._plan
        if plan is not None and plan.fits(monitors):
            return plan
        self._plan = plan = _new_plan(monitors)
        return plan


def _new_plan(monitors: Sequence[Any]) -> _Plan | None:
    if not batchable(monitors):
        return None
    first = monitors[0]
    optional = first.known_fields(first.collectors)
    required = first.fields
    for monitor in monitors[1:]:
        if monitor.fields is None or monitor.optional_fields is not optional:
            monitor.known_fields(monitor.collectors)  # a new monitor: asked once
            if monitor.optional_fields != optional or monitor.fields != required:
                return None  # collectors whose fields differ by guest: one by one
            monitor.optional_fields = optional  # one set shared: the check above is `is` from now on
        elif monitor.fields != required:
            return None
    return _Plan(monitors, required, optional)


def collect_batched(monitors: Sequence[Any], rounds: BatchedRounds | None = None) -> bool:
    """Collect ``monitors`` in one batched round; False (nothing done) if they cannot be.
    ``rounds`` keeps what the next round of the same monitors can use again."""
    plan = (rounds or BatchedRounds()).plan(monitors)
    if plan is None:
        return False
    count = len(monitors)
    alive = [not monitor._terminate for monitor in monitors]
    required, optional = plan.required, plan.optional
    merged: dict[str, list[Any]] = {}
    for position, collectors in enumerate(plan.by_position):
        producer = getattr(type(collectors[0]), "collect_columns", None)
        columns = None
        if producer is not None:
            columns = producer(collectors, alive)
        if columns is None:
            columns = _columns_by_collect(monitors, position, alive, collectors)
        _merge(merged, columns)
    ready = alive
    for name in required:
        values = merged.get(name)
        if values is None:
            ready = [False] * count
            break
        if _has_missing(values):
            ready = [ok and value is not MISSING for ok, value in zip(ready, values)]
    for name in optional:
        values = merged.get(name)
        if values is None:
            merged[name] = [None] * count
        elif _has_missing(values):
            merged[name] = [None if value is MISSING else value for value in values]
    table = plan.table
    with table.lock:
        # a monitor dropped meanwhile: its row may already belong to another guest
        if all(ready) and not any(map(TERMINATING, monitors)):
            chosen: Sequence[int] = range(count)
        else:
            chosen = [index for index in range(count) if ready[index] and not monitors[index]._terminate]
        if len(chosen) == count:
            table.append_columns(plan.rows, merged)
        elif chosen:
            table.append_columns(
                [monitors[index].row for index in chosen],
                {name: [values[index] for index in chosen] for name, values in merged.items()},
            )
    if len(chosen) == count and all_attr_is(monitors, "ready", True):
        return True  # every guest stored, and ready already
    for index, monitor in enumerate(monitors):
        if ready[index] and not monitor._terminate:
            if monitor.ready is not True:
                monitor.became_ready()
        elif alive[index] and not monitor._terminate:
            missing = {name for name in required if merged.get(name, [MISSING] * count)[index] is MISSING}
            monitor._set_not_ready("Incomplete data: missing %s" % missing, logging.INFO)
    return True
