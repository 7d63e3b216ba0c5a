"""oVirt MOM import path ``mom.Collectors.GuestIoTuneOptional``. Implementation: :mod:`mom.plugins.collectors.guest_io_tune`."""

from mom.plugins.collectors.guest_io_tune import GuestIoTuneOptional

__all__ = ["GuestIoTuneOptional"]
