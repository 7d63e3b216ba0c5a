"""BlkioWeight controller: applies the policy's ``blkio_weight`` (a guest's block IO weight)."""

from __future__ import annotations

from typing import Any, Iterable

from mom.plugins.controllers.base import Controller

__all__ = ["BlkioWeight"]


class BlkioWeight(Controller):
    """Guest control ``blkio_weight`` (100..1000): sent with ``setVmBlkioWeight`` when it
    differs from the domain's ``<blkiotune><weight>`` (the cached domain XML).  Disk
    limits stay IoTune's (``io_tune`` setters).
    """

    def process(self, host: Any, guests: Iterable[Any]) -> None:
        self.for_each_guest(guests, self.process_guest)

    def process_guest(self, guest: Any) -> None:
        wanted = guest.GetControl("blkio_weight")
        if wanted is None:
            return
        wanted = int(wanted)
        uuid = guest.Prop("uuid")
        tune = self.hypervisor_iface.getVmResourceTune(uuid)
        if tune is None or tune.get("blkio_weight") == wanted:
            return
        self.logger.info(
            "Setting block IO weight of guest %s: %s -> %d", guest.properties.get("name"), tune.get("blkio_weight"), wanted
        )
        self.hypervisor_iface.setVmBlkioWeight(uuid, wanted)
