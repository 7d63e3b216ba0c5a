"""oVirt MOM import path ``mom.Collectors.GuestPressure``. Implementation: :mod:`mom.plugins.collectors.guest_pressure`."""

from mom.plugins.collectors.guest_pressure import GuestPressure

__all__ = ["GuestPressure"]
