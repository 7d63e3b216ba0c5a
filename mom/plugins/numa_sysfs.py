"""The host's NUMA topology from ``/sys/devices/system/node``: nodes, their CPUs and memory.

``nodeN/cpulist`` is a CPU list (``0-3,8``); ``nodeN/meminfo`` has ``Node N MemTotal:``
and ``Node N MemFree:`` lines in kB.  A machine without the directory (a kernel built
without NUMA) is one node holding every CPU.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

__all__ = ["NODE_DIR", "NumaNode", "parse_cpulist", "read_nodes", "parse_numa_maps"]

NODE_DIR = "/sys/devices/system/node"

_NODE = re.compile(r"^node(\d+)$")
_MEMINFO = re.compile(r"^Node\s+\d+\s+(MemTotal|MemFree):\s+(\d+)\s*kB", re.M)


@dataclass(frozen=True)
class NumaNode:
    """One node: its id, CPUs and memory (KiB)."""

    node_id: int
    cpus: tuple[int, ...]
    total_kib: int
    free_kib: int


def parse_cpulist(text: str) -> tuple[int, ...]:
    """``"0-3,8"`` as ``(0, 1, 2, 3, 8)``; ValueError for anything else."""
    cpus: list[int] = []
    for part in text.strip().split(","):
        if not part:
            continue
        first, sep, last = part.partition("-")
        cpus.extend(range(int(first), int(last) + 1) if sep else [int(first)])
    return tuple(cpus)


def read_nodes(root: str = NODE_DIR) -> list[NumaNode]:
    """Every node with memory or CPUs, by id; OSError if ``root`` cannot be listed."""
    nodes = []
    for entry in os.listdir(root):
        match = _NODE.match(entry)
        if not match:
            continue
        directory = os.path.join(root, entry)
        try:
            with open(os.path.join(directory, "cpulist"), encoding="ascii") as handle:
                cpus = parse_cpulist(handle.read())
            with open(os.path.join(directory, "meminfo"), encoding="ascii") as handle:
                memory = {key: int(value) for key, value in _MEMINFO.findall(handle.read())}
        except (OSError, ValueError):
            continue  # a node going offline meanwhile, or not a node
        nodes.append(NumaNode(int(match.group(1)), cpus, memory.get("MemTotal", 0), memory.get("MemFree", 0)))
    return sorted(nodes, key=lambda node: node.node_id)


def parse_numa_maps(text: str) -> dict[int, int]:
    """Pages per node of a process, summed over ``/proc/PID/numa_maps`` (``N0=123`` items)."""
    pages: dict[int, int] = {}
    for line in text.splitlines():
        for item in line.split():
            if item.startswith("N") and "=" in item:
                node, _, count = item[1:].partition("=")
                if node.isdigit() and count.isdigit():
                    pages[int(node)] = pages.get(int(node), 0) + int(count)
    return pages
