"""oVirt MOM import path ``mom.Collectors.HostIoPressure``. Implementation: :mod:`mom.plugins.collectors.host_io_pressure`."""

from mom.plugins.collectors.host_io_pressure import HostIoPressure

__all__ = ["HostIoPressure"]
