"""oVirt MOM import path ``mom.GuestMonitor``. Implementation: :mod:`mom.runtime.guest_monitor`."""

from mom.runtime.guest_monitor import GuestMonitor

__all__ = ["GuestMonitor"]
