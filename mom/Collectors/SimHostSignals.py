"""Collector import path (upstream convention). Implementation: mom.sim.collectors."""

from mom.sim.collectors import SimHostSignals

__all__ = ["SimHostSignals"]
