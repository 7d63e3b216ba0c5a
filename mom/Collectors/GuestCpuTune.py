"""oVirt MOM import path ``mom.Collectors.GuestCpuTune``. Implementation: :mod:`mom.plugins.collectors.guest_cpu_tune`."""

from mom.plugins.collectors.guest_cpu_tune import GuestCpuTune

__all__ = ["GuestCpuTune"]
