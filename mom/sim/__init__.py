"""A simulated dense host: guests with memory workloads, a host memory model, KSM and
balloon drivers, behind the ``sim`` hypervisor interface.

Modules, one job each: :mod:`~mom.sim.scenario` (the scenario file format),
:mod:`~mom.sim.workloads` (what the guests' applications want), :mod:`~mom.sim.guest_memory`
(inside a guest), :mod:`~mom.sim.balloon` (balloon drivers), :mod:`~mom.sim.host_memory`
(the host's RAM, page cache and swap), :mod:`~mom.sim.ksm` (samepage merging),
:mod:`~mom.sim.model` (all of it, one step at a time, with its invariants),
:mod:`~mom.sim.interface` and :mod:`~mom.sim.collectors` (what the daemon sees),
:mod:`~mom.sim.runner` (the real daemon code on a simulated clock), :mod:`~mom.sim.record`,
:mod:`~mom.sim.plots` and :mod:`~mom.sim.summary` (the outputs).  ``mom-sim`` is the command.
"""
