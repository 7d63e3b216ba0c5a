"""oVirt MOM import path ``mom.Controllers.CpuShares``. Implementation: :mod:`mom.plugins.controllers.cpu_shares`."""

from mom.plugins.controllers.cpu_shares import CpuShares

__all__ = ["CpuShares"]
