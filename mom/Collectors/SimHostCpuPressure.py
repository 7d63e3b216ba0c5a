"""Collector import path (upstream convention). Implementation: mom.sim.cpu_collector."""

from mom.sim.cpu_collector import SimHostCpuPressure

__all__ = ["SimHostCpuPressure"]
