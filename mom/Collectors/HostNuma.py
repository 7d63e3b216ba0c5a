"""oVirt MOM import path ``mom.Collectors.HostNuma``. Implementation: :mod:`mom.plugins.collectors.host_numa`."""

from mom.plugins.collectors.host_numa import HostNuma

__all__ = ["HostNuma"]
