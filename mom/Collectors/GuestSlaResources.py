"""oVirt MOM import path ``mom.Collectors.GuestSlaResources``. Implementation: :mod:`mom.plugins.collectors.guest_sla_resources`."""

from mom.plugins.collectors.guest_sla_resources import GuestSlaResources

__all__ = ["GuestSlaResources"]
