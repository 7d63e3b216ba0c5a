"""oVirt MOM import path ``mom.Collectors.GuestMemoryOptional``. Implementation: :mod:`mom.plugins.collectors.guest_memory`."""

from mom.plugins.collectors.guest_memory import GuestMemoryOptional

__all__ = ["GuestMemoryOptional"]
