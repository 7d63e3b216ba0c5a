"""oVirt MOM import path ``mom.Controllers.CpuTune``. Implementation: :mod:`mom.plugins.controllers.cpu_tune`."""

from mom.plugins.controllers.cpu_tune import CpuTune

__all__ = ["CpuTune"]
