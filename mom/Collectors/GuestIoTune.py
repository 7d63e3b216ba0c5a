"""oVirt MOM import path ``mom.Collectors.GuestIoTune``. Implementation: :mod:`mom.plugins.collectors.guest_io_tune`."""

from mom.plugins.collectors.guest_io_tune import GuestIoTune

__all__ = ["GuestIoTune"]
