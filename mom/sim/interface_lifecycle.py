"""Lifecycle actions of the ``sim`` interface: what the Lifecycle controller asks of libvirt's.

A mixin of :class:`~mom.sim.interface.SimInterface` (it uses ``host``, ``_index`` and
``actions``), with the same calls and answers as
:class:`~mom.plugins.hypervisors.libvirt_lifecycle.LibvirtLifecycle`: shut down,
destroy and managed save all power the guest off at once on the simulated clock (the
model knows no ACPI), start boots it again, the peers are the scenario's ``[peers]``.
"""

from __future__ import annotations

from typing import Any

from mom.errors import HypervisorInterfaceError
from mom.sim.lifecycle import OFF

__all__ = ["SimLifecycle"]


class SimLifecycle:
    """Mixed into SimInterface: needs ``host``, ``_index`` (a guest's index by UUID) and ``actions``."""

    lifecycle_actions = frozenset({"shutdown", "destroy", "managedsave", "start", "migrate"})

    host: Any
    actions: list[tuple[float, str, int, Any]]

    def _index(self, uuid: str) -> int:  # SimInterface's
        raise NotImplementedError

    def _running(self, uuid: str, call: str) -> int:
        index = self._index(uuid)
        if not self.host.power.is_running(index):
            # libvirt: "Requested operation is not valid: domain is not running"
            raise HypervisorInterfaceError(f"{call}({uuid}): domain is not running")
        return index

    def getVmLifecycleInfo(self, uuid: str) -> dict[str, Any]:
        """The simulated guests are persistent domains: no XML needed to start them."""
        index = self._index(uuid)
        return {"persistent": True, "active": self.host.power.is_running(index), "xml": ""}

    def _power_off(self, uuid: str, call: str, detail: str) -> str:
        index = self._running(uuid, call)
        self.host.power.power_off(self.host, index)
        self.actions.append((self.host.time, call, index, None))
        return detail

    def shutdownVm(self, uuid: str, timeout: float, delay: int = 0, message: str = "", force: bool = True) -> str:
        return self._power_off(uuid, "shutdownVm", "shut down (simulated: at once)")

    def destroyVm(self, uuid: str) -> str:
        return self._power_off(uuid, "destroyVm", "destroyed")

    def managedSaveVm(self, uuid: str) -> str:
        return self._power_off(uuid, "managedSaveVm", "state saved to disk (simulated: booted afresh on start)")

    def startVm(self, uuid: str, xml: str = "") -> str:
        index = self._index(uuid)
        power = self.host.power
        if power.state[index] != OFF:
            what = "is running" if power.is_running(index) else f"left for {power.went_to[index]}"
            raise HypervisorInterfaceError(f"startVm({uuid}): the domain {what}")
        power.start(self.host, index)
        self.actions.append((self.host.time, "startVm", index, None))
        return "started"

    def getPeerFreeMemory(self, uri: str) -> int:
        free = self.host.power.peer_free.get(uri)
        if free is None:
            raise HypervisorInterfaceError(f"peer {uri}: cannot connect: not one of the scenario's [peers]")
        return int(free)

    def migrateVm(
        self,
        uuid: str,
        uri: str,
        bandwidth_mib: int = 0,
        auto_converge: bool = False,
        timeout: float = 300,
        data_uri: str = "",
    ) -> str:
        index = self._running(uuid, "migrateVm")
        need = int(self.host.balloons.maximum[index])
        free = self.getPeerFreeMemory(uri)
        if free < need:
            raise HypervisorInterfaceError(f"migration to {uri}: the peer has {free} KiB free, the guest needs {need}")
        self.host.power.migrate(self.host, index, uri)
        self.actions.append((self.host.time, "migrateVm", index, uri))
        return f"migrated live to {uri} (simulated: at once)"
