"""The SLA builtins of the policy language: ``sla_balloon``: every guest's balloon target
in one call, through the SLA allocator (the tag test ``has_word`` is a plain builtin,
:mod:`mom.dsl.builtins`).

``(sla_balloon Guests available host_free threshold band [tax_rate step_cap dead_band rebalance keep_free fault_limit host stall_limit])``
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
``balloon_stuck``      1: stuck balloon, held (not reclaimable) 0
``major_fault_delta``  major faults since the last sample      not faulting
                       (GuestPressure): over ``fault_limit``
                       the guest is not squeezed further
=====================  ======================================  ===========================

Inside the band the allocator holds every target; so that memory still moves from guests
above their allocation to guests below theirs (after a peak: the classes reclaimed first
get memory back), a cycle that ends in the band with at least ``band / 4`` KiB both
ways makes the next one reclaim from the first as if the threshold were at the top of
the band (``.mode`` "rebalance"), and the one after gives back from the memory then free
above it.  ``rebalance`` 0 turns that off (with ballooning off, so nothing is reclaimed).
``keep_free`` (KiB, or ``nil``: off) never gives floors up below what a guest uses plus
that much (``balloon_min`` raised to it), as the Balloon controller's safety floors
enforce (``min-guest-free``): targets it would raise again are not planned; the
shortfall is still that of the SLA guarantees.  ``fault_limit`` (or ``nil``): a guest
with more major faults than that since its last sample (GuestPressure's
``major_fault_delta``) is not squeezed further (its current size a floor).  ``host`` and
``stall_limit`` (or ``nil``): while the host's memory stall (HostPressure's
``mem_some_avg10``, percent) is over the limit the host counts as short of memory (free
memory below the threshold), whatever its free memory says.

A held guest is never inflated blind: its memory counts as given (at its current size,
or at ``balloon_max`` when that is unknown too) and no target is set for it.

The hysteresis state (the side of the pressure band last crossed) is kept by the
:class:`SlaBalloon` object from one call to the next: every program has its own (see
:func:`program_functions`), so a policy reload starts from "normal".  ``last`` keeps the
last call's columns for the operators' view (``getSlaStatus``).
"""

from __future__ import annotations

import logging
import math
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping, NamedTuple

import numpy as np
import numpy.typing as npt

from mom.dsl.builtins_sla_resources import REFERENCE_KERNELS, RESOURCE_FUNCTION_NAMES, Kernels, resource_functions
from mom.dsl.guest_columns import set_row_controls, write_controls
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
    "balloon_stuck",
    "major_fault_delta",
)
#: the row of BALLOON_FIELDS that says how hard a guest faults (not an allocator input)
_FAULTS = BALLOON_FIELDS.index("major_fault_delta")
#: the rank of a guest without ``sla_reclaim_rank`` (the default class, standard)
DEFAULT_RANK = RANKS["standard"]
DEFAULT_PRIORITY = 50
MODE_NAMES = {Mode.HOLD: "hold", Mode.RECLAIM: "reclaim", Mode.RELEASE: "release"}
#: guests named in one warning, at most
_NAMED = 10

log = logging.getLogger("mom.sla")


# ## Reading the columns


class SlaColumns(NamedTuple):
    """The guests' fields, one row of ``matrix`` per field of :data:`BALLOON_FIELDS`
    (float64, NaN: absent), one column per guest."""

    matrix: npt.NDArray[np.float64]
    entities: list[Any]  # the guests, to set controls on (a GuestSet's: none, see ``entity``)
    table: Any  # the column store of a GuestSet, else None
    rows: Any  # its rows, else None

    @property
    def values(self) -> dict[str, npt.NDArray[np.float64]]:
        return {name: self.matrix[k] for k, name in enumerate(BALLOON_FIELDS)}

    def entity(self, index: int) -> Any:
        if self.table is not None:
            return self.table.view(int(self.rows[index]))
        return self.entities[index]

    def names(self, table_names: list[Any] | None = None) -> list[str]:
        """The guests' names, in order (``table_names``: a copy of the store's, taken
        when the columns were read)."""
        if self.table is not None:
            names = self.table.names if table_names is None else table_names
            return [str(names[row]) for row in self.rows.tolist()]
        return [str((getattr(e, "properties", None) or {}).get("name", i)) for i, e in enumerate(self.entities)]


def _hold_faulting(inputs: dict[str, Any], faults: Any, fault_limit: Any) -> dict[str, Any]:
    """A guest faulting harder than ``fault_limit`` (major faults since its last sample)
    is not squeezed further: its current size becomes a floor (it may still grow)."""
    limit = _number(fault_limit)
    if not limit >= 0:
        raise PolicyError(f"sla_balloon: fault_limit must be a number of faults, not {fault_limit!r}")
    faulting = np.nan_to_num(faults, nan=0.0) > limit
    if not faulting.any():
        return inputs
    minimum = np.where(faulting, np.maximum(inputs["balloon_min"], inputs["current"]), inputs["balloon_min"])
    return {**inputs, "balloon_min": minimum, "guarantee": np.maximum(inputs["guarantee"], minimum)}


def _stalled(host: Any, stall_limit: Any) -> bool:
    """Whether the host's memory stall (HostPressure's ``mem_some_avg10``, percent of
    time; absent on a kernel without PSI or without the collector) is over the limit."""
    limit = _number(stall_limit)
    if not limit >= 0:
        raise PolicyError(f"sla_balloon: stall_limit must be a percentage, not {stall_limit!r}")
    try:
        stall = _number(getattr(host, "mem_some_avg10", None))
    except Exception:  # a field the host's collectors do not declare
        return False
    return stall == stall and stall > limit


def _number(value: Any) -> float:
    """A finite number as a float; NaN for anything else (infinities included: the
    callers say which argument is not a number of KiB)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return float("nan")
    try:
        number = float(value)
    except OverflowError:  # an int past a float
        return float("nan")
    return number if math.isfinite(number) else float("nan")


def gather_numbers(
    latest_tags: Any, latest_payload: Any, count: Any, rows: npt.NDArray[np.intp], fields: npt.NDArray[np.intp]
) -> npt.NDArray[np.float64]:
    """Each row's newest value of each of ``fields`` (-1: not declared) as a number,
    ``[field, row]``: an int, a bool or a float; NaN for anything else, an absent value
    or a row without samples.  (The fast path has a Cython twin.)"""
    matrix = np.full((len(fields), len(rows)), np.nan)
    known = np.flatnonzero(fields >= 0)
    if len(known):
        # one gather for every field: [field, guest]
        tags = latest_tags.take(fields[known], axis=0).take(rows, axis=1)  # (faster than np.ix_)
        payload = latest_payload.take(fields[known], axis=0).take(rows, axis=1)
        has_sample = count[rows] > 0
        ints = ((tags == TAG_INT) | (tags == TAG_BOOL)) & has_sample
        floats = (tags == TAG_FLOAT) & has_sample
        gathered = np.where(ints, payload, np.nan)
        matrix[known] = np.where(floats, payload.view(np.float64), gathered)
    return matrix


def _rows_columns(guests: Any, gather: Callable[..., Any] = gather_numbers) -> SlaColumns:
    """A GuestSet's fields straight from the column store's newest samples (no entity)."""
    table = guests.table
    rows = np.asarray(guests.rows, dtype=np.intp)
    view = table.column_view()
    fields = np.array([view.field_index.get(name, -1) for name in BALLOON_FIELDS], dtype=np.intp)
    return SlaColumns(gather(view.latest_tags, view.latest_payload, view.count, rows, fields), [], table, rows)


def read_columns(guests: Iterable[Any], gather: Callable[..., Any] = gather_numbers) -> SlaColumns:
    """The fields of :data:`BALLOON_FIELDS` of every guest, in the order iterated
    (``gather``: :func:`gather_numbers` or its twin)."""
    if type(guests).__dict__.get(POLICY_KIND) == KIND_ROWS:
        return _rows_columns(guests, gather)
    entities = list(guests)
    matrix = np.full((len(BALLOON_FIELDS), len(entities)), np.nan)
    for index, guest in enumerate(entities):
        fields = getattr(guest, "_policy_values", None)
        if fields is None:
            fields = {name: getattr(guest, name, None) for name in BALLOON_FIELDS}
        for k, name in enumerate(BALLOON_FIELDS):
            matrix[k, index] = _number(fields.get(name))
    return SlaColumns(matrix, entities, None, None)


#: per field: the value an absent one counts as (before the per-guest rules below)
_ABSENT = np.array([0, 0, 0, 0, 0, DEFAULT_RANK, DEFAULT_PRIORITY, 0, 0, 0], dtype=np.float64)[:, None]
#: per field: the largest value (KiB fields: MAX_KIB)
_HIGHEST = np.array([MAX_KIB] * 5 + [PLATINUM, MAX_PRIORITY, MAX_KIB, 1, MAX_KIB], dtype=np.float64)[:, None]


def allocator_inputs(columns: SlaColumns) -> tuple[dict[str, npt.NDArray[Any]], npt.NDArray[np.bool_]]:
    """The allocator's per-guest columns from the guests' fields, and which are held.

    Whole KiB (rounded down) within the allocator's ranges: ``balloon_cur`` and
    ``balloon_min`` at most ``balloon_max``, the guarantee between ``balloon_min`` and
    ``balloon_max``, ``mem_unused`` at most ``balloon_cur``.
    """
    absent = np.isnan(columns.matrix)
    filled = np.where(absent, _ABSENT, columns.matrix)
    np.floor(filled, out=filled)
    np.maximum(filled, 0, out=filled)
    np.minimum(filled, _HIGHEST, out=filled)
    m = filled.astype(np.int64)
    balloon_max, balloon_min, current, idle, guarantee, rank, priority, margin, stuck, _faults = m
    # no balloon or memory statistics, or a stuck balloon: held where it is
    excluded = absent[0] | absent[2] | absent[3] | (stuck > 0)
    if absent[0].any():
        # no balloon_max: the guest counts at its current size (nothing is set for it)
        balloon_max = np.where(absent[0], current, balloon_max)
    if absent[2].any():
        current = np.where(absent[2], balloon_max, current)  # unknown: counts as all of it
    current = np.minimum(current, balloon_max)
    balloon_min = np.minimum(balloon_min, balloon_max)
    guarantee = np.minimum(np.maximum(guarantee, balloon_min), balloon_max)
    if absent[4].any():
        guarantee = np.where(absent[4], balloon_min, guarantee)
    idle = np.minimum(idle, current)
    inputs = {
        "balloon_max": balloon_max,
        "balloon_min": balloon_min,
        "guarantee": guarantee,
        "used": current - idle,
        "margin": margin,
        "reclaim_rank": rank,
        "priority": priority,
        "idle": idle,
        "current": current,
        "excluded": excluded,
    }
    return inputs, excluded


def prepare_inputs(
    matrix: npt.NDArray[np.float64], keep_free: float | None, fault_limit: float | None
) -> tuple[dict[str, npt.NDArray[Any]], npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
    """The allocator's inputs from the guests' fields (:func:`allocator_inputs`), with
    the floors ``keep_free`` and ``fault_limit`` raise (checked numbers, or None: off;
    see SlaBalloon); which guests are held; and the SLA guarantees (before those
    floors).  (The fast path has a Cython twin.)"""
    inputs, excluded = allocator_inputs(SlaColumns(matrix, [], None, None))
    guarantee = inputs["guarantee"]  # the SLA's, for the shortfall
    if keep_free is not None:
        # floors never given up below what a guest uses plus keep_free (the Balloon
        # controller's safety floors would raise such a target again)
        used = np.minimum(inputs["used"] + int(keep_free), MAX_KIB)
        minimum = np.minimum(np.maximum(inputs["balloon_min"], used), inputs["balloon_max"])
        inputs = {**inputs, "balloon_min": minimum, "guarantee": np.maximum(guarantee, minimum)}
    if fault_limit is not None:
        inputs = _hold_faulting(inputs, matrix[_FAULTS], fault_limit)
    return inputs, excluded, guarantee


class BalloonKernels(NamedTuple):
    """The loops of sla_balloon around the allocator: these (the specification) or the
    fast path's Cython twins (mom/_fastpath/sla_kernels.pyx)."""

    gather_numbers: Callable[..., npt.NDArray[np.float64]]
    prepare_inputs: Callable[..., Any]
    write_controls: Callable[..., None]  # see mom.dsl.guest_columns.write_controls


REFERENCE_BALLOON_KERNELS = BalloonKernels(gather_numbers, prepare_inputs, write_controls)


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
    #: the fast path's VM reads the column store's arrays again after calling it (the
    #: controls it sets may widen them)
    _policy_sets_controls = True
    #: declared, with nothing readable: a policy calls it and sees none of its parts (the
    #: kernels, the allocator, the last call's columns: the daemon's sample store)
    _policy_values: Mapping[str, Any] = MappingProxyType({})

    def __init__(self, allocate: Callable[..., Any], kernels: BalloonKernels = REFERENCE_BALLOON_KERNELS) -> None:
        self.allocate = allocate
        self.kernels = kernels
        self.state = PressureState.NORMAL
        #: the last call (columns, inputs, host values, guest names, Allocation), for the
        #: operators' view (mom.sla.status)
        self.last: dict[str, Any] | None = None
        self._short = False  # guarantees not kept: warned until they are again
        #: the next cycle moves memory between guests inside the band (see __call__)
        self._rebalance = False

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
        rebalance: Any = 1,
        keep_free: Any = None,
        fault_limit: Any = None,
        host_entity: Any = None,
        stall_limit: Any = None,
    ) -> BalloonResult:
        if guests is None or isinstance(guests, (str, bytes, int, float)):
            raise PolicyError(f"sla_balloon: the first argument must be the guests (Guests), not {guests!r}")
        host = []
        for name, value in (("available", available), ("host_free", host_free), ("threshold", threshold), ("band", band)):
            number = _number(value)
            if number != number and not (name == "available" and value is None):  # NaN: not a number
                raise PolicyError(f"sla_balloon: {name} must be a number of KiB, not {value!r}")
            host.append(max(0, int(number)) if number == number else None)
        keep = limit = None
        if keep_free is not None:
            keep = _number(keep_free)
            if not keep >= 0:
                raise PolicyError(f"sla_balloon: keep_free must be a number of KiB, not {keep_free!r}")
            keep = min(keep, MAX_KIB)  # used + keep is capped there anyway; beyond, no C long holds it
        if fault_limit is not None:
            limit = _number(fault_limit)
            if not limit >= 0:
                raise PolicyError(f"sla_balloon: fault_limit must be a number of faults, not {fault_limit!r}")
        columns = read_columns(guests, self.kernels.gather_numbers)
        inputs, excluded, guarantee = self.kernels.prepare_inputs(columns.matrix, keep, limit)
        if stall_limit is not None and _stalled(host_entity, stall_limit):
            # the host's tasks stall on memory: short of it, whatever free memory says
            host[1] = min(host[1], max(0, host[2] - 1))
        if host[0] is None:
            host[0] = max(0, int(inputs["current"].sum()) + host[1] - host[2] - host[3])
        # Inside the band the allocator holds every target.  When, there, guests sit above
        # their allocation while others lack as much below theirs, nothing would ever move
        # memory from the first to the second (free memory stays in the band): one cycle
        # then reclaims from the first as if the threshold were at the top of the band,
        # and the next gives back to the second, from the memory now free above it.
        pulse, self._rebalance = self._rebalance, False
        try:
            result = self.allocate(
                **inputs,
                available=host[0],
                host_free=host[1],
                threshold=host[2] + host[3] if pulse else host[2],
                band=host[3],
                state=self.state,
                tax_rate=tax_rate,
                step_cap=step_cap,
                dead_band=dead_band,
            )
        except (TypeError, ValueError) as error:
            raise PolicyError(f"sla_balloon: {error}") from None
        # the guarantees not kept: the SLA's (what keep_used raised is no guarantee)
        shortfall = np.maximum(0, guarantee - result.allocation)
        shortfall[excluded | (inputs["reclaim_rank"] == PLATINUM)] = 0
        given_up = np.asarray(result.given_up, dtype=np.intp)
        given_up = given_up[shortfall[given_up] > 0]  # (in the order given up)
        if not pulse:  # (a rebalancing cycle crosses no edge)
            self.state = result.state
        if result.mode == Mode.HOLD and not pulse:
            gap = result.allocation - inputs["current"]
            gap[excluded] = 0
            under, over = int(gap[gap > 0].sum()), int(-gap[gap < 0].sum())
            self._rebalance = bool(rebalance) and min(under, over) >= max(1, host[3] // 4)
        target = result.target
        changed = np.flatnonzero((target != inputs["current"]) & ~excluded)
        if columns.table is not None:
            set_row_controls(
                columns.table, columns.rows[changed], self.CONTROL, TAG_INT, target[changed], None,
                self.kernels.write_controls,
            )
        else:
            # shrinks first (a cycle of the allocator only shrinks or only grows; the
            # order still says which the controllers should apply first)
            for index in sorted(changed.tolist(), key=lambda i: not bool(result.shrink[i])):
                columns.entity(index).Control(self.CONTROL, int(target[index]))
        # the names as they are now (a row may be another guest's by the time someone
        # asks): a copy of the store's list is cheap, a name per guest is not
        table_names = list(columns.table.names) if columns.table is not None else None
        self.last = {
            "columns": columns,
            "inputs": inputs,
            "result": result,
            "table_names": table_names,
            "host": dict(zip(("available", "host_free", "threshold", "band"), host)),
            "rebalance": pulse,
            "guarantee": guarantee,
            "shortfall": shortfall,
            "given_up": given_up,
        }
        self._warn(shortfall, given_up, columns, table_names, host[0])
        return BalloonResult(
            {
                "mode": "rebalance" if pulse else MODE_NAMES[Mode(result.mode)],
                "changed": len(changed),
                "shrunk": int(np.count_nonzero(result.shrink & ~excluded)),
                "grown": int(np.count_nonzero(result.grow & ~excluded)),
                "shortfall": int(shortfall.sum()),
                "given_up": len(given_up),
                "unmet": int(result.unmet),
            }
        )


    def _warn(self, missing: Any, given_up_guests: Any, columns: SlaColumns, table_names: Any, available: int) -> None:
        """One WARNING when guarantees stop fitting, one INFO when they fit again."""
        shortfall = int(missing.sum())
        if shortfall and not self._short:
            names = columns.names(table_names)
            given_up = [names[int(i)] for i in given_up_guests[:_NAMED]]
            more = len(given_up_guests) - len(given_up)
            log.warning(
                "SLA guarantees exceed what the host can give its guests (%d KiB): %d KiB of the"
                " guarantees of %d guest(s) cannot be kept; given up first: %s%s",
                available,
                shortfall,
                len(given_up_guests),
                ", ".join(given_up),
                f" and {more} more" if more > 0 else "",
            )
        elif self._short and not shortfall:
            log.info("SLA guarantees fit the host again: every guarantee is kept")
        self._short = bool(shortfall)


#: the functions every program binds in its root scope (sla_balloon afresh: state of its
#: own; the resource builtins of mom.dsl.builtins_sla_resources are stateless)
PROGRAM_FUNCTION_NAMES = ("sla_balloon", *RESOURCE_FUNCTION_NAMES)


def program_functions(
    allocate: Callable[..., Any] | None = None,
    kernels: Kernels | None = None,
    balloon_kernels: BalloonKernels | None = None,
) -> dict[str, Any]:
    """A program's own functions; ``allocate`` is the allocator twin, ``kernels`` the
    resource builtins' loops and ``balloon_kernels`` sla_balloon's (the reference's by
    default; the fast path passes its Cython twins)."""
    return {
        "sla_balloon": SlaBalloon(allocate or reference_allocate, balloon_kernels or REFERENCE_BALLOON_KERNELS),
        **resource_functions(kernels or REFERENCE_KERNELS),
    }
