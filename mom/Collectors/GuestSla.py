"""Import path ``mom.Collectors.GuestSla`` (upstream style). Implementation: :mod:`mom.plugins.collectors.guest_sla`."""

from mom.plugins.collectors.guest_sla import GuestSla

__all__ = ["GuestSla"]
