"""A private libvirt test-driver host whose guests have a network interface (for bandwidth)."""

from __future__ import annotations

import uuid as uuid_module


def write_host(path: str, guests: int = 2, memory_kib: int = 1024 * 1024) -> list[tuple[str, str]]:
    """Running domains ``rs0000...`` with 2 vCPUs, a disk and an interface ``momnet<N>`` (libvirt drops a configured ``vnet`` name)."""
    names, domains = [], []
    for index in range(guests):
        name = f"rs{index:04d}"
        uuid = str(uuid_module.uuid5(uuid_module.NAMESPACE_URL, f"mom-test/{path}/{name}"))
        names.append((name, uuid))
        domains.append(
            f"""  <domain type='test'>
    <name>{name}</name><uuid>{uuid}</uuid>
    <memory unit='KiB'>{memory_kib}</memory><currentMemory unit='KiB'>{memory_kib}</currentMemory>
    <vcpu placement='static'>2</vcpu>
    <os><type arch='x86_64'>hvm</type></os>
    <devices>
      <disk type='file' device='disk'><source file='/images/{name}.img'/><target dev='vda' bus='virtio'/></disk>
      <interface type='network'><mac address='52:54:00:00:00:{index:02x}'/><source network='default'/>
        <target dev='momnet{index}'/></interface>
    </devices>
    <test:runstate>1</test:runstate>
  </domain>"""
        )
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("<node xmlns:test='http://libvirt.org/schemas/domain/test'>\n" + "\n".join(domains) + "\n</node>\n")
    return names
