"""The SLA set's CPU, IO, network and NUMA builtins: each rule of ``04-cputune``,
``05-iotune``, ``06-network`` and ``07-numa`` over every guest in one call (README "CPU, IO,
network and NUMA by class").

A loop ``(with Guests guest ...)`` costs the policy VM some instructions per guest and
per disk: at 1,000 guests these rules took most of the SLA cycle.  These builtins read
the guests' fields in one gather from the column store (mom.dsl.guest_columns), compute
every guest at once in NumPy, and write the controls column by column; they give the
controls, values and types, that the rules written as loops gave (their tests compare
both), and they fail where those would (a guest without a field the rule reads).  One
difference, on purpose: a number field the rules compute with (``balloon_max``,
``vcpu_count``, ``vcpu_user_limit``, ...) beyond the int64 range, which no real guest
reports, is refused with a PolicyError naming the guest and the field, where a loop
would have computed with it.

``(sla_controls Guests control field [control field ...])``
    every guest: ``(guest.Control control guest.field)`` for each pair, in order.

``(sla_cpu_quota Guests cpu_count contended period unlimited min_cap)``
    every guest's ``vcpu_quota`` and ``vcpu_period`` (see :func:`sla_cpu_quota`).

``(sla_io_limits Guests enabled pressed unlimited)``
    every disk's IO-tune limits, through its setters (see :func:`sla_io_limits`).

``(sla_numa_place Guests min_size skip_class)``
    ``numa_place`` on every large guest not of ``skip_class`` (see :func:`sla_numa_place`).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Callable, Mapping, NamedTuple

import numpy as np
import numpy.typing as npt

from mom.dsl.guest_columns import (
    Numbers,
    copy_controls,
    decode_cells,
    entity_cells,
    gather_cells,
    guest_list,
    is_row_set,
    numbers_of,
    raw_rows,
    row_values,
    set_row_controls,
    write_controls,
)  # fmt: skip
from mom.dsl.layout import (
    IO_TUNE_KEYS,
    IO_TUNE_SETTERS,
    KIND_IO_TUNE,
    POLICY_KIND,
    TAG_ABSENT,
    TAG_FLOAT,
    TAG_INT,
    TAG_NONE,
    TAG_OBJECT,
    encode_cell,
)
from mom.dsl.sandbox import MISSING, policy_getattr
from mom.errors import PolicyError

__all__ = [
    "CPU_FIELDS", "CpuPlan", "Kernels", "REFERENCE_KERNELS", "RESOURCE_FUNCTION_NAMES", "apply_disks", "capped_limits",
    "cpu_plan", "resource_functions", "set_disk", "sla_numa_place",
    "sla_controls", "sla_cpu_quota", "sla_io_limits",
]  # fmt: skip


class Kernels(NamedTuple):
    """The per-row and per-disk loops the builtins call: these Python ones (the
    specification) or the fast path's Cython twins (mom/_fastpath/sla_kernels.pyx)."""

    gather: Callable[..., Any]  # see mom.dsl.guest_columns.gather_cells
    copy_controls: Callable[..., Any]  # see mom.dsl.guest_columns.copy_controls
    write_controls: Callable[..., None]  # see mom.dsl.guest_columns.write_controls
    cpu_plan: Callable[..., Any]  # see cpu_plan (the twin may return None: this one decides)
    apply_disks: Callable[..., int]  # see apply_disks


def _guest_name(target: Any, index: int) -> str:
    if isinstance(target, tuple):
        table, rows = target
        return str(table.names[int(rows[index])])
    properties = getattr(target[index], "properties", None)
    return str(properties.get("name", index)) if isinstance(properties, dict) else str(index)


def _undefined(builtin: str, target: Any, index: int, field: str) -> PolicyError:
    return PolicyError(f"{builtin}: guest {_guest_name(target, index)!r} has no field {field} (undefined symbol guest.{field})")


def _scalar(builtin: str, what: str, value: Any) -> tuple[float, bool]:
    """A number argument as (float, is a float); PolicyError for anything else."""
    if isinstance(value, bool) or type(value) is int:
        return float(value), False
    if type(value) is float:
        return value, True
    raise PolicyError(f"{builtin}: {what} must be a number, not {value!r}")


# ## sla_controls


def sla_controls(kernels: Kernels, guests: Any, *pairs: Any) -> int:
    """``(sla_controls Guests "cpu_shares" "sla_cpu_shares" ...)``: for each guest, for each
    (control, field) pair in order, the control set to the guest's field, as
    ``(with Guests guest (guest.Control control guest.field))`` sets it (any value, as
    it is).  The number of guests."""
    if not pairs or len(pairs) % 2:
        raise PolicyError("sla_controls: give the guests, then pairs of a control name and a field name")
    for name in pairs:
        if type(name) is not str:
            raise PolicyError(f"sla_controls: control and field names are strings, not {name!r}")
    controls, fields = pairs[0::2], pairs[1::2]
    if is_row_set(guests):
        table = guests.table
        rows = np.asarray(guests.rows, dtype=np.intp)
        with table.lock:
            view = table.column_view()
            columns = np.array([view.add_control(name) for name in controls], dtype=np.intp)
            view = table.column_view()  # (the control arrays may be new ones)
            index = view.field_index
            missing = kernels.copy_controls(view, rows, np.array([index.get(f, -1) for f in fields], dtype=np.intp), columns)
        if missing is not None:
            raise _undefined("sla_controls", (table, rows), missing[1], fields[missing[0]])
        return len(rows)
    entities = guest_list(guests, "sla_controls")
    for index, guest in enumerate(entities):
        values = row_values(guest, fields)
        for field, value in zip(fields, values):
            if value is MISSING:
                raise _undefined("sla_controls", entities, index, field)
        for control, value in zip(controls, values):
            guest.Control(control, value)
    return len(entities)


# ## sla_cpu_quota

#: the guest fields sla_cpu_quota reads, in the order of the cells its plan takes
CPU_FIELDS = ("vcpu_count", "vcpu_user_limit", "vcpu_quota", "vcpu_period", "sla_cpu_cap", "sla_cpu_guarantee")
_VCPUS, _USER_LIMIT, _QUOTA, _PERIOD, _CAP, _GUARANTEE = range(6)


class CpuPlan(NamedTuple):
    """What sla_cpu_quota sets, per guest: ``vcpu_quota`` where ``set_quota``, as the
    store's cells (tag, payload), and ``vcpu_period`` where ``set_period``; a guest
    ``unlimit``-ed gets the unlimited value and the period (both set)."""

    capped: int  # guests capped by their class
    unlimit: npt.NDArray[np.bool_]
    set_quota: npt.NDArray[np.bool_]
    quota_tags: npt.NDArray[np.int8]
    quota_payload: npt.NDArray[np.int64]
    set_period: npt.NDArray[np.bool_]
    period_tags: npt.NDArray[np.int8]
    period_payload: npt.NDArray[np.int64]


def _cells(values: Any, floats: Any, unlimit: Any, default: tuple[int, int]) -> tuple[Any, Any]:
    """Values (float64; an int where not ``floats``) as cells, ``default`` where ``unlimit``."""
    tags = np.where(floats, TAG_FLOAT, TAG_INT).astype(np.int8)
    payload = np.where(floats, values.view(np.int64), np.nan_to_num(values).astype(np.int64))
    tags[unlimit], payload[unlimit] = default
    return tags, payload


def _pick(first: Any, a: Any, af: Any, b: Any, bf: Any) -> tuple[Any, Any]:
    """Where ``first``: (a, af), else (b, bf), elementwise (value, is a float)."""
    return np.where(first, a, b), np.where(first, af, bf)


def cpu_plan(
    tags: npt.NDArray[np.int8],
    payload: npt.NDArray[np.int64],
    host_cpus: float,
    contended: bool,
    period: float,
    period_float: bool,
    min_cap: float,
    min_cap_float: bool,
    unlimited_cell: tuple[int, int],
    period_cell: tuple[int, int],
    name_of: Callable[[int], str],
) -> CpuPlan:
    """The plan of :func:`sla_cpu_quota` from the guests' cells of :data:`CPU_FIELDS`
    (``[field, guest]``); PolicyError where the loop would have failed (the fast path
    has a Cython twin, which leaves those cases to this one)."""
    columns = [numbers_of(tags[k], payload[k]) for k in range(len(CPU_FIELDS))]

    def need(k: int, where: Any = None, number: bool = True) -> Numbers:
        column = columns[k]
        bad = (column.absent | column.other) if number else column.absent
        if where is not None:
            bad = bad & where
        if bad.any():
            index = int(np.flatnonzero(bad)[0])
            name = CPU_FIELDS[k]
            if column.absent[index]:
                raise PolicyError(f"sla_cpu_quota: guest {name_of(index)!r} has no field {name} (undefined symbol guest.{name})")
            raise PolicyError(f"sla_cpu_quota: guest {name_of(index)!r}: {name} is not a number")
        return column

    vcpus, cap, guarantee, user_limit = need(_VCPUS), need(_CAP), need(_GUARANTEE), need(_USER_LIMIT)
    # the CPUs promised, summed in order from 0.0 as the loop did (the same rounding)
    reserved = float(np.add.accumulate(guarantee.values * vcpus.values)[-1]) if len(vcpus.values) else 0.0
    cappable_mask = cap.values > 0
    if vcpus.floats[cappable_mask].any():
        cappable: float = float(np.add.accumulate(vcpus.values[cappable_mask])[-1])
    else:
        cappable = int(vcpus.values[cappable_mask].astype(np.int64).sum())
    left = host_cpus - reserved
    spare = left if left > 0 else 0  # (max 0 left)
    share, share_float = (spare / cappable, True) if cappable > 0 else (1.0, False)
    capped = cappable_mask & bool(contended)
    limited = user_limit.values < 100.0
    applied = capped | limited
    zero = limited & (vcpus.values == 0)
    if zero.any():
        raise PolicyError(f"sla_cpu_quota: guest {name_of(int(np.flatnonzero(zero)[0]))!r} has no vCPUs (float division by zero)")
    with np.errstate(divide="ignore", invalid="ignore"):
        # oVirt's limit: always a float (percent / 100.0)
        user_quota = (user_limit.values / 100.0) * (period * host_cpus) / vcpus.values
        # (min cap share), then (max min_cap that), then times the period
        low, low_float = _pick(share < cap.values, share, share_float, cap.values, cap.floats)
        fraction, fraction_float = _pick(low > min_cap, low, low_float, min_cap, min_cap_float)
        class_quota, class_float = fraction * period, fraction_float | period_float
        # capped and limited: (min user class); one of them: that one
        lower, lower_float = _pick(class_quota < user_quota, class_quota, class_float, user_quota, True)
        quota, quota_float = _pick(limited, lower, lower_float, class_quota, class_float)
        quota, quota_float = _pick(capped, quota, quota_float, user_quota, True)
        small = applied & ~(quota > 1000)
        if (small & (quota == 0)).any():
            index = int(np.flatnonzero(small & (quota == 0))[0])
            raise PolicyError(f"sla_cpu_quota: guest {name_of(index)!r} gets a quota of 0 (float division by zero)")
        stretch = 1 + 1000 / np.where(small, quota, 1.0)
        stretched, stretched_float = _pick(small, stretch * quota, True, quota, quota_float)
        periods, periods_float = _pick(small, stretch * period, True, period, period_float)
    # compared with the new values only: None or anything else differs
    current_quota, current_period = need(_QUOTA, applied, number=False), need(_PERIOD, applied, number=False)
    unlimit = ~applied
    set_quota = unlimit | (current_quota.other | (current_quota.values != stretched))
    set_period = unlimit | (current_period.other | (current_period.values != periods))
    return CpuPlan(
        int(np.count_nonzero(capped)), unlimit,
        set_quota, *_cells(stretched, stretched_float, unlimit, unlimited_cell),
        set_period, *_cells(periods, periods_float, unlimit, period_cell),
    )  # fmt: skip


def sla_cpu_quota(kernels: Kernels, guests: Any, cpu_count: Any, contended: Any, period: Any, unlimited: Any, min_cap: Any) -> int:
    """Every guest's vCPU quota and period; the number of guests capped by their class.

    The CPUs promised (``sla_cpu_guarantee`` times ``vcpu_count``, summed over the
    guests in order) are kept from the host's ``cpu_count``; the rest is shared among
    the vCPUs of the guests whose class has a cap (``sla_cpu_cap`` > 0).  A guest is
    capped while ``contended`` and its class has a cap: its quota is its cap, or its
    share of the spare CPUs if less, never below ``min_cap`` (fractions of a CPU),
    times ``period``.  oVirt's limit (``vcpu_user_limit`` under 100, percent of the
    host) gives ``vcpu_user_limit / 100 * period * cpu_count / vcpu_count``, vdsm's
    formula; a capped and limited guest gets the lower of both.  A quota not over
    1000 us is stretched with its period by ``1 + 1000 / quota`` (the kernel refuses
    smaller ones); ``vcpu_quota`` and ``vcpu_period`` are set where they differ from
    the guest's.  Any other guest gets ``unlimited`` and ``period``.  Values and types
    (int or float) are the arithmetic of the policy language's.
    """
    host_cpus, _host_float = _scalar("sla_cpu_quota", "cpu_count", cpu_count)
    period_value, period_float = _scalar("sla_cpu_quota", "period", period)
    min_cap_value, min_cap_float = _scalar("sla_cpu_quota", "min_cap", min_cap)
    if is_row_set(guests):
        _view, rows, tags, payload = raw_rows(guests, CPU_FIELDS, kernels.gather)
        target: Any = (guests.table, rows)
    else:
        target = guest_list(guests, "sla_cpu_quota")
        _values, tags, payload = entity_cells(target, CPU_FIELDS)
    cells = (encode_cell(unlimited), encode_cell(period))
    arguments = (tags, payload, host_cpus, bool(contended), period_value, period_float, min_cap_value, min_cap_float, *cells)
    plan = kernels.cpu_plan(*arguments, lambda index: _guest_name(target, index))
    if plan is None:  # (a case the twin leaves to the specification: it fails)
        plan = cpu_plan(*arguments, lambda index: _guest_name(target, index))
    controls = (
        ("vcpu_quota", plan.set_quota, plan.quota_tags, plan.quota_payload, unlimited),
        ("vcpu_period", plan.set_period, plan.period_tags, plan.period_payload, period),
    )
    unlimit = plan.unlimit
    if isinstance(target, tuple):
        table, rows = target
        for name, chosen, tags, payload, default in controls:
            picked = np.flatnonzero(chosen)
            objects = None
            if tags.dtype == np.int8 and (tags[picked] == TAG_OBJECT).any():
                objects = {position: default for position, index in enumerate(picked.tolist()) if unlimit[index]}
            set_row_controls(table, rows[picked], name, tags[picked], payload[picked], objects, kernels.write_controls)
    else:
        for index, guest in enumerate(target):
            for name, chosen, tags, payload, default in controls:
                if unlimit[index]:
                    guest.Control(name, default)
                elif chosen[index]:
                    bits = int(payload[index])
                    guest.Control(name, float(payload[index : index + 1].view(np.float64)[0]) if tags[index] == TAG_FLOAT else bits)
    return plan.capped


# ## sla_io_limits

_KEYS = IO_TUNE_KEYS
_SETTERS = tuple(name for name, _key in IO_TUNE_SETTERS)
#: read before any setter: split rates when oVirt limits reads or writes apart
_TOTAL_BYTES, _READ_BYTES, _WRITE_BYTES, _TOTAL_IOPS, _READ_IOPS, _WRITE_IOPS = range(6)


def _attribute(value: Any, name: str, what: str) -> Any:
    values = getattr(value, "_policy_values", None)
    found = values.get(name, MISSING) if type(values) is dict else policy_getattr(value, name)
    if found is MISSING:
        raise PolicyError(f"sla_io_limits: {what} has no {name} (undefined symbol {what}.{name})")
    return found


def _set_limits(disk: Any, limits: list[Any]) -> None:
    """The six setters in order: on a record of kind KIND_IO_TUNE straight into its
    current limits (``None`` or ``int(value)``, left alone where already that int, as
    the fast path's VM does), on any other through its methods."""
    if type(disk).__dict__.get(POLICY_KIND) == KIND_IO_TUNE:
        current = disk._current
        for key, value in zip(_KEYS, limits):
            if type(value) is int:
                previous = current.get(key)
                if type(previous) is not int or previous != value:
                    current[key] = value
            else:
                current[key] = None if value is None else int(value)
        return
    for name, value in zip(_SETTERS, limits):
        setter = policy_getattr(disk, name)
        if setter is MISSING:
            raise PolicyError(f"sla_io_limits: disk has no {name} (undefined symbol disk.{name})")
        setter(value)


def _maximum(disk: Any) -> list[Any]:
    """oVirt's maximum rates of a disk (``disk.maximum``), in the setters' order."""
    values = getattr(disk, "_policy_values", None)
    maximum = values.get("maximum", MISSING) if type(values) is dict else policy_getattr(disk, "maximum")
    if maximum is MISSING:
        raise PolicyError("sla_io_limits: disk has no maximum (undefined symbol disk.maximum)")
    limit_values = getattr(maximum, "_policy_values", None)
    if type(limit_values) is dict:
        try:
            return [limit_values[key] for key in _KEYS]
        except KeyError as error:
            key = error.args[0]
            raise PolicyError(f"sla_io_limits: maximum has no {key} (undefined symbol maximum.{key})") from None
    return [_attribute(maximum, key, "maximum") for key in _KEYS]


def capped_limits(limits: list[Any], bytes_cap: Any, iops_cap: Any, unlimited: Any) -> list[Any]:
    """oVirt's maximum rates with the class's caps: on the total rate, or on the read
    and write rates where oVirt limits those apart."""

    def lower(limit: Any, cap: Any) -> Any:  # oVirt's limit and the cap; 0 is "none" on either side
        return cap if limit == unlimited else (limit if cap == 0 else min(limit, cap))

    split_bytes = (limits[_READ_BYTES] != 0) or (limits[_WRITE_BYTES] != 0)
    split_iops = (limits[_READ_IOPS] != 0) or (limits[_WRITE_IOPS] != 0)
    total_bytes, read_bytes, write_bytes, total_iops, read_iops, write_iops = limits
    return [
        total_bytes if split_bytes else lower(total_bytes, bytes_cap),
        lower(read_bytes, bytes_cap) if split_bytes else read_bytes,
        lower(write_bytes, bytes_cap) if split_bytes else write_bytes,
        total_iops if split_iops else lower(total_iops, iops_cap),
        lower(read_iops, iops_cap) if split_iops else read_iops,
        lower(write_iops, iops_cap) if split_iops else write_iops,
    ]


def set_disk(disk: Any, enabled: Any, bytes_cap: Any, iops_cap: Any, capped: Any, unlimited: Any) -> None:
    """One disk's limits: all ``unlimited`` unless ``enabled``; else oVirt's maximum,
    capped while ``capped``."""
    if not enabled:
        _set_limits(disk, [unlimited] * 6)
    elif capped:
        _set_limits(disk, capped_limits(_maximum(disk), bytes_cap, iops_cap, unlimited))
    else:
        _set_limits(disk, _maximum(disk))


def apply_disks(tunes: list[Any], bytes_caps: list[Any], iops_caps: list[Any], enabled: Any, unlimited: Any) -> int:
    """Every disk of each guest's ``io_tune`` (an iterable of records), with that guest's
    caps (0: none); the number of disks.  (The fast path has a Cython twin.)"""
    disks = 0
    for tune, bytes_cap, iops_cap in zip(tunes, bytes_caps, iops_caps):
        capped = bool(bytes_cap + iops_cap)
        for disk in tune:
            disks += 1
            set_disk(disk, enabled, bytes_cap, iops_cap, capped, unlimited)
    return disks


_IO_FIELDS = ("io_tune", "sla_io_cap_bytes", "sla_io_cap_iops")


def sla_io_limits(kernels: Kernels, guests: Any, enabled: Any, pressed: Any, unlimited: Any) -> int:
    """Every disk's limits (the guests' ``io_tune`` records; a guest whose ``io_tune``
    is None has none), through its six setters in upstream's order; the number of disks.

    ``enabled`` false: every limit ``unlimited``.  Else each disk gets oVirt's maximum
    rates (``maximum``); while ``pressed``, the disks of a guest whose class caps IO
    (``sla_io_cap_bytes``, ``sla_io_cap_iops``; 0: no cap) get at most the cap: on the
    total rate, or on the read and write rates where oVirt limits those apart, never
    above oVirt's limit (``unlimited`` on oVirt's side is "no limit": the cap).
    """
    pressed = bool(pressed)
    fields = _IO_FIELDS if pressed else _IO_FIELDS[:1]
    if is_row_set(guests):
        view, rows, tags, payload = raw_rows(guests, fields, kernels.gather)
        target: Any = (guests.table, rows)
        chosen = np.flatnonzero(tags[0] != TAG_NONE)  # (None: no disks)
        absent = np.argwhere(tags[:, chosen] == TAG_ABSENT)
        if len(absent):
            k, position = absent[np.argmin(absent[:, 1])]  # the first guest a loop meets
            raise _undefined("sla_io_limits", target, int(chosen[position]), fields[int(k)])
        values = [decode_cells(view, tags[k, chosen], payload[k, chosen]) for k in range(len(fields))]
    else:
        target = guest_list(guests, "sla_io_limits")
        cells = [row_values(guest, fields) for guest in target]
        chosen = np.array([i for i, cell in enumerate(cells) if cell[0] is not None], dtype=np.intp)
        values = [[cells[i][k] for i in chosen.tolist()] for k in range(len(fields))]
        for k, column in enumerate(values):
            for position, value in enumerate(column):
                if value is MISSING:
                    raise _undefined("sla_io_limits", target, int(chosen[position]), fields[k])
    tunes = values[0]
    bytes_caps, iops_caps = (values[1], values[2]) if pressed else ([0] * len(tunes), [0] * len(tunes))
    return kernels.apply_disks(tunes, bytes_caps, iops_caps, bool(enabled), unlimited)


# ## sla_numa_place

_NUMA_FIELDS = ("balloon_max", "sla_class")


def sla_numa_place(kernels: Kernels, guests: Any, min_size: Any, skip_class: Any) -> int:
    """``numa_place`` (its ``balloon_max``, as it is) on every guest whose ``balloon_max``
    is at least ``min_size`` and whose ``sla_class`` is not ``skip_class``; a guest whose
    ``balloon_max`` is None is left alone.  The number of guests placed."""
    _scalar("sla_numa_place", "min_size", min_size)  # a reason, not numpy's type error
    if is_row_set(guests):
        view, rows, tags, payload = raw_rows(guests, _NUMA_FIELDS, kernels.gather)
        target: Any = (guests.table, rows)
        sizes = numbers_of(tags[0], payload[0])
        values = None
    else:
        target = guest_list(guests, "sla_numa_place")
        values, tags, payload = entity_cells(target, _NUMA_FIELDS)
        sizes = numbers_of(tags[0], payload[0])
    present = tags[0] != TAG_NONE
    bad = present & (sizes.absent | sizes.other)
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        if sizes.absent[index]:
            raise _undefined("sla_numa_place", target, index, "balloon_max")
        raise PolicyError(f"sla_numa_place: guest {_guest_name(target, index)!r}: balloon_max is not a number")
    large = np.flatnonzero(present & (sizes.values >= min_size))
    if values is None:
        classes = decode_cells(view, tags[1, large], payload[1, large])
    else:
        classes = [values[index][1] for index in large.tolist()]
    for position, sla_class in enumerate(classes):
        if sla_class is MISSING:
            raise _undefined("sla_numa_place", target, int(large[position]), "sla_class")
    chosen = large[np.array([sla_class != skip_class for sla_class in classes], dtype=np.bool_)] if len(large) else large
    if isinstance(target, tuple):
        table, rows = target
        set_row_controls(table, rows[chosen], "numa_place", tags[0, chosen], payload[0, chosen], None, kernels.write_controls)
    else:
        for index in chosen.tolist():
            target[index].Control("numa_place", values[index][0])
    return len(chosen)


REFERENCE_KERNELS = Kernels(gather_cells, copy_controls, write_controls, cpu_plan, apply_disks)


class _Builtin:
    """A builtin of this module bound to its kernels, as a program's root scope holds it."""

    __slots__ = ("function", "kernels")
    #: the fast path's VM reads the store's control arrays again after the call (the
    #: controls set may have widened them)
    _policy_sets_controls = True
    #: declared, with nothing readable: a policy calls it and sees neither the function
    #: nor the kernels (the fast path's are raw-buffer C functions)
    _policy_values: Mapping[str, Any] = MappingProxyType({})

    def __init__(self, function: Callable[..., Any], kernels: Kernels) -> None:
        self.function = function
        self.kernels = kernels

    def __call__(self, *args: Any) -> Any:
        return self.function(self.kernels, *args)

    def __repr__(self) -> str:
        return f"<builtin {self.function.__name__}>"


_FUNCTIONS = {
    "sla_controls": sla_controls,
    "sla_cpu_quota": sla_cpu_quota,
    "sla_io_limits": sla_io_limits,
    "sla_numa_place": sla_numa_place,
}
#: the names a program binds (mom.dsl.builtins_sla.program_functions)
RESOURCE_FUNCTION_NAMES = tuple(_FUNCTIONS)


def resource_functions(kernels: Kernels = REFERENCE_KERNELS) -> dict[str, Any]:
    """The builtins of this module over ``kernels``, by name."""
    return {name: _Builtin(function, kernels) for name, function in _FUNCTIONS.items()}
