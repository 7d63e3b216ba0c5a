"""oVirt MOM import path ``mom.Collectors.HostMemory``. Implementation: :mod:`mom.plugins.collectors.host_memory`."""

from mom.plugins.collectors.host_memory import HostMemory

__all__ = ["HostMemory"]
