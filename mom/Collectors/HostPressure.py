"""oVirt MOM import path ``mom.Collectors.HostPressure``. Implementation: :mod:`mom.plugins.collectors.host_pressure`."""

from mom.plugins.collectors.host_pressure import HostPressure

__all__ = ["HostPressure"]
