"""GuestSlaResources: the CPU, block IO and network values of a guest's SLA class, as guest fields.

The class comes from the daemon's :class:`~mom.sla.registry.SlaRegistry`, as GuestSla's
does (list GuestSla first: it reads the metadata; this collector only asks the registry
for the answer it already has, without a hypervisor call).
"""

from __future__ import annotations

import logging
from typing import Any, Mapping

from mom.plugins.collectors.base import Collector
from mom.sla.classes import RESOURCE_FIELDS, resource_fields
from mom.sla.config import SlaConfig
from mom.sla.registry import SlaRegistry

__all__ = ["GuestSlaResources"]

_log = logging.getLogger("mom.Collectors.GuestSlaResources")


class GuestSlaResources(Collector):
    """The guest's class table row (README "CPU, IO, network and NUMA by class").

    - ``sla_cpu_shares``: CPU weight (libvirt ``cpu_shares``)
    - ``sla_cpu_guarantee``: fraction of its vCPUs the class promises under contention
    - ``sla_cpu_cap``: fraction of a CPU each vCPU is capped at under contention (0: never)
    - ``sla_blkio_weight``: block IO weight (100..1000)
    - ``sla_io_cap_bytes``, ``sla_io_cap_iops``: per-disk cap under IO pressure (0: never)
    - ``sla_net_in_average``, ``sla_net_in_peak`` (KiB/s), ``sla_net_in_burst`` (KiB), and
      ``sla_net_out_...``: per-interface bandwidth (0: unlimited)
    """

    fields = RESOURCE_FIELDS

    def __init__(self, properties: Mapping[str, Any]) -> None:
        super().__init__(properties)
        self.uuid = str(properties["uuid"])
        self.name = str(properties["name"])
        registry = properties.get("sla_registry")
        if registry is None:
            _log.debug("GuestSlaResources: no SLA registry (not momd): the shipped classes")
            registry = SlaRegistry(SlaConfig())
            registry.guest_found(self.uuid, self.name)
        self.registry: SlaRegistry = registry

    def collect(self) -> dict[str, Any]:
        # None: no new metadata; the registry answers with what GuestSla last saw
        sla = self.registry.observe(self.uuid, self.name, None)
        return dict(resource_fields(sla.sla_class))
