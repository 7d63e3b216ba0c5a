"""oVirt MOM import path ``mom.Collectors.GuestMemory``. Implementation: :mod:`mom.plugins.collectors.guest_memory`."""

from mom.plugins.collectors.guest_memory import GuestMemory

__all__ = ["GuestMemory"]
