"""CpuShares controller: applies the policy's ``cpu_shares`` (a guest's CPU weight)."""

from __future__ import annotations

from typing import Any, Iterable

from mom.plugins.controllers.base import Controller

__all__ = ["CpuShares"]


class CpuShares(Controller):
    """Guest control ``cpu_shares``: sent with ``setVmCpuShares`` (libvirt's scheduler
    parameter ``cpu_shares``) when it differs from the guest's current value, read from
    the interface's cached scheduler parameters (an interface that has none, vdsm's, is
    left alone).  The quota and period stay CpuTune's.
    """

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
        current = sched.get("cpu_shares")
        if current == wanted:
            return
        self.logger.info("Setting CPU shares of guest %s: %s -> %d", guest.properties.get("name"), current, wanted)
        self.hypervisor_iface.setVmCpuShares(uuid, wanted)
