"""oVirt MOM import path ``mom.Controllers.BlkioWeight``. Implementation: :mod:`mom.plugins.controllers.blkio_weight`."""

from mom.plugins.controllers.blkio_weight import BlkioWeight

__all__ = ["BlkioWeight"]
