"""NumaPlacement controller: numad-style placement of large guests on one NUMA node.

A guest the policy marks (guest control ``numa_place``: the KiB it needs on one node) is
placed on the node with the most free memory that fits it: its memory there
(libvirt's ``numa_nodeset``) and its vCPUs pinned to that node's CPUs.  A placed guest
moves only when its locality is poor (the share of its QEMU's pages on its node, from
``/proc/PID/numa_maps``, below host control ``numa_min_locality``) and another node
fits, and never twice within host control ``numa_cooldown`` seconds (default 300), so
nothing flaps.  A single-node host does nothing and says so once.
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable, Iterable, Mapping

from mom.plugins.controllers.base import Controller
from mom.plugins.numa_sysfs import NODE_DIR, NumaNode, parse_numa_maps, read_nodes

__all__ = ["NumaPlacement", "DEFAULT_COOLDOWN", "DEFAULT_MIN_LOCALITY"]

DEFAULT_COOLDOWN = 300.0
DEFAULT_MIN_LOCALITY = 0.5


class NumaPlacement(Controller):
    """Guest control ``numa_place`` (KiB needed on one node; 0 or unset: leave alone);
    host controls ``numa_cooldown`` (s) and ``numa_min_locality`` (0..1)."""

    def __init__(
        self,
        properties: Mapping[str, Any],
        sysfs: str | None = None,
        proc: str = "/proc",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(properties)
        self.sysfs = sysfs or getattr(self.hypervisor_iface, "numa_sysfs", None) or NODE_DIR
        self.proc = proc
        self.clock = clock
        #: uuid -> when this controller last placed it (monotonic seconds)
        self.placed_at: dict[str, float] = {}
        self._single_said = False
        self._ask_libvirt = True
        self._no_fit_said: set[str] = set()

    def nodes(self) -> list[NumaNode]:
        """The nodes with memory; free memory from libvirt's cells where it has them, else sysfs's."""
        try:
            nodes = [node for node in read_nodes(self.sysfs) if node.total_kib > 0]
        except OSError:
            return []
        free = None
        if nodes and self._ask_libvirt:
            free = self.hypervisor_iface.getNumaCellsFree(max(node.node_id for node in nodes) + 1)
            # a driver whose cells are not these nodes (a remote or test host) is not asked again
            self._ask_libvirt = free is not None
        if free is not None:
            nodes = [
                NumaNode(n.node_id, n.cpus, n.total_kib, free[n.node_id]) if n.node_id < len(free) else n
                for n in nodes
            ]
        return nodes

    def process(self, host: Any, guests: Iterable[Any]) -> None:
        guests = [guest for guest in guests if (guest.GetControl("numa_place") or 0) > 0]
        if len(self.placed_at) > len(guests):  # forget the guests no longer marked or gone
            marked = {guest.Prop("uuid") for guest in guests}
            self.placed_at = {uuid: when for uuid, when in self.placed_at.items() if uuid in marked}
        if not guests:
            return
        nodes = self.nodes()
        if len(nodes) < 2:
            if not self._single_said:
                self._single_said = True
                self.logger.info("NUMA placement: this host has %d NUMA node(s): nothing to place", len(nodes) or 1)
            return
        cooldown = host.GetControl("numa_cooldown")
        min_locality = host.GetControl("numa_min_locality")
        self.cooldown = DEFAULT_COOLDOWN if cooldown is None else float(cooldown)
        self.min_locality = DEFAULT_MIN_LOCALITY if min_locality is None else float(min_locality)
        self.free = {node.node_id: node.free_kib for node in nodes}
        self.by_id = {node.node_id: node for node in nodes}
        self.host_cpus = max(cpu for node in nodes for cpu in node.cpus) + 1
        self.for_each_guest(guests, self.process_guest)

    def process_guest(self, guest: Any) -> None:
        uuid = guest.Prop("uuid")
        needed = int(guest.GetControl("numa_place"))
        tune = self.hypervisor_iface.getVmResourceTune(uuid)
        if tune is None:
            return
        nodeset = tune.get("numa_nodeset") or ""
        current = int(nodeset) if nodeset.isdigit() and int(nodeset) in self.by_id else None
        now = self.clock()
        if current is not None:
            last = self.placed_at.get(uuid)
            if last is not None and now - last < self.cooldown:
                return
            locality = self.locality(guest.properties.get("pid"), current)
            if locality is None or locality >= self.min_locality:
                return  # nothing to measure, or local enough: stay
        candidates = [node for node in self.free if node != current and self.free[node] >= needed]
        if not candidates:
            if uuid not in self._no_fit_said:
                self._no_fit_said.add(uuid)
                self.logger.info("NUMA placement: no node has %d KiB free for guest %s", needed, guest.properties.get("name"))
            return
        self._no_fit_said.discard(uuid)
        target = max(candidates, key=lambda node: (self.free[node], -node))
        self.logger.info(
            "NUMA placement: guest %s (%d KiB) to node %d (was %s)",
            guest.properties.get("name"),
            needed,
            target,
            "unplaced" if current is None else current,
        )
        self.hypervisor_iface.setVmNumaPlacement(uuid, target, list(self.by_id[target].cpus), self.host_cpus)
        self.placed_at[uuid] = now
        self.free[target] -= needed  # the next guest of this cycle sees it taken

    def locality(self, pid: Any, node: int) -> float | None:
        """The share of the process's pages on ``node``; None if it cannot be read."""
        if pid is None:
            return None
        try:
            with open(os.path.join(self.proc, str(pid), "numa_maps"), encoding="utf-8") as handle:
                pages = parse_numa_maps(handle.read())
        except OSError:
            return None
        total = sum(pages.values())
        return pages.get(node, 0) / total if total else None
