"""oVirt MOM import path ``mom.Controllers.KSM``. Implementation: :mod:`mom.plugins.controllers.ksm`."""

from mom.plugins.controllers.ksm import KSM

__all__ = ["KSM"]
