"""Collector import path (upstream convention). Implementation: mom.sim.collectors."""

from mom.sim.collectors import SimHostMemory

__all__ = ["SimHostMemory"]
