"""oVirt MOM import path ``mom.Collectors.HostCpuPressure``. Implementation: :mod:`mom.plugins.collectors.host_cpu_pressure`."""

from mom.plugins.collectors.host_cpu_pressure import HostCpuPressure

__all__ = ["HostCpuPressure"]
