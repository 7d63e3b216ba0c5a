"""GuestSla: a guest's SLA class, priority, guarantee and tags, as guest fields for policies.

The SLA comes from the daemon's :class:`~mom.sla.registry.SlaRegistry` (guest property
``sla_registry``), which combines the RPC, the hypervisor's metadata (libvirt only) and
the ``[sla]`` rules; see the README's "SLA classes".
"""

from __future__ import annotations

import logging
from typing import Any, Mapping

from mom.plugins.collectors.base import Collector
from mom.sla.classes import margin_kib, reclaim_ranks
from mom.sla.config import SlaConfig, tag_field
from mom.sla.registry import SlaRegistry

__all__ = ["GuestSla"]

_log = logging.getLogger("mom.Collectors.GuestSla")
_warned_no_registry = False


class GuestSla(Collector):
    """The guest's SLA.

    - ``sla_class``: its class name (a string: ``(== Guest.sla_class "gold")``)
    - ``sla_priority``: 0-100 (default 50)
    - ``sla_tags``: its tags, space-separated (a string; "" if none)
    - ``sla_guarantee``: the memory it keeps, KiB (optional: None while the balloon
      size is unknown)
    - ``sla_reclaim_rank``: its class's rank for the allocator (0 reclaimed first ..
      63 never; :func:`mom.sla.classes.reclaim_ranks`)
    - ``sla_margin``: the free memory its class keeps above what it uses, KiB (optional,
      as ``sla_guarantee``)
    - ``sla_tag_<tag>``: 1 if it has the tag, else 0, for each tag of ``[sla] tag-fields``
    """

    fields = frozenset({"sla_class", "sla_priority", "sla_tags", "sla_reclaim_rank", "balloon_stuck"})
    optional_fields = frozenset({"sla_guarantee", "sla_margin"})

    def __init__(self, properties: Mapping[str, Any]) -> None:
        super().__init__(properties)
        self.iface = properties["hypervisor_iface"]
        self.uuid = str(properties["uuid"])
        self.name = str(properties["name"])
        registry = properties.get("sla_registry")
        if registry is None:
            # a guest manager built outside momd's composition root: each guest gets the
            # shipped classes only (said once per process, not once per guest)
            global _warned_no_registry
            if not _warned_no_registry:
                _warned_no_registry = True
                _log.warning("GuestSla: no SLA registry (not momd); mom.conf's [sla] does not apply")
            registry = SlaRegistry(SlaConfig())
        self.registry: SlaRegistry = registry
        self.tag_fields = {tag: tag_field(tag) for tag in registry.config.tag_fields}
        self.ranks = reclaim_ranks(registry.config.classes)
        self.fields = GuestSla.fields | frozenset(self.tag_fields.values())
        registry.guest_found(self.uuid, self.name)

    def collect(self) -> dict[str, Any]:
        sla = self.registry.observe(self.uuid, self.name, self.iface.getVmSlaMetadata(self.uuid))
        balloon = self.iface.getVmBalloonInfo(self.uuid)
        data: dict[str, Any] = {
            "sla_class": sla.sla_class.name,
            "sla_priority": sla.priority,
            "sla_tags": " ".join(sla.tags),
            "sla_guarantee": self.registry.guarantee(self.uuid, sla, balloon),
            "sla_reclaim_rank": self.ranks[sla.sla_class.name],
            "sla_margin": None,
            # 1 while the Balloon controller holds this guest's balloon stuck
            "balloon_stuck": 1 if self.uuid in self.registry.stuck_balloons else 0,
        }
        if balloon is not None and balloon.get("balloon_max") is not None:
            data["sla_margin"] = margin_kib(int(balloon["balloon_max"]), sla.sla_class)
        for tag, name in self.tag_fields.items():
            data[name] = 1 if sla.has_tag(tag) else 0
        return data
