"""oVirt MOM import path ``mom.Controllers.NetworkBandwidth``. Implementation: :mod:`mom.plugins.controllers.network_bandwidth`."""

from mom.plugins.controllers.network_bandwidth import NetworkBandwidth

__all__ = ["NetworkBandwidth"]
