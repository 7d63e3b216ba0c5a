"""The SLA builtins of the policy language: ``sla_balloon``: every guest's balloon target
in one call, through the SLA allocator (the tag test ``has_word`` is a plain builtin,
:mod:`mom.dsl.builtins`).

``(sla_balloon Guests available host_free threshold band [tax_rate step_cap dead_band])``
(``available`` may be ``nil``: the guests' current sizes in all plus ``host_free -
threshold - band``, what the host can give them while keeping the top of the band
free, where reclaim stops) reads the guests' columns, calls the allocator once (:mod:`mom.sla.allocator`; the fast
path passes its Cython twin, which gives the same result to the bit), sets the control
``balloon_target`` of each guest whose target changes, and returns a
:class:`BalloonResult` (``.mode``, ``.changed``, ``.shortfall``...).  All sizes are KiB.

Per guest it reads (the newest sample; README "SLA classes", "The SLA policy set"):

=====================  ======================================  ===========================
field                  allocator input                         when absent
=====================  ======================================  ===========================
``balloon_max``        ceiling                                 guest held (excluded)
``balloon_cur``        current size                            guest held (excluded)
``mem_unused``         idle memory; used = balloon_cur - it    guest held (excluded)
``balloon_min``        floor                                   0
``sla_guarantee``      the class guarantee (GuestSla)          ``balloon_min``
``sla_reclaim_rank``   0 reclaimed first .. 63 never           2 (standard's)
``sla_priority``       0..100                                  50
``sla_margin``         free memory kept above what it uses     0
=====================  ======================================  ===========================

A held guest is never inflated blind: its memory counts as given (at its current size,
or at ``balloon_max`` when that is unknown too) and no target is set for it.

The hysteresis state (the side of the pressure band last crossed) is kept by the
:class:`SlaBalloon` object from one call to the next: every program has its own (see
:func:`program_functions`), so a policy reload starts from "normal".  ``last`` keeps the
last call's columns for the operators' view (``getSlaStatus``).
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Iterable, NamedTuple

import numpy as np
import numpy.typing as npt

from mom.dsl.layout import KIND_ROWS, POLICY_KIND, TAG_BOOL, TAG_FLOAT, TAG_INT
from mom.errors import PolicyError
from mom.sla.allocator import MAX_KIB, MAX_PRIORITY, PLATINUM, RANKS, Mode, PressureState
from mom.sla.allocator import allocate as reference_allocate

__all__ = [
    "BALLOON_FIELDS",
    "BalloonResult",
    "SlaBalloon",
    "SlaColumns",
    "program_functions",
    "PROGRAM_FUNCTION_NAMES",
    "read_columns",
]

#: the guest fields sla_balloon reads, in the order of :class:`SlaColumns`
BALLOON_FIELDS = (
    "balloon_max",
    "balloon_min",
    "balloon_cur",
    "mem_unused",
    "sla_guarantee",
    "sla_reclaim_rank",
    "sla_priority",
    "sla_margin",
)
#: the rank of a guest without ``sla_reclaim_rank`` (the default class, standard)
DEFAULT_RANK = RANKS["standard"]
DEFAULT_PRIORITY = 50
MODE_NAMES = {Mode.HOLD: "hold", Mode.RECLAIM: "reclaim", Mode.RELEASE: "release"}
#: guests named in one warning, at most
_NAMED = 10

log = logging.getLogger("mom.sla")


# ## Reading the columns


class SlaColumns(NamedTuple):
    """The guests' fields as float64 arrays (NaN: absent), one entry per guest."""

    values: dict[str, npt.NDArray[np.float64]]
    entities: list[Any]  # the guests, to set controls on (GuestSet: built lazily, see ``entity``)
    table: Any  # the column store of a GuestSet, else None
    rows: Any  # its rows, else None

    def entity(self, index: int) -> Any:
        if self.table is not None:
            return self.table.view(int(self.rows[index]))
        return self.entities[index]

    def name(self, index: int) -> str:
        if self.table is not None:
            return str(self.table.names[int(self.rows[index])])
        properties = getattr(self.entities[index], "properties", None) or {}
        return str(properties.get("name", index))

    def names(self) -> list[str]:
        if self.table is not None:
            names = self.table.names
            return [str(names[row]) for row in self.rows.tolist()]
        return [self.name(index) for index in range(len(self.entities))]


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return float("nan")
    return float(value)


def _rows_columns(guests: Any) -> SlaColumns:
    """A GuestSet's fields straight from the column store's newest samples (no entity)."""
    table = guests.table
    rows = np.asarray(guests.rows, dtype=np.intp)
    view = table.column_view()
    has_sample = view.count[rows] > 0
    values = {}
    for name in BALLOON_FIELDS:
        field = view.field_index.get(name)
        column = np.full(len(rows), np.nan)
        if field is not None:
            tags = view.latest_tags[field, rows]
            payload = view.latest_payload[field, rows]
            ints = ((tags == TAG_INT) | (tags == TAG_BOOL)) & has_sample
            floats = (tags == TAG_FLOAT) & has_sample
            column[ints] = payload[ints]
            column[floats] = payload[floats].view(np.float64)
        values[name] = column
    return SlaColumns(values, [], table, rows)


def read_columns(guests: Iterable[Any]) -> SlaColumns:
    """The fields of :data:`BALLOON_FIELDS` of every guest, in the order iterated."""
    if type(guests).__dict__.get(POLICY_KIND) == KIND_ROWS:
        return _rows_columns(guests)
    entities = list(guests)
    values = {name: np.full(len(entities), np.nan) for name in BALLOON_FIELDS}
    for index, guest in enumerate(entities):
        fields = getattr(guest, "_policy_values", None)
        if fields is None:
            fields = {name: getattr(guest, name, None) for name in BALLOON_FIELDS}
        for name in BALLOON_FIELDS:
            values[name][index] = _number(fields.get(name))
    return SlaColumns(values, entities, None, None)


def _kib(column: npt.NDArray[np.float64], absent: float) -> npt.NDArray[np.int64]:
    """Whole KiB within 0..MAX_KIB, ``absent`` for NaN."""
    filled = np.where(np.isnan(column), absent, column)
    return np.clip(np.floor(filled), 0, MAX_KIB).astype(np.int64)


def allocator_inputs(columns: SlaColumns) -> tuple[dict[str, npt.NDArray[Any]], npt.NDArray[np.bool_]]:
    """The allocator's per-guest columns from the guests' fields, and which are held."""
    v = columns.values
    excluded = np.isnan(v["balloon_max"]) | np.isnan(v["balloon_cur"]) | np.isnan(v["mem_unused"])
    balloon_max = _kib(v["balloon_max"], 0)
    # an unknown current size counts as all of balloon_max (nothing is set for it anyway)
    current = np.minimum(_kib(v["balloon_cur"], MAX_KIB), balloon_max)
    no_size = np.isnan(v["balloon_max"])
    current = np.where(no_size, _kib(v["balloon_cur"], 0), current)
    balloon_max = np.where(no_size, current, balloon_max)
    balloon_min = np.minimum(_kib(v["balloon_min"], 0), balloon_max)
    guarantee = np.clip(_kib(v["sla_guarantee"], -1), balloon_min, balloon_max)
    guarantee = np.where(np.isnan(v["sla_guarantee"]), balloon_min, guarantee)
    idle = np.minimum(_kib(v["mem_unused"], 0), current)
    used = current - idle
    margin = _kib(v["sla_margin"], 0)
    rank = np.clip(np.where(np.isnan(v["sla_reclaim_rank"]), DEFAULT_RANK, v["sla_reclaim_rank"]), 0, PLATINUM)
    priority = np.clip(np.where(np.isnan(v["sla_priority"]), DEFAULT_PRIORITY, v["sla_priority"]), 0, MAX_PRIORITY)
    inputs = {
        "balloon_max": balloon_max,
        "balloon_min": balloon_min,
        "guarantee": guarantee,
        "used": used,
        "margin": margin,
        "reclaim_rank": rank.astype(np.int64),
        "priority": priority.astype(np.int64),
        "idle": idle,
        "current": current,
        "excluded": excluded,
    }
    return inputs, excluded


# ## The builtin


class BalloonResult:
    """What ``sla_balloon`` returns: a policy reads ``.mode`` ("hold", "reclaim",
    "release"), ``.changed``, ``.shrunk``, ``.grown`` (guests), ``.shortfall`` (KiB of
    guarantees not kept), ``.given_up`` (guests whose guarantee is not kept), ``.unmet``
    (KiB even the fixed floors lack)."""

    __slots__ = ("_policy_values",)

    def __init__(self, values: dict[str, Any]) -> None:
        self._policy_values = values

    def __repr__(self) -> str:
        return f"<sla_balloon {self._policy_values}>"


class SlaBalloon:
    """``sla_balloon`` of one program: the allocator it calls and the state it carries."""

    #: the control set on each guest whose target changes
    CONTROL = "balloon_target"

    def __init__(self, allocate: Callable[..., Any]) -> None:
        self.allocate = allocate
        self.state = PressureState.NORMAL
        #: the last call (columns, inputs, host values, guest names, Allocation), for the
        #: operators' view (mom.sla.status)
        self.last: dict[str, Any] | None = None
        self._short = False  # guarantees not kept: warned until they are again

    def __call__(
        self,
        guests: Any,
        available: Any,
        host_free: Any,
        threshold: Any,
        band: Any,
        tax_rate: Any = 0.75,
        step_cap: Any = 0.05,
        dead_band: Any = 0.0025,
    ) -> BalloonResult:
        if guests is None or isinstance(guests, (str, bytes, int, float)):
            raise PolicyError(f"sla_balloon: the first argument must be the guests (Guests), not {guests!r}")
        host = []
        for name, value in (("available", available), ("host_free", host_free), ("threshold", threshold), ("band", band)):
            number = _number(value)
            if number != number and not (name == "available" and value is None):  # NaN: not a number
                raise PolicyError(f"sla_balloon: {name} must be a number of KiB, not {value!r}")
            host.append(max(0, int(number)) if number == number else None)
        columns = read_columns(guests)
        inputs, excluded = allocator_inputs(columns)
        if host[0] is None:
            host[0] = max(0, int(inputs["current"].sum()) + host[1] - host[2] - host[3])
        try:
            result = self.allocate(
                **inputs,
                available=host[0],
                host_free=host[1],
                threshold=host[2],
                band=host[3],
                state=self.state,
                tax_rate=tax_rate,
                step_cap=step_cap,
                dead_band=dead_band,
            )
        except (TypeError, ValueError) as error:
            raise PolicyError(f"sla_balloon: {error}") from None
        self.state = result.state
        target = result.target
        changed = np.flatnonzero((target != inputs["current"]) & ~excluded)
        # shrinks first (a cycle of the allocator only shrinks or only grows; the order
        # still says which the controllers should apply first)
        order = sorted(changed.tolist(), key=lambda i: not bool(result.shrink[i]))
        for index in order:
            columns.entity(index).Control(self.CONTROL, int(target[index]))
        names = columns.names()
        self.last = {
            "columns": columns,
            "inputs": inputs,
            "result": result,
            "names": names,
            "host": dict(zip(("available", "host_free", "threshold", "band"), host)),
        }
        self._warn(result, names, host[0])
        return BalloonResult(
            {
                "mode": MODE_NAMES[Mode(result.mode)],
                "changed": len(order),
                "shrunk": int(np.count_nonzero(result.shrink & ~excluded)),
                "grown": int(np.count_nonzero(result.grow & ~excluded)),
                "shortfall": int(result.shortfall.sum()),
                "given_up": len(result.given_up),
                "unmet": int(result.unmet),
            }
        )


    def _warn(self, result: Any, names: list[str], available: int) -> None:
        """One WARNING when guarantees stop fitting, one INFO when they fit again."""
        shortfall = int(result.shortfall.sum())
        if shortfall and not self._short:
            given_up = [names[int(i)] for i in result.given_up[:_NAMED]]
            more = len(result.given_up) - len(given_up)
            log.warning(
                "SLA guarantees exceed what the host can give its guests (%d KiB): %d KiB of the"
                " guarantees of %d guest(s) cannot be kept; given up first: %s%s",
                available,
                shortfall,
                len(result.given_up),
                ", ".join(given_up),
                f" and {more} more" if more > 0 else "",
            )
        elif self._short and not shortfall:
            log.info("SLA guarantees fit the host again: every guarantee is kept")
        self._short = bool(shortfall)


#: the functions every program binds afresh in its root scope (state of their own)
PROGRAM_FUNCTION_NAMES = ("sla_balloon",)


def program_functions(allocate: Callable[..., Any] | None = None) -> dict[str, Any]:
    """A program's own functions; ``allocate`` is the allocator twin (the reference's
    by default; the fast path passes its Cython twin)."""
    return {"sla_balloon": SlaBalloon(allocate or reference_allocate)}
