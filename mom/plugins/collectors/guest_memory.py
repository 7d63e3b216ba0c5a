"""GuestMemory: a guest's own view of its memory, through the hypervisor (balloon stats)."""

from __future__ import annotations

import logging
from typing import Any, Mapping

from mom.errors import HypervisorInterfaceError
from mom.plugins.collectors.base import Collector, all_share, transpose, uuids_of, without_dead

__all__ = ["GuestMemory", "GuestMemoryOptional"]

_FIELDS = frozenset({"mem_available", "mem_unused", "major_fault", "minor_fault", "swap_in", "swap_out"})
_OPTIONAL = frozenset({"swap_total", "swap_usage"})


class GuestMemory(Collector):
    """Guest memory as the guest reports it (KiB).

    - ``mem_available``: memory the guest sees (total)
    - ``mem_unused``: memory the guest does not use at all
    - ``major_fault``, ``minor_fault``: page faults (counts)
    - ``swap_in``, ``swap_out``: swapped (pages)
    - optional ``swap_total``, ``swap_usage``
    """

    batchable = True  # a batched round asks every guest's collect() in turn

    fields = _FIELDS
    optional_fields = _OPTIONAL

    def __init__(self, properties: Mapping[str, Any]) -> None:
        super().__init__(properties)
        self.logger = logging.getLogger("mom.Collectors.GuestMemory")
        self.iface = properties["hypervisor_iface"]
        self.uuid = properties["uuid"]
        self.stats_available = True
        self.iface.startVmMemoryStats(self.uuid)

    def collect(self) -> dict[str, Any] | None:
        try:
            stats = self.iface.getVmMemoryStats(self.uuid)
        except HypervisorInterfaceError as error:
            return self._unavailable(error)
        self.stats_available = True
        return stats

    def _unavailable(self, error: HypervisorInterfaceError) -> dict[str, Any]:
        if self.stats_available:
            self.logger.warning("Memory stats not available for guest %s: %s", self.uuid, error)
            self.stats_available = False
        return {}

    @classmethod
    def collect_columns(cls, collectors: list[Any], alive: list[bool]) -> dict[str, list[Any]] | None:
        """A batched round's samples, from an interface that answers many guests at once
        (libvirt's ``memory_samples``); None: ask each ``collect()``."""
        iface = collectors[0].iface
        columns_of = getattr(iface, "memory_columns", None)
        if columns_of is not None and cls.collect is GuestMemory.collect and all_share(collectors, "iface", iface):
            return cls._from_columns(collectors, alive, *columns_of(uuids_of(collectors)))
        samples_of = getattr(iface, "memory_samples", None)
        if samples_of is None or cls.collect is not GuestMemory.collect or not all_share(collectors, "iface", iface):
            return None
        samples: list[Any] = []
        for collector, sample in zip(collectors, samples_of(uuids_of(collectors))):
            if isinstance(sample, HypervisorInterfaceError):
                sample = collector._unavailable(sample)
            else:
                collector.stats_available = True
            samples.append(sample)
        for index, ok in enumerate(alive):
            if not ok:
                samples[index] = None
        return transpose(samples)

    @staticmethod
    def _from_columns(
        collectors: list[Any], alive: list[bool], columns: dict[str, list[Any]], failures: dict[int, Any]
    ) -> dict[str, list[Any]]:
        """The round's columns, what collect() notes done for each guest (a failure
        logged once, as ``_unavailable``), the guests not alive left out."""
        if not failures:  # the usual round (a Python loop: its attribute store is specialized)
            for collector in collectors:
                collector.stats_available = True
            return without_dead(columns, alive)
        for position, collector in enumerate(collectors):
            if position in failures:
                collector._unavailable(failures[position])
            else:
                collector.stats_available = True
        return without_dead(columns, alive)


class GuestMemoryOptional(GuestMemory):
    """GuestMemory whose fields are all optional (vdsm's choice)."""

    fields = frozenset()
    optional_fields = _FIELDS | _OPTIONAL
