"""Collector import path (upstream convention). Implementation: mom.sim.collectors."""

from mom.sim.collectors import SimHostCpu

__all__ = ["SimHostCpu"]
