"""oVirt MOM import path ``mom.HypervisorInterfaces.libvirtInterface``. Implementation: :mod:`mom.plugins.hypervisors.libvirt`."""

from mom.plugins.hypervisors.base import ConnectionError, HypervisorInterfaceError
from mom.plugins.hypervisors.libvirt import LibvirtInterface, instance

libvirtInterface = LibvirtInterface

__all__ = ["instance", "libvirtInterface", "LibvirtInterface", "HypervisorInterfaceError", "ConnectionError"]
