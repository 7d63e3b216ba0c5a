"""Import path ``mom.Controllers.Lifecycle`` (this project's). Implementation: :mod:`mom.plugins.controllers.lifecycle`."""

from mom.plugins.controllers.lifecycle import Lifecycle

__all__ = ["Lifecycle"]
