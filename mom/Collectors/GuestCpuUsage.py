"""oVirt MOM import path ``mom.Collectors.GuestCpuUsage``. Implementation: :mod:`mom.plugins.collectors.guest_cpu_usage`."""

from mom.plugins.collectors.guest_cpu_usage import GuestCpuUsage

__all__ = ["GuestCpuUsage"]
