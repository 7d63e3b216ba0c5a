"""Entities built from plain data, for evaluating policies without a daemon.

This is what vdsm's policy validator does by hand (a bare Monitor, samples appended,
fields declared, ``_finalize``), packaged for ``mom-policy eval``, the tests and the
benchmarks.  A spec is a dict, typically read from JSON::

    {"name": "vm1", "properties": {"uuid": "..."},
     "stats": [{"mem_free": 1024, ...}, ...],      # oldest first; one dict is fine too
     "io_tune": [{"name": "vda", "path": "...", "guaranteed": {...},
                  "maximum": {...}, "current": {...}}]}   # optional
"""

from __future__ import annotations

import configparser
import copy
from typing import Any, Callable, Iterable, Mapping

from mom.plugins.collectors.io_tune import IoTune
from mom.runtime.entity import Entity
from mom.runtime.monitor import Monitor

__all__ = ["entity_from_spec", "offline_monitor", "IO_TUNE_FIELDS"]

#: the fields the IO-tune collector adds to a guest's samples
IO_TUNE_FIELDS = ("io_tune", "io_tune_current")


def offline_monitor(name: str) -> Monitor:
    """A monitor with no collectors and no plotting, as vdsm's validator builds it."""
    config = configparser.ConfigParser()
    config.add_section("__int__")
    config.set("__int__", "plot-subdir", "")
    return Monitor(config, name)


def _samples(spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    stats = spec.get("stats", [])
    if isinstance(stats, Mapping):
        stats = [stats]
    return [dict(sample) for sample in stats]


def entity_from_spec(
    spec: Mapping[str, Any],
    *,
    fields: Iterable[str] | None = None,
    optional_fields: Iterable[str] | None = None,
    io_tune_factory: Callable[..., Any] = IoTune,
) -> Entity:
    """A finalized entity holding the spec's samples, properties and IO tunes.

    Without ``fields``, a statistic present in every sample is mandatory and one
    present in some is optional; an ``io_tune`` entry (even null) declares the
    IO-tune fields.
    """
    name = str(spec.get("name", "entity"))
    samples = _samples(spec)
    if "io_tune" in spec:
        tunes = spec["io_tune"]
        if tunes is None:
            records = current = None
        else:
            records = [
                io_tune_factory(
                    tune.get("name"),
                    tune.get("path"),
                    dict(tune.get("guaranteed", {})),
                    dict(tune.get("maximum", {})),
                    dict(tune.get("current", {})),
                )
                for tune in tunes
            ]
            current = [copy.deepcopy(dict(tune.get("current", {}))) for tune in tunes]
        for sample in samples or [{}]:
            sample["io_tune"] = records
            sample["io_tune_current"] = current
        if not samples:
            samples = [{"io_tune": records, "io_tune_current": current}]
    if fields is None:
        keys = [set(sample) for sample in samples]
        mandatory = set.intersection(*keys) if keys else set()
        optional = set.union(*keys) - mandatory if keys else set()
        if "io_tune" in spec:
            mandatory -= set(IO_TUNE_FIELDS)
            optional |= set(IO_TUNE_FIELDS)
    else:
        mandatory = set(fields)
        optional = set(optional_fields or ())
    monitor = offline_monitor(name)
    entity = Entity(monitor)
    entity.properties = {"name": name, **dict(spec.get("properties", {}))}
    for sample in samples:
        entity.statistics.append(sample)
    entity.monitor.fields = mandatory
    entity.monitor.optional_fields = sorted(optional)
    entity._finalize()
    return entity
