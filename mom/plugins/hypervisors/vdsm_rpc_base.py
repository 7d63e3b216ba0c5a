"""What MOM reads about guests on a vdsm host, from vdsm's ``Host.getAllVmStats`` (upstream ``VdsmRpcBase``).

Subclasses provide :meth:`VdsmRpcBase._getAllVmStats` (an Optional of vmId -> vdsm's
``VmStats`` dict); everything else is derived from it the way upstream did, so policies
see the same fields, units and types:

====================  =====================================================  =========
MOM field             vdsm ``VmStats`` field (schema type)                   unit
====================  =====================================================  =========
uuid                  ``vmId``
name                  ``vmName``
pid                   ``pid`` (string, passed on as vdsm sent it)
mem_available         ``memoryStats.mem_total`` (string)                     KiB
mem_unused            ``memoryStats.mem_unused`` (string)                    KiB
mem_free              ``memoryStats.mem_free`` (string)                      KiB
major_fault           ``memoryStats.majflt``                                 count
minor_fault           ``memoryStats.pageflt - memoryStats.majflt``           count
swap_in, swap_out     ``memoryStats.swap_in``, ``swap_out``                  pages
swap_total            ``memoryStats.swap_total``, 0 when absent              KiB
swap_usage            ``memoryStats.swap_usage``, 0 when absent              KiB
balloon_cur/max/min   ``balloonInfo.balloon_cur/max/min`` (strings)          KiB
vcpu_user_limit       ``vcpuUserLimit``, 100 when absent                     percent
vcpu_quota            ``vcpuQuota`` (string), 0 when absent                  us
vcpu_period           ``vcpuPeriod``, 0 when absent                          us
vcpu_count            ``vcpuCount`` (string); absent: no CPU data at all
====================  =====================================================  =========

Every number reaches the policy as an ``int``.  ``memUsage`` (the percentage of memory
the guest uses, a string) of 0 means no guest agent: memory stats then raise
``HypervisorInterfaceError("The ovirt-guest-agent is not active")``; an empty
``memoryStats`` raises ``"Detailed guest memory stats are not available, please upgrade
guest agent"``; an unknown VM raises ``"VM %s does not exist"``.
"""

from __future__ import annotations

import logging
from typing import Any

from mom.errors import HypervisorInterfaceError
from mom.optional import Optional
from mom.plugins.hypervisors.base import HypervisorInterface

__all__ = ["VdsmRpcBase", "as_int"]


def as_int(value: Any, what: str) -> int:
    """vdsm sends many numbers as strings (its XML-RPC heritage); ints for MOM."""
    if isinstance(value, bool):
        return int(value)
    try:
        return int(value)
    except (TypeError, ValueError):
        pass
    try:
        return int(float(value))  # convertToStr renders floats as '%.2f'
    except (TypeError, ValueError):
        raise HypervisorInterfaceError(f"vdsm reported {what} = {value!r}, not a number") from None


class VdsmRpcBase(HypervisorInterface):
    """Guest queries answered from one ``Host.getAllVmStats`` per cache period."""

    logger = logging.getLogger("mom.HypervisorInterfaces.vdsm")

    def _getAllVmStats(self) -> Optional:
        """Optional of ``{vmId: VmStats}``; missing when vdsm gave no answer."""
        raise NotImplementedError

    def _stats_unavailable(self) -> str:
        """Why ``_getAllVmStats`` is missing (for error messages)."""
        return "vdsm did not answer Host.getAllVmStats"

    def _vm_stats(self, uuid: str) -> dict[str, Any]:
        stats = self._getAllVmStats()
        if not stats.present:
            raise HypervisorInterfaceError(self._stats_unavailable())
        vm = stats.value.get(uuid)
        if vm is None:
            raise HypervisorInterfaceError("VM %s does not exist" % uuid)
        return vm

    # ## Guests

    def getVmList(self) -> list[str] | None:
        """vmIds of the VMs whose ``status`` is ``Up``; None (skip this pass) without an answer.

        (Upstream's list came out empty instead, which dropped every guest's history.)
        """
        stats = self._getAllVmStats()
        if not stats.present:
            return None
        return [vm_id for vm_id, vm in stats.value.items() if vm.get("status") == "Up"]

    def getVmInfo(self, vm_id: Any) -> dict[str, Any] | None:
        vm = self._vm_stats(vm_id)
        info = {"uuid": vm_id, "name": vm.get("vmName")}
        if "pid" in vm:
            info["pid"] = vm["pid"]
        return info

    # ## Memory

    def startVmMemoryStats(self, uuid: str) -> None:
        """Nothing to do: vdsm keeps the balloon driver's statistics period itself."""

    def getVmMemoryStats(self, uuid: str) -> dict[str, int]:
        vm = self._vm_stats(uuid)
        if as_int(vm.get("memUsage") or 0, f"memUsage of VM {uuid}") == 0:
            raise HypervisorInterfaceError("The ovirt-guest-agent is not active")
        stats = vm.get("memoryStats")
        if not stats:
            raise HypervisorInterfaceError("Detailed guest memory stats are not available, please upgrade guest agent")

        def field(key: str, default: Any = None) -> int:
            value = stats.get(key, default)
            if value is None:
                raise HypervisorInterfaceError(f"VM {uuid}: vdsm's memoryStats has no {key!r}")
            return as_int(value, f"memoryStats.{key} of VM {uuid}")

        major = field("majflt")
        return {
            "mem_available": field("mem_total"),
            "mem_unused": field("mem_unused"),
            "mem_free": field("mem_free"),
            "major_fault": major,
            "minor_fault": field("pageflt") - major,
            "swap_in": field("swap_in"),
            "swap_out": field("swap_out"),
            "swap_total": field("swap_total", 0),
            "swap_usage": field("swap_usage", 0),
        }

    def getVmBalloonInfo(self, uuid: str) -> dict[str, int] | None:
        """``{balloon_max, balloon_min, balloon_cur}`` in KiB; None while vdsm has none."""
        info = self._vm_stats(uuid).get("balloonInfo")
        if not info:
            return None
        keys = ("balloon_max", "balloon_min", "balloon_cur")
        return {key: as_int(info.get(key), f"balloonInfo.{key} of VM {uuid}") for key in keys}

    # ## CPU

    def getVmCpuTuneInfo(self, uuid: str) -> dict[str, int] | None:
        """vCPU limits; None when vdsm reports no ``vcpuCount`` (yet)."""
        vm = self._vm_stats(uuid)
        if vm.get("vcpuCount") is None:
            return None

        def field(key: str, default: int) -> int:
            value = vm.get(key)
            return default if value is None else as_int(value, f"{key} of VM {uuid}")

        return {
            "vcpu_user_limit": field("vcpuUserLimit", 100),
            "vcpu_quota": field("vcpuQuota", 0),
            "vcpu_period": field("vcpuPeriod", 0),
            "vcpu_count": as_int(vm["vcpuCount"], f"vcpuCount of VM {uuid}"),
        }
