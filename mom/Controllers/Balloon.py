"""oVirt MOM import path ``mom.Controllers.Balloon``. Implementation: :mod:`mom.plugins.controllers.balloon`."""

from mom.plugins.controllers.balloon import Balloon

__all__ = ["Balloon"]
