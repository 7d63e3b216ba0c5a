"""What the ``libvirt`` interface reads from a domain's XML and its bulk statistics.

:func:`parse_domain_xml` turns one ``XMLDesc()`` into a :class:`DomainXml`: maximum
memory and the balloon guarantee (KiB), the current vCPU count, the disks with their
current IO limits, and oVirt's tuning metadata (namespace ``http://ovirt.org/vm/tune/1.0``,
where oVirt keeps ``vcpuLimit`` and the disks' IO policies)::

    <qos><vcpuLimit>50</vcpuLimit>
      <ioTune><device name="vda" path="/images/a.img">
        <guaranteed><total_bytes_sec>1000</total_bytes_sec></guaranteed>
        <maximum><total_bytes_sec>5000</total_bytes_sec></maximum>
      </device></ioTune></qos>

The ``BULK_*`` tables map the keys of ``getAllDomainStats`` records to collector fields.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from typing import Any

from mom.plugins.collectors.io_tune import IO_TUNE_KEYS
from mom.sla.sources import MOM_NAMESPACE, OVIRT_KEYS, OVIRT_VM_NAMESPACE

__all__ = [
    "TUNE_NAMESPACE",
    "MEMORY_STATS_MAP",
    "BULK_MEMORY_MAP",
    "BANDWIDTH_KEYS",
    "DomainXml",
    "parse_domain_xml",
]

TUNE_NAMESPACE = "http://ovirt.org/vm/tune/1.0"

#: libvirt memoryStats() key -> GuestMemory field (all KiB, faults and swap are counts)
MEMORY_STATS_MAP = {
    "available": "mem_available",
    "unused": "mem_unused",
    "major_fault": "major_fault",
    "minor_fault": "minor_fault",
    "swap_in": "swap_in",
    "swap_out": "swap_out",
}

#: getAllDomainStats balloon group key -> GuestMemory field (the same values, another name)
BULK_MEMORY_MAP = {"balloon." + key: field for key, field in MEMORY_STATS_MAP.items()}

_KIB_PER_UNIT = {
    "b": 1 / 1024,
    "bytes": 1 / 1024,
    "kb": 1000 / 1024,
    "k": 1,
    "kib": 1,
    "mb": 1000**2 / 1024,
    "m": 1024,
    "mib": 1024,
    "gb": 1000**3 / 1024,
    "g": 1024**2,
    "gib": 1024**2,
    "tb": 1000**4 / 1024,
    "t": 1024**3,
    "tib": 1024**3,
}


@dataclass
class DomainXml:
    """The parts of a live domain definition the collectors need."""

    max_memory: int = 0  # KiB, <memory> (what info()[1] reports)
    min_guarantee: int = 0  # KiB, <memtune><min_guarantee>, 0 if none
    vcpus: int = 0  # vCPUs now: <vcpu current=...>, else the <vcpu> count
    #: (target dev, source path or None) of every <disk device='disk'>, in XML order
    disks: list[tuple[str, str | None]] = field(default_factory=list)
    #: target dev -> current IO limits of that disk (<iotune>; absent limits are 0)
    io_limits: dict[str, dict[str, int]] = field(default_factory=dict)
    vcpu_limit: int = 100  # percent, oVirt metadata <vcpuLimit>, 100 if unset
    #: oVirt IO policies: [{name, path, guaranteed{}, maximum{}}]
    io_policy: list[dict[str, Any]] = field(default_factory=list)
    #: our SLA element (namespace urn:mom:sla:1) as XML text, parsed by mom.sla; or None
    mom_sla: str | None = None
    #: oVirt's custom properties sla_class, sla_priority, sla_tags (ovirt-vm:custom)
    ovirt_custom: dict[str, str] = field(default_factory=dict)
    #: <blkiotune><weight>, 0 if none
    blkio_weight: int = 0
    #: target dev -> {"inbound.average": KiB/s, ... "outbound.burst": KiB} of every
    #: <interface> with a target (absent values are 0: unlimited)
    bandwidth: dict[str, dict[str, int]] = field(default_factory=dict)
    #: <numatune><memory nodeset>, "" if none
    numa_nodeset: str = ""
    #: vCPU -> its <cputune><vcpupin cpuset>
    vcpu_pins: dict[int, str] = field(default_factory=dict)

    def resource_tune(self) -> dict[str, Any]:
        """What ``getVmResourceTune`` answers (fresh containers)."""
        return {
            "blkio_weight": self.blkio_weight,
            "bandwidth": {dev: dict(values) for dev, values in self.bandwidth.items()},
            "numa_nodeset": self.numa_nodeset,
            "vcpu_pins": dict(self.vcpu_pins),
        }

    def sla_metadata(self) -> dict[str, Any]:
        """What ``getVmSlaMetadata`` answers (see :mod:`mom.sla.registry`)."""
        return {"mom_sla": self.mom_sla, "ovirt_custom": dict(self.ovirt_custom)}

    def io_tune_state(self) -> list[dict[str, Any]]:
        """Fresh ``{name, path, ioTune}`` dicts (the IoTune setters write into them)."""
        return [
            {"name": name, "path": path, "ioTune": dict(self.io_limits.get(name) or dict.fromkeys(IO_TUNE_KEYS, 0))}
            for name, path in self.disks
        ]

    def io_tune_policy(self) -> list[dict[str, Any]]:
        """The IO policies (shared: callers copy what they change, as match_io_tunes does)."""
        return self.io_policy


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def _kib(node: ElementTree.Element | None) -> int:
    """A libvirt memory size element in KiB (``unit`` attribute, default KiB)."""
    if node is None or not (node.text or "").strip():
        return 0
    factor = _KIB_PER_UNIT.get((node.get("unit") or "KiB").lower(), 1)
    return int(int(node.text.strip()) * factor)


def _int(text: str | None, default: int = 0) -> int:
    try:
        return int((text or "").strip())
    except ValueError:
        return default


def _tune_metadata(root: ElementTree.Element) -> ElementTree.Element | None:
    metadata = root.find("metadata")
    if metadata is None:
        return None
    for child in metadata:
        if child.tag.startswith("{" + TUNE_NAMESPACE + "}"):
            return child
    return None


def _sla_metadata(root: ElementTree.Element, parsed: DomainXml) -> None:
    metadata = root.find("metadata")
    if metadata is None:
        return
    sla = metadata.find(f"{{{MOM_NAMESPACE}}}sla")
    if sla is not None:
        sla.tail = None
        parsed.mom_sla = ElementTree.tostring(sla, encoding="unicode")
    for node in metadata.findall(f"{{{OVIRT_VM_NAMESPACE}}}vm/{{{OVIRT_VM_NAMESPACE}}}custom/*"):
        key = _local(node.tag)
        if key in OVIRT_KEYS:
            parsed.ovirt_custom[key] = (node.text or "").strip()


def _io_policy(tune: ElementTree.Element) -> list[dict[str, Any]]:
    policies = []
    for device in tune.iter():
        if _local(device.tag) != "device":
            continue
        entry: dict[str, Any] = {"name": device.get("name"), "path": device.get("path")}
        for kind in ("guaranteed", "maximum"):
            entry[kind] = {}
            for child in device:
                if _local(child.tag) == kind:
                    # interned: policies look limits up by (interned) name, see IoTune
                    entry[kind] = {sys.intern(_local(limit.tag)): _int(limit.text) for limit in child}
        policies.append(entry)
    return policies


def parse_domain_xml(text: str) -> DomainXml:
    """Parse ``XMLDesc()`` of a domain; ValueError if it is not a domain definition."""
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as error:
        raise ValueError(f"unreadable domain XML: {error}") from None
    if root.tag != "domain":
        raise ValueError(f"not a domain definition: <{root.tag}>")
    parsed = DomainXml()
    parsed.max_memory = _kib(root.find("memory"))
    parsed.min_guarantee = _kib(root.find("memtune/min_guarantee"))
    vcpu = root.find("vcpu")
    if vcpu is not None:
        parsed.vcpus = _int(vcpu.get("current"), _int(vcpu.text))
    for disk in root.findall("devices/disk"):
        if disk.get("device", "disk") != "disk":
            continue  # cdroms and floppies have no IO policy
        target = disk.find("target")
        name = None if target is None else target.get("dev")
        if not name:
            continue
        source = disk.find("source")
        path = None
        if source is not None:
            path = source.get("file") or source.get("dev") or source.get("name")
        parsed.disks.append((name, path))
        iotune = disk.find("iotune")
        limits = dict.fromkeys(IO_TUNE_KEYS, 0)
        if iotune is not None:
            for key in IO_TUNE_KEYS:
                node = iotune.find(key)
                if node is not None:
                    limits[key] = _int(node.text)
        parsed.io_limits[name] = limits
    tune = _tune_metadata(root)
    if tune is not None:
        for node in tune.iter():
            if _local(node.tag) == "vcpuLimit" and (node.text or "").strip():
                parsed.vcpu_limit = _int(node.text, 100)
                break
        parsed.io_policy = _io_policy(tune)
    _sla_metadata(root, parsed)
    _resource_tune(root, parsed)
    return parsed


#: the keys of virDomainSetInterfaceParameters, in the XML's <bandwidth> attribute names
BANDWIDTH_KEYS = tuple(f"{way}.{what}" for way in ("inbound", "outbound") for what in ("average", "peak", "burst"))


def _resource_tune(root: ElementTree.Element, parsed: DomainXml) -> None:
    parsed.blkio_weight = _int(root.findtext("blkiotune/weight"))
    for interface in root.findall("devices/interface"):
        target = interface.find("target")
        dev = None if target is None else target.get("dev")
        if not dev:
            continue
        values = dict.fromkeys(BANDWIDTH_KEYS, 0)
        for way in ("inbound", "outbound"):
            node = interface.find(f"bandwidth/{way}")
            if node is not None:
                for what in ("average", "peak", "burst"):
                    values[f"{way}.{what}"] = _int(node.get(what))
        parsed.bandwidth[dev] = values
    memory = root.find("numatune/memory")
    if memory is not None:
        parsed.numa_nodeset = memory.get("nodeset") or ""
    for pin in root.findall("cputune/vcpupin"):
        parsed.vcpu_pins[_int(pin.get("vcpu"))] = pin.get("cpuset") or ""

