"""oVirt MOM import path ``mom.GuestManager``. Implementation: :mod:`mom.runtime.guest_manager`."""

from mom.runtime.guest_manager import GuestManager

__all__ = ["GuestManager"]
