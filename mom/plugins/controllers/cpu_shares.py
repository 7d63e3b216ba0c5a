"""CpuShares controller: applies the policy's ``cpu_shares`` (a guest's CPU weight)."""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from mom.plugins.controllers.base import Controller

__all__ = ["CpuShares"]


class CpuShares(Controller):
    """Guest control ``cpu_shares``: sent with ``setVmCpuShares`` (libvirt's scheduler
    parameter ``cpu_shares``) when it differs from the guest's current value, read from
    the interface's cached scheduler parameters (an interface that has none, vdsm's, is
    left alone).  The quota and period stay CpuTune's.
    """

    def __init__(self, properties: Mapping[str, Any]) -> None:
        super().__init__(properties)
        self._said_unsupported = False

    def process(self, host: Any, guests: Iterable[Any]) -> None:
        self.for_each_guest(guests, self.process_guest)

    def process_guest(self, guest: Any) -> None:
        wanted = guest.GetControl("cpu_shares")
        if wanted is None:
            return
        wanted = int(wanted)
        uuid = guest.Prop("uuid")
        sched = self.hypervisor_iface.getVmSchedulerInfo(uuid)
        if sched is None:
            return  # the interface cannot say (vdsm has no CPU shares verb): nothing to compare
        if "cpu_shares" not in sched:
            # a driver without the parameter (libvirt's test driver has only "weight"):
            # said once, not refused every cycle
            if not self._said_unsupported:
                self._said_unsupported = True
                self.logger.warning(
                    "CpuShares: the hypervisor has no cpu_shares scheduler parameter (it has %s): not set",
                    ", ".join(sorted(sched)) or "none",
                )
            return
        current = sched["cpu_shares"]
        if current == wanted:
            return
        self.logger.info("Setting CPU shares of guest %s: %s -> %d", guest.properties.get("name"), current, wanted)
        self.hypervisor_iface.setVmCpuShares(uuid, wanted)
