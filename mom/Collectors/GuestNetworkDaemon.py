"""oVirt MOM import path ``mom.Collectors.GuestNetworkDaemon``. Implementation: :mod:`mom.plugins.collectors.guest_network_daemon`."""

from mom.plugins.collectors.guest_network_daemon import GuestNetworkDaemon, _Server

__all__ = ["GuestNetworkDaemon", "_Server"]
