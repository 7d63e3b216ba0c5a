"""The collector base class and helpers upstream collectors import (``mom.Collectors.Collector``).

A collector samples one aspect of the host or of a guest.  Subclasses declare
``fields`` (always present) and ``optional_fields``; :meth:`Collector.collect` returns
a dict of them, or None when there is nothing this time.  Upstream-style collectors
that override ``getFields``/``getOptionalFields`` instead work just as well.
"""

from __future__ import annotations

import logging
import re
from itertools import repeat
from operator import attrgetter, is_, itemgetter
from typing import IO, Any, Mapping, Sequence

from mom._impl import IMPLEMENTATION
from mom.dsl.sandbox import MISSING
from mom.errors import CollectionError, FatalError, PluginNotFoundError
from mom.plugins.collectors.walks import holds

__all__ = [
    "Collector",
    "CollectionError",
    "FatalError",
    "open_datafile",
    "parse_int",
    "count_occurrences",
    "get_collectors",
    "read_file",
    "same_key_columns",
    "transpose",
    "field_columns",
    "samples_columns",
]


class Collector:
    """Base of every collector: ``Collector(properties)``, ``collect()``, field declarations."""

    #: fields every sample has
    fields: frozenset[str] = frozenset()
    #: fields a sample may lack (set to None by the monitor)
    optional_fields: frozenset[str] = frozenset()
    #: whether a batched collection round (mom.runtime.batch) may ask every guest's
    #: collector in turn, field values gathered by column; upstream-style collectors
    #: are collected guest by guest.  A batchable class may also give the columns
    #: itself: ``collect_columns(collectors, alive) -> {field: [value or MISSING]}``.
    batchable: bool = False

    def __init__(self, properties: Mapping[str, Any]) -> None:
        self.properties = properties

    def collect(self) -> dict[str, Any] | None:
        """One sample: a dict of field values."""
        raise NotImplementedError

    def getFields(self) -> set[str]:
        return set(self.fields)

    def getOptionalFields(self) -> set[str]:
        return set(self.optional_fields)


def open_datafile(filename: str) -> IO[str]:
    """Open a data file for reading; FatalError if it cannot be opened."""
    try:
        return open(filename, encoding="utf-8")
    except OSError as error:
        raise FatalError(f"Unable to open file '{filename}': {error.strerror}") from error


def read_file(handle: IO[str]) -> str:
    """Re-read an open /proc or /sys file from the start (no reopen each tick)."""
    handle.seek(0)
    return handle.read()


def parse_int(regex: str, src: str) -> int | None:
    """The first group of ``regex`` in ``src`` (multiline) as an int, else None."""
    match = re.search(regex, src, re.M)
    return int(match.group(1)) if match else None


def count_occurrences(regex: str, src: str) -> int:
    """How many times ``regex`` matches ``src`` (multiline)."""
    return len(re.findall(regex, src, re.M))


_log = logging.getLogger("mom.Collector")


def get_collectors(config_str: str, properties: dict[str, Any], global_config: Any) -> list[Any] | None:
    """Instantiate the collectors named in ``config_str`` (comma-separated), in order.

    A collector with a ``[Collector: Name]`` section gets its options, raw, as
    ``properties['config']`` in its own copy of ``properties``.  Returns None (and logs)
    if one cannot be loaded or fails fatally at construction, as upstream does.
    """
    from mom.config import COLLECTOR_SECTION_PREFIX, parse_list
    from mom.plugins import registry

    if "config" in properties:
        _log.error("Internal error: 'config' property already set")
        return None
    collectors = []
    for name in parse_list(config_str):
        props = properties
        section = COLLECTOR_SECTION_PREFIX + name
        if global_config is not None and global_config.has_section(section):
            props = dict(properties)
            props["config"] = dict(global_config.items(section, raw=True))
        try:
            cls = registry.load("collector", name)
        except PluginNotFoundError as error:
            _log.error("Unable to import collector: %s (%s)", name, error)
            return None
        try:
            collectors.append(cls(props))
        except FatalError as error:
            _log.error("Fatal Collector error: %s", error.msg)
            return None
        except Exception:
            _log.exception("Collector %s failed to initialize", name)
            return None
    return collectors


_UUID = attrgetter("uuid")
_NOT_SHARED = object()


class Peers(tuple):
    """The collectors at one position of a batched round's guests, in the guests' order
    (:mod:`mom.runtime.batch` keeps them while the guests stay the same).  What a
    collector is given when it is made (its interface, its guest's UUID) is read from
    all of them once here, not every round: a pass over a thousand collectors scattered
    in memory costs a quarter of a millisecond."""

    def __init__(self, _collectors: Any = ()) -> None:
        self._fixed: dict[str, Any] = {}

    def fixed(self, name: str) -> list[Any]:
        """Every collector's attribute ``name``, as it was the first time asked (a copy)."""
        values = self._fixed.get(name)
        if values is None:
            values = self._fixed[name] = list(map(attrgetter(name), self))
        return list(values)

    def shared(self, name: str) -> Any:
        """The value every collector's attribute ``name`` is (the same object), as it
        was the first time asked; :data:`_NOT_SHARED` if they differ."""
        key = "shared " + name
        value = self._fixed.get(key)
        if value is None:
            first = getattr(self[0], name) if self else _NOT_SHARED
            same = all(map(is_, map(attrgetter(name), self), repeat(first)))
            value = self._fixed[key] = first if same and first is not None else _NOT_SHARED
        return value


def uuids_of(collectors: Sequence[Any]) -> list[Any]:
    """The collectors' ``uuid`` attributes (one C-level pass; once, for :class:`Peers`)."""
    if type(collectors) is Peers:
        return collectors.fixed("uuid")
    return list(map(_UUID, collectors))


def all_share(collectors: Sequence[Any], name: str, value: Any) -> bool:
    """Whether every collector's attribute ``name`` is ``value`` itself (one C-level
    pass; once, for :class:`Peers`)."""
    if type(collectors) is Peers and value is not None:
        return collectors.shared(name) is value
    return all(map(is_, map(attrgetter(name), collectors), repeat(value)))


def field_columns(records: list[Any], keys: Sequence[Any]) -> list[list[Any]] | None:
    """The values of ``keys`` in each record, one list per key (in ``keys``' order) with a
    value per record; None if a record lacks a key.  The reference of
    mom/_fastpath/columns.pyx's twin, which reads each record once for all the keys."""
    try:
        return [list(map(itemgetter(key), records)) for key in keys]
    except KeyError:
        return None


def same_key_columns(samples: list[Any]) -> dict[str, list[Any]] | None:
    """The samples as columns when each has the first one's keys and no other (the
    common case: then no value is MISSING), in the first one's key order; None
    otherwise (a sample None, or with a field more or less).  The reference of
    mom/_fastpath/columns.pyx's twin, which does it in one walk of the samples."""
    if not samples or samples[0] is None or holds(samples, None) or len(set(map(len, samples))) != 1:
        return None
    names = list(samples[0])
    try:
        return {name: list(map(itemgetter(name), samples)) for name in names}
    except KeyError:
        return None  # as many fields, not the same ones


def transpose(samples: Sequence[Any]) -> dict[str, list[Any]]:
    """Per-guest dicts (None: nothing) as columns, MISSING where a guest lacks a field."""
    columns = _same_key_columns(samples if type(samples) is list else list(samples))
    if columns is not None:
        return columns
    count = len(samples)
    columns: dict[str, list[Any]] = {}
    for index, sample in enumerate(samples):
        if not sample:
            continue
        for name, value in sample.items():
            column = columns.get(name)
            if column is None:
                column = columns[name] = [MISSING] * count
            column[index] = value
    return columns


def samples_columns(
    cls: type, base: type, collectors: list[Any], alive: list[bool], method: str, note: Any = None
) -> dict[str, list[Any]] | None:
    """A batched round's columns from ``iface.<method>(uuids)`` (an interface that
    answers many guests at once: a list of dicts or None); None (ask each ``collect()``)
    if the interface cannot, or ``cls`` overrides ``base``'s ``collect``.  The
    collectors need ``iface`` and ``uuid`` attributes; ``note(collector, sample)``, if
    given, returns what the collector's ``collect()`` would (it notes what it tracks)."""
    iface = collectors[0].iface
    samples_of = getattr(iface, method, None)
    if samples_of is None or cls.collect is not base.collect or not all_share(collectors, "iface", iface):
        return None
    samples = samples_of(uuids_of(collectors))
    if note is not None:
        samples = [note(collector, sample) for collector, sample in zip(collectors, samples)]
    for index, ok in enumerate(alive):
        if not ok:
            samples[index] = None
    return transpose(samples)


def interface_columns(
    cls: type, base: type, collectors: list[Any], alive: list[bool], method: str
) -> dict[str, list[Any]] | None:
    """A batched round's columns straight from ``iface.<method>(uuids)`` (an interface
    that answers many guests at once with columns, or None when it cannot this round);
    None (see :func:`samples_columns`) if it cannot, or ``cls`` overrides ``base``'s
    ``collect``.  The guests not alive are MISSING."""
    iface = collectors[0].iface
    columns_of = getattr(iface, method, None)
    if columns_of is None or cls.collect is not base.collect or not all_share(collectors, "iface", iface):
        return None
    columns = columns_of(uuids_of(collectors))
    if columns is None:
        return None
    return without_dead(columns, alive)


def without_dead(columns: dict[str, list[Any]], alive: list[bool]) -> dict[str, list[Any]]:
    """``columns`` with the values of the guests not alive MISSING (copies, if any is not)."""
    if all(alive):
        return columns
    dead = [index for index, ok in enumerate(alive) if not ok]
    columns = {name: list(values) for name, values in columns.items()}
    for values in columns.values():
        for index in dead:
            values[index] = MISSING
    return columns


#: the reference walks of records and samples, and the ones the rounds use (the fast
#: path's twins if built; tests/runtime compare them)
reference_field_columns = field_columns
_same_key_columns: Any = same_key_columns
if IMPLEMENTATION == "cython":
    from mom._fastpath.columns import field_columns  # type: ignore[assignment]  # noqa: E402
    from mom._fastpath.columns import same_key_columns as _same_key_columns  # noqa: E402
