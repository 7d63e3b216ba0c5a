"""Collector import path (upstream convention). Implementation: mom.sim.collectors."""

from mom.sim.collectors import SimHostKSM

__all__ = ["SimHostKSM"]
