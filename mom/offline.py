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

__all__ = [
    "entity_from_spec",
    "offline_monitor",
    "IO_TUNE_FIELDS",
    "VDSM_HOST_FIELDS",
    "VDSM_GUEST_FIELDS",
    "VDSM_GUEST_OPTIONAL_FIELDS",
]

#: the fields the IO-tune collector adds to a guest's samples
IO_TUNE_FIELDS = ("io_tune", "io_tune_current")

# What vdsm's mom.conf collects (spec sections 7 and 3): host collectors HostMemory,
# HostKSM, HostCpu; guest collectors GuestMemoryOptional, GuestBalloonOptional,
# GuestCpuTune, GuestIoTuneOptional.

#: host statistics of HostMemory, HostKSM and HostCpu (all mandatory)
VDSM_HOST_FIELDS = (
    "mem_available", "mem_unused", "mem_free", "anon_pages", "swap_total", "swap_usage", "swap_in", "swap_out",
    "ksm_full_scans", "ksm_pages_sharing", "ksm_pages_unshared", "ksm_run", "ksm_pages_shared",
    "ksm_pages_to_scan", "ksm_pages_volatile", "ksm_sleep_millisecs", "ksm_merge_across_nodes",
    "ksm_shareable", "ksmd_cpu_usage",
    "cpu_count",
)  # fmt: skip
#: guest statistics of GuestCpuTune (mandatory)
VDSM_GUEST_FIELDS = ("vcpu_quota", "vcpu_period", "vcpu_user_limit", "vcpu_count")
#: guest statistics of GuestMemoryOptional, GuestBalloonOptional, GuestIoTuneOptional
VDSM_GUEST_OPTIONAL_FIELDS = (
    "mem_available", "mem_unused", "major_fault", "minor_fault", "swap_in", "swap_out", "swap_total", "swap_usage",
    "balloon_cur", "balloon_max", "balloon_min",
    "io_tune", "io_tune_current",
)  # fmt: skip


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
    declared_optional: Iterable[str] = (),
) -> Entity:
    """A finalized entity holding the spec's samples, properties and IO tunes.

    Without ``fields``, a statistic present in every sample is mandatory and one
    present in some is optional; an ``io_tune`` entry (even null) declares the
    IO-tune fields.  ``declared_optional`` names statistics a collector would declare
    optional: they are declared whatever the samples hold, and a sample that lacks
    one gets None, as ``Monitor.collect`` fills a missing optional field.
    """
    name = str(spec.get("name", "entity"))
    samples = _samples(spec)
    declared_optional = tuple(declared_optional)
    if declared_optional:
        for sample in samples:
            for key in declared_optional:
                # io_tune entries are filled below from the spec's "io_tune"
                if key not in sample and not ("io_tune" in spec and key in IO_TUNE_FIELDS):
                    sample[key] = None
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
        mandatory -= set(declared_optional)
        optional |= set(declared_optional)
    else:
        mandatory = set(fields)
        optional = set(optional_fields or ()) | (set(declared_optional) - mandatory)
    monitor = offline_monitor(name)
    entity = Entity(monitor)
    entity.properties = {"name": name, **dict(spec.get("properties", {}))}
    for sample in samples:
        entity.statistics.append(sample)
    entity.monitor.fields = mandatory
    entity.monitor.optional_fields = sorted(optional)
    entity._finalize()
    return entity
