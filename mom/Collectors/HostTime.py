"""oVirt MOM import path ``mom.Collectors.HostTime``. Implementation: :mod:`mom.plugins.collectors.host_time`."""

from mom.plugins.collectors.host_time import HostTime

__all__ = ["HostTime"]
