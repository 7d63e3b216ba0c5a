"""oVirt MOM import path ``mom.Plotter``. Implementation: :mod:`mom.runtime.plotter`."""

from mom.runtime.plotter import Plotter

__all__ = ["Plotter"]
