"""HostNuma: the host's NUMA nodes and their free memory (/sys/devices/system/node)."""

from __future__ import annotations

import logging
from typing import Any, Mapping

from mom.plugins.collectors.base import Collector
from mom.plugins.numa_sysfs import NODE_DIR, read_nodes

__all__ = ["HostNuma"]


class HostNuma(Collector):
    """NUMA topology.

    - ``numa_node_count``: nodes with memory (1 on a machine without NUMA)
    - ``numa_free_max``: free memory of the node with the most, KiB (optional)
    - ``numa_free_min``: free memory of the node with the least, KiB (optional)

    The placement controller (NumaPlacement) reads the nodes itself, with libvirt's
    free memory per cell.  ``[Collector: HostNuma] sysfs`` reads another node directory.
    """

    fields = frozenset({"numa_node_count"})
    optional_fields = frozenset({"numa_free_max", "numa_free_min"})

    def __init__(self, properties: Mapping[str, Any], sysfs: str | None = None) -> None:
        super().__init__(properties)
        self.logger = logging.getLogger("mom.Collectors.HostNuma")
        self.root = sysfs or dict(properties.get("config") or {}).get("sysfs") or NODE_DIR
        self._said = False

    def collect(self) -> dict[str, Any]:
        try:
            nodes = [node for node in read_nodes(self.root) if node.total_kib > 0]
        except OSError as error:
            if not self._said:
                self._said = True
                self.logger.info("HostNuma: no NUMA information (%s): one node", error)
            return {"numa_node_count": 1}
        if not nodes:
            return {"numa_node_count": 1}
        free = [node.free_kib for node in nodes]
        return {"numa_node_count": len(nodes), "numa_free_max": max(free), "numa_free_min": min(free)}
