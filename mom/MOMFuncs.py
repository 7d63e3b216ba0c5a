"""oVirt MOM import path ``mom.MOMFuncs``. Implementation: :mod:`mom.rpc.api`."""

from mom.rpc.api import EXPORTED_ATTRIBUTE, MOMFuncs, exported

__all__ = ["MOMFuncs", "EXPORTED_ATTRIBUTE", "exported"]
