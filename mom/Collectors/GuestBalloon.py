"""oVirt MOM import path ``mom.Collectors.GuestBalloon``. Implementation: :mod:`mom.plugins.collectors.guest_balloon`."""

from mom.plugins.collectors.guest_balloon import GuestBalloon

__all__ = ["GuestBalloon"]
