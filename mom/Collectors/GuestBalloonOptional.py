"""oVirt MOM import path ``mom.Collectors.GuestBalloonOptional``. Implementation: :mod:`mom.plugins.collectors.guest_balloon`."""

from mom.plugins.collectors.guest_balloon import GuestBalloonOptional

__all__ = ["GuestBalloonOptional"]
