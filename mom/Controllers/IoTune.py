"""oVirt MOM import path ``mom.Controllers.IoTune``. Implementation: :mod:`mom.plugins.controllers.io_tune`."""

from mom.plugins.controllers.io_tune import IoTune

__all__ = ["IoTune"]
