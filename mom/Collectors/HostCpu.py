"""oVirt MOM import path ``mom.Collectors.HostCpu``. Implementation: :mod:`mom.plugins.collectors.host_cpu`."""

from mom.plugins.collectors.host_cpu import HostCpu

__all__ = ["HostCpu"]
