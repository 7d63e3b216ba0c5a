"""oVirt MOM import path ``mom.HostMonitor``. Implementation: :mod:`mom.runtime.host_monitor`."""

from mom.runtime.host_monitor import HostMonitor

__all__ = ["HostMonitor"]
