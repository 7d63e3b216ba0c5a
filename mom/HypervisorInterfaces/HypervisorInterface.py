"""oVirt MOM import path ``mom.HypervisorInterfaces.HypervisorInterface``. Implementation: :mod:`mom.plugins.hypervisors.base`."""

from mom.plugins.hypervisors.base import ConnectionError, HypervisorInterface, HypervisorInterfaceError

__all__ = ["HypervisorInterface", "HypervisorInterfaceError", "ConnectionError"]
