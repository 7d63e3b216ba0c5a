"""GuestBalloon: a guest's balloon size and bounds, through the hypervisor."""

from __future__ import annotations

import logging
from typing import Any, Mapping

from mom.plugins.collectors.base import Collector, interface_columns, samples_columns

__all__ = ["GuestBalloon", "GuestBalloonOptional"]

_FIELDS = frozenset({"balloon_cur", "balloon_max", "balloon_min"})


class GuestBalloon(Collector):
    """The memory balloon (KiB).

    - ``balloon_cur``: memory the guest has now
    - ``balloon_max``: the most it may have
    - ``balloon_min``: the guaranteed minimum (0 if none)
    """

    batchable = True  # a batched round asks every guest's collect() in turn

    # in the object itself, not in its __dict__'s values (the base class has one): a
    # batched round notes info_available on a thousand collectors scattered in memory,
    # and a slot is one cache line less to wait for (and to write) each
    __slots__ = ("logger", "iface", "uuid", "info_available")

    fields = _FIELDS

    def __init__(self, properties: Mapping[str, Any]) -> None:
        super().__init__(properties)
        self.logger = logging.getLogger("mom.Collectors.GuestBalloon")
        self.iface = properties["hypervisor_iface"]
        self.uuid = properties["uuid"]
        self.info_available = True

    def collect(self) -> dict[str, Any] | None:
        return self._noted(self.iface.getVmBalloonInfo(self.uuid))

    def _noted(self, info: dict[str, Any] | None) -> dict[str, Any] | None:
        if info is None:
            if self.info_available:
                self.logger.debug("Balloon info not available for guest %s", self.uuid)
                self.info_available = False
            return None
        self.info_available = True
        return info

    @classmethod
    def collect_columns(cls, collectors: list[Any], alive: list[bool]) -> dict[str, list[Any]] | None:
        """A batched round: libvirt's ``balloon_columns`` (every guest answered), else its
        ``balloon_samples`` for every guest; None: ask each ``collect()``."""
        columns = interface_columns(cls, GuestBalloon, collectors, alive, "balloon_columns")
        if columns is not None:
            for collector in collectors:
                collector.info_available = True  # as _noted notes an answer
            return columns
        return samples_columns(cls, GuestBalloon, collectors, alive, "balloon_samples", note=cls._noted)


class GuestBalloonOptional(GuestBalloon):
    """GuestBalloon whose fields are all optional."""

    fields = frozenset()
    optional_fields = _FIELDS
