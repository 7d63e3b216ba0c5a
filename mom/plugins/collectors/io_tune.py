"""Disk IO-tune records: the block-IO limits of one guest disk, as policies see them.

The IO-tune collector matches vdsm's IO policies (``guaranteed`` and ``maximum``
limits) to the disks' current settings and hands policies one :class:`DiskIoTune`
per disk.  A policy reads ``tune.maximum.total_bytes_sec`` and calls setters such as
``(tune.setTotalBytesSec 1000)``; the IoTune controller then sends every disk whose
settings changed.  Setters write into the ``current`` dict itself, as upstream's do.

Upstream nests these classes in its collector (``GuestIoTune.IoTune``, and
``GuestIoTune.IoTune.IoTuneVals`` for the value bags); :class:`GuestIoTune` carries
them under those names, so a site collector written for upstream that builds records
with ``self.IoTune(...)`` works.  Their ``__name__`` and ``__qualname__`` are
upstream's too: error texts (``unsupported operand type(s) for +: 'IoTune' and
'int'``, ``GuestIoTune.IoTune.setTotalBytesSec() missing 1 required positional
argument: 'val'``) read as upstream's, which operators grep their logs for.  In this
package the record is ``DiskIoTune``, distinct from the IoTune *controller*.
"""

from __future__ import annotations

from operator import attrgetter, itemgetter
from typing import Any, Sequence

from mom._impl import IMPLEMENTATION
from mom.dsl.layout import IO_TUNE_KEYS, IO_TUNE_METHODS, KIND_IO_TUNE

__all__ = ["DiskIoTune", "IoTuneVals", "IO_TUNE_KEYS", "IoTune", "ValueBag"]

__all__ = ["IoTune", "ValueBag", "IO_TUNE_KEYS"]

_SAMPLE = attrgetter("_sample")
_TUNES, _STATES = itemgetter("io_tune"), itemgetter("io_tune_current")

#: where upstream defines the record (its error texts name it so)
_UPSTREAM_RECORD = "GuestIoTune.IoTune"


class IoTuneVals:
    """Attribute access to a dict of limits; an absent limit raises AttributeError.

    ``vals`` is the dict itself, as upstream's.
    """

    __slots__ = ("_policy_values",)

    def __init__(self, vals: dict[str, Any]) -> None:
        # the dict itself: policies read limits straight from it (see mom.dsl.sandbox)
        self._policy_values = vals

    @property
    def vals(self) -> dict[str, Any]:
        return self._policy_values

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # copy and pickle probe before the slot is set
            raise AttributeError(name)
        try:
            return self._policy_values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self) -> str:
        return f"IoTuneVals({self._policy_values!r})"


def _as_int(value: Any) -> Any:
    return None if value is None else int(value)


def _limits(value: Any) -> Any:
    # upstream's record takes dicts; a bag (another record's) stands for its dict
    return value.vals if isinstance(value, IoTuneVals) else value


class DiskIoTune:
    """One disk: its name and path, its policy limits and its current limits."""

    __slots__ = ("name", "path", "guaranteed", "maximum", "current", "_current", "_policy_values", "_stamp")

    #: upstream's ``GuestIoTune.IoTune.IoTuneVals``
    IoTuneVals = IoTuneVals

    #: what policies may call (see mom.dsl.sandbox): the setters of mom.dsl.layout
    _policy_methods = IO_TUNE_METHODS
    #: the fast path runs the setters on _current itself (mom.dsl.layout)
    _policy_kind = KIND_IO_TUNE

    def __init__(
        self,
        name: str | None,
        path: str | None,
        guaranteed: dict[str, Any],
        maximum: dict[str, Any],
        current: dict[str, Any],
    ) -> None:
        self.name = name
        self.path = path
        # Policies find limits fastest when the keys are interned strings (their names
        # are): the collectors build them so, once per domain, not here on every tick.
        self.guaranteed = IoTuneVals(_limits(guaranteed))
        self.maximum = IoTuneVals(_limits(maximum))
        # the state dict itself: setters write into it, ioTune() returns it
        self._current = _limits(current)
        self.current = IoTuneVals(self._current)
        #: the fast path's note that ``_current`` was found equal to its collected copy,
        #: valid while neither dict changes (mom/_fastpath/columns.pyx's LimitsStamp)
        self._stamp: Any = None
        #: the data attributes policies read (the setters are reached through the hook)
        self._policy_values = {
            "name": name,
            "path": path,
            "guaranteed": self.guaranteed,
            "maximum": self.maximum,
            "current": self.current,
        }

    # the argument is ``val``, as upstream's: a call without it says so

    def setTotalBytesSec(self, val: Any) -> None:
        self._current["total_bytes_sec"] = _as_int(val)

    def setReadBytesSec(self, val: Any) -> None:
        self._current["read_bytes_sec"] = _as_int(val)

    def setWriteBytesSec(self, val: Any) -> None:
        self._current["write_bytes_sec"] = _as_int(val)

    def setTotalIopsSec(self, val: Any) -> None:
        self._current["total_iops_sec"] = _as_int(val)

    def setReadIopsSec(self, val: Any) -> None:
        self._current["read_iops_sec"] = _as_int(val)

    def setWriteIopsSec(self, val: Any) -> None:
        self._current["write_iops_sec"] = _as_int(val)

    def ioTune(self) -> dict[str, Any]:
        """What the controller sends for this disk."""
        return {"name": self.name, "path": self.path, "ioTune": self._current}

    def __repr__(self) -> str:
        return f"IoTune({self.name!r}, {self.path!r}, current={self._current!r})"


# upstream's names in error texts (see the module's docstring); pickle finds them
# there too, through the upstream import path
DiskIoTune.__name__ = "IoTune"
DiskIoTune.__qualname__ = _UPSTREAM_RECORD
IoTuneVals.__qualname__ = _UPSTREAM_RECORD + ".IoTuneVals"
DiskIoTune.__module__ = IoTuneVals.__module__ = "mom.Collectors.GuestIoTune"
for _name in DiskIoTune._policy_methods:
    getattr(DiskIoTune, _name).__qualname__ = f"{_UPSTREAM_RECORD}.{_name}"
del _name


def disks_unchanged(tunes: Any, states: Any) -> bool:
    """Whether, surely, no record's limits differ from the state collected with it: both
    lists of the same length, each state a dict whose ``ioTune`` equals its record's
    ``_current``.  False says only "look closer" (the callers' own comparisons decide).
    The reference of mom/_fastpath/columns.pyx's twin."""
    if type(tunes) is not list or type(states) is not list or len(tunes) != len(states):
        return False
    count = len(tunes)
    for tune, state in zip(tunes, states):
        if type(state) is not dict:
            return False
        limits = state.get("ioTune")
        if limits is None:
            return False
        current = getattr(tune, "_current", None)
        if current is None or current != limits:
            return False
    # a getattr or an == ran Python code that changed a list: not sure
    return len(tunes) == count and len(states) == count


def disks_maybe_changed(tunes_column: list[Any], states_column: list[Any]) -> list[int]:
    """Of a column of guests' ``io_tune`` and one of their ``io_tune_current``, the
    positions where both are lists and :func:`disks_unchanged` is not sure."""
    if len(tunes_column) != len(states_column):
        raise ValueError("the columns must have one value per row each")
    return [
        position
        for position, (tunes, states) in enumerate(zip(tunes_column, states_column))
        if type(tunes) is list and type(states) is list and not disks_unchanged(tunes, states)
    ]


def samples_maybe_changed(collectors: Sequence[Any]) -> tuple[list[Any], list[int]]:
    """Of IO-tune collectors, each one's ``_sample`` (None: no IO policy) and the
    positions of the samples :func:`disks_maybe_changed` is not sure of.  A sample that
    is not None must have ``io_tune`` and ``io_tune_current`` (KeyError, TypeError)."""
    samples = list(map(_SAMPLE, collectors))
    positions = [position for position, sample in enumerate(samples) if sample is not None]
    held = [samples[position] for position in positions]
    changed = disks_maybe_changed(list(map(_TUNES, held)), list(map(_STATES, held)))
    return samples, [positions[index] for index in changed]


#: earlier names, kept importable: the fast path (mom/_fastpath/vm.pyx) imports
#: ``IoTune`` and checks ``type(obj) is IoTune``, so this must stay the same class
IoTune = DiskIoTune
ValueBag = IoTuneVals

#: the reference comparisons, and the ones the tick uses (the fast path's twins if built)
reference_disks_unchanged, reference_disks_maybe_changed = disks_unchanged, disks_maybe_changed
reference_samples_maybe_changed = samples_maybe_changed
if IMPLEMENTATION == "cython":
    from mom._fastpath.columns import (  # type: ignore[no-redef]  # noqa: E402
        disks_maybe_changed,
        disks_unchanged,
        keep_stamps_in,
        samples_maybe_changed,
    )

    keep_stamps_in(DiskIoTune.__dict__["_stamp"])  # the compiled walks' stamps go there
