"""oVirt MOM import path ``mom.Monitor``. Implementation: :mod:`mom.runtime.monitor`."""

from mom.runtime.monitor import Monitor

__all__ = ["Monitor"]
