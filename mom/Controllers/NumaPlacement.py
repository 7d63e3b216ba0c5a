"""oVirt MOM import path ``mom.Controllers.NumaPlacement``. Implementation: :mod:`mom.plugins.controllers.numa_placement`."""

from mom.plugins.controllers.numa_placement import NumaPlacement

__all__ = ["NumaPlacement"]
