"""Plugins by their upstream names: collectors, controllers, hypervisor interfaces.

Config values stay upstream's (``collectors: HostMemory, HostKSM``,
``hypervisor-interface: libvirt``).  A name is looked up in this order:

1. the built-in table below (lazy ``"module:attr"`` targets);
2. Python entry points in the groups ``mom.collectors``, ``mom.controllers`` and
   ``mom.hypervisors`` (third-party packages; read once per ``sys.path``, so a package
   installed while momd runs is seen after a restart);
3. upstream's naming convention, for site-local drop-ins written for upstream MOM:
   the module ``mom.Collectors.<Name>`` with class ``<Name>``, ``mom.Controllers.<Name>``
   with class ``<Name>``, ``mom.HypervisorInterfaces.<name>Interface`` with
   ``instance(config)``.  Those packages extend their path over ``sys.path``, so a
   ``mom/Collectors/<Name>.py`` in any directory on ``PYTHONPATH`` is found.

An unknown name raises :class:`~mom.errors.PluginNotFoundError` listing the known ones.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import logging
import sys
from typing import Any

from mom.errors import PluginNotFoundError

__all__ = ["COLLECTORS", "CONTROLLERS", "HYPERVISORS", "KINDS", "load", "known", "upstream_path"]

_log = logging.getLogger("mom.plugins")

_C = "mom.plugins.collectors."
COLLECTORS: dict[str, str] = {
    "HostMemory": _C + "host_memory:HostMemory",
    "HostKSM": _C + "host_ksm:HostKSM",
    "HostCpu": _C + "host_cpu:HostCpu",
    "HostTime": _C + "host_time:HostTime",
    "HostPressure": _C + "host_pressure:HostPressure",
    "GuestMemory": _C + "guest_memory:GuestMemory",
    "GuestMemoryOptional": _C + "guest_memory:GuestMemoryOptional",
    "GuestBalloon": _C + "guest_balloon:GuestBalloon",
    "GuestBalloonOptional": _C + "guest_balloon:GuestBalloonOptional",
    "GuestQemuProc": _C + "guest_qemu_proc:GuestQemuProc",
    "GuestCpuTune": _C + "guest_cpu_tune:GuestCpuTune",
    "GuestIoTune": _C + "guest_io_tune:GuestIoTune",
    "GuestIoTuneOptional": _C + "guest_io_tune:GuestIoTuneOptional",
    "GuestQemuAgent": _C + "guest_qemu_agent:GuestQemuAgent",
    "GuestNetworkDaemon": _C + "guest_network_daemon:GuestNetworkDaemon",
    "GuestSla": _C + "guest_sla:GuestSla",
    # CPU, IO, network and NUMA (README "CPU, IO, network and NUMA by class")
    "HostCpuPressure": _C + "host_cpu_pressure:HostCpuPressure",
    "HostIoPressure": _C + "host_io_pressure:HostIoPressure",
    "HostNuma": _C + "host_numa:HostNuma",
    "GuestCpuUsage": _C + "guest_cpu_usage:GuestCpuUsage",
    "GuestSlaResources": _C + "guest_sla_resources:GuestSlaResources",
    "GuestPressure": _C + "guest_pressure:GuestPressure",
    # the simulated host's (mom-sim)
    "SimHostMemory": "mom.sim.collectors:SimHostMemory",
    "SimHostKSM": "mom.sim.collectors:SimHostKSM",
    "SimHostCpu": "mom.sim.collectors:SimHostCpu",
    "SimHostCpuPressure": "mom.sim.cpu_collector:SimHostCpuPressure",
}

_K = "mom.plugins.controllers."
CONTROLLERS: dict[str, str] = {
    "Balloon": _K + "balloon:Balloon",
    "KSM": _K + "ksm:KSM",
    "CpuTune": _K + "cpu_tune:CpuTune",
    "IoTune": _K + "io_tune:IoTune",
    "CpuShares": _K + "cpu_shares:CpuShares",
    "BlkioWeight": _K + "blkio_weight:BlkioWeight",
    "NetworkBandwidth": _K + "network_bandwidth:NetworkBandwidth",
    "NumaPlacement": _K + "numa_placement:NumaPlacement",
    # power-off, restore and migration (issue 12; README "Lifecycle actions")
    "Lifecycle": _K + "lifecycle:Lifecycle",
}

_H = "mom.plugins.hypervisors."
HYPERVISORS: dict[str, str] = {
    "libvirt": _H + "libvirt:instance",
    # a simulated host (mom-sim)
    "sim": "mom.sim.interface:instance",
    # vdsm's JSON-RPC API through vdsm.client (README "oVirt / vdsm hosts")
    "vdsmjsonrpcclient": _H + "vdsm_jsonrpc_client:instance",
    "vdsmjsonrpcbulk": _H + "vdsm_jsonrpc_legacy:vdsmjsonrpcbulk",
    "vdsmjsonrpc": _H + "vdsm_jsonrpc_legacy:vdsmjsonrpc",
    # upstream names no current vdsm can serve: instance() says why and what to use
    "vdsm": _H + "unavailable:vdsm",
    "vdsmxmlrpc": _H + "unavailable:vdsmxmlrpc",
    "vdsmxmlrpcbulk": _H + "unavailable:vdsmxmlrpcbulk",
}

#: kind -> (built-in table, entry-point group, upstream module template, attribute template)
KINDS: dict[str, tuple[dict[str, str], str, str, str]] = {
    "collector": (COLLECTORS, "mom.collectors", "mom.Collectors.{name}", "{name}"),
    "controller": (CONTROLLERS, "mom.controllers", "mom.Controllers.{name}", "{name}"),
    "hypervisor": (HYPERVISORS, "mom.hypervisors", "mom.HypervisorInterfaces.{name}Interface", "instance"),
}


def _resolve(target: str) -> Any:
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def _entry_points(group: str) -> dict[str, importlib.metadata.EntryPoint]:
    return _scan_entry_points(group, tuple(sys.path))


@functools.lru_cache(maxsize=32)
def _scan_entry_points(group: str, path: tuple[str, ...]) -> dict[str, importlib.metadata.EntryPoint]:
    """One group's entry points, read once per ``sys.path``: the scan reads every installed
    distribution's metadata, and a site-local collector is looked up for each new guest."""
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=group)}


def upstream_path(kind: str, name: str) -> tuple[str, str]:
    """Upstream's ``(module, attribute)`` for a plugin name (spec 1.3)."""
    _, _, module_template, attr_template = KINDS[kind]
    if kind == "hypervisor":
        name = name.lower()
    return module_template.format(name=name), attr_template.format(name=name)


def known(kind: str) -> list[str]:
    """Built-in and entry-point names of one kind, sorted."""
    table, group, _, _ = KINDS[kind]
    return sorted(set(table) | set(_entry_points(group)))


def load(kind: str, name: str) -> Any:
    """The class (collector, controller) or ``instance`` factory (hypervisor) named ``name``."""
    if kind not in KINDS:
        raise ValueError(f"unknown plugin kind {kind!r}")
    table, group, _, _ = KINDS[kind]
    name = name.strip()
    if kind == "hypervisor":
        name = name.lower()
    if name in table:
        return _resolve(table[name])
    entry = _entry_points(group).get(name)
    if entry is not None:
        try:
            return entry.load()
        except Exception as error:
            raise PluginNotFoundError(
                f"{kind} {name!r}: entry point {entry.value!r} failed to load: {type(error).__name__}: {error}"
            ) from error
    if not name.isidentifier():
        raise PluginNotFoundError(f"{kind} {name!r} is not a valid plugin name; known: {', '.join(known(kind))}")
    module_name, attr = upstream_path(kind, name)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name == module_name:
            raise PluginNotFoundError(f"unknown {kind} {name!r}; known: {', '.join(known(kind))}") from None
        raise PluginNotFoundError(f"{kind} {name!r} ({module_name}) failed to import: {error}") from error
    except Exception as error:
        raise PluginNotFoundError(
            f"{kind} {name!r} ({module_name}) failed to import: {type(error).__name__}: {error}"
        ) from error
    try:
        return getattr(module, attr)
    except AttributeError:
        raise PluginNotFoundError(f"{kind} module {module_name} has no {attr!r}") from None
