"""NetworkBandwidth controller: every interface of a guest gets the policy's bandwidth.

libvirt shapes a real interface's traffic with tc; a kernel without the ``sfq`` qdisc
(and ``htb``/``ingress``) makes libvirt refuse.  Such a refusal is logged once for the
host, with libvirt's message, and the same settings are not sent again to that
interface (a changed setting is tried once more).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from mom.errors import HypervisorInterfaceError
from mom.plugins.controllers.base import Controller

__all__ = ["NetworkBandwidth", "BANDWIDTH_CONTROLS"]

#: guest control -> libvirt interface parameter
BANDWIDTH_CONTROLS = {
    f"net_{way}_{what}": f"{way}bound.{what}" for way in ("in", "out") for what in ("average", "peak", "burst")
}


class NetworkBandwidth(Controller):
    """Guest controls ``net_in_average``, ``net_in_peak`` (KiB/s), ``net_in_burst`` (KiB)
    and ``net_out_*`` (0: unlimited): the changed ones go to every interface of the guest
    with ``setVmInterfaceBandwidth`` (libvirt's ``setInterfaceParameters``), compared with
    the domain XML's ``<bandwidth>``.  A control the policy does not set is left alone.
    """

    def __init__(self, properties: Mapping[str, Any]) -> None:
        super().__init__(properties)
        #: (uuid, device) -> the parameters libvirt refused (not sent again)
        self.refused: dict[tuple[str, str], dict[str, int]] = {}
        self._refusal_said = False

    def process(self, host: Any, guests: Iterable[Any]) -> None:
        guests = list(guests)
        if self.refused:  # forget the guests that are gone
            present = {guest.Prop("uuid") for guest in guests}
            self.refused = {key: value for key, value in self.refused.items() if key[0] in present}
        self.for_each_guest(guests, self.process_guest)

    def process_guest(self, guest: Any) -> None:
        wanted = {}
        for control, param in BANDWIDTH_CONTROLS.items():
            value = guest.GetControl(control)
            if value is not None:
                wanted[param] = int(value)
        if not wanted:
            return
        uuid = guest.Prop("uuid")
        tune = self.hypervisor_iface.getVmResourceTune(uuid)
        if tune is None:
            return
        for device, current in tune["bandwidth"].items():
            changes = {key: value for key, value in wanted.items() if current.get(key) != value}
            if not changes or self.refused.get((uuid, device)) == changes:
                continue
            try:
                self.hypervisor_iface.setVmInterfaceBandwidth(uuid, device, changes)
            except HypervisorInterfaceError as error:
                self.refused[(uuid, device)] = changes
                name = guest.properties.get("name")
                if not self._refusal_said:
                    self._refusal_said = True
                    self.logger.error(
                        "libvirt refused network bandwidth for guest %s interface %s: %s; not retried with "
                        "the same settings (a kernel without the sfq/htb qdiscs cannot shape traffic: "
                        "README: CPU, IO, network and NUMA by class)",
                        name,
                        device,
                        error,
                    )
                else:
                    self.logger.debug("network bandwidth refused for %s %s: %s", name, device, error)
                continue
            self.refused.pop((uuid, device), None)
            self.logger.info(
                "Setting network bandwidth of guest %s interface %s: %r", guest.properties.get("name"), device, changes
            )
