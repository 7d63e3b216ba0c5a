"""Hypervisor interface import path (upstream convention). Implementation: mom.sim.interface."""

from mom.sim.interface import SimInterface, instance

__all__ = ["SimInterface", "instance"]
