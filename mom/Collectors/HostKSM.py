"""oVirt MOM import path ``mom.Collectors.HostKSM``. Implementation: :mod:`mom.plugins.collectors.host_ksm`."""

from mom.plugins.collectors.host_ksm import HostKSM

__all__ = ["HostKSM"]
