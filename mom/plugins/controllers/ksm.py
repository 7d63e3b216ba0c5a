"""KSM controller: applies the policy's host controls ``ksm_*`` in one ``ksmTune`` call.

When the kernel's KSM advisor (``advisor_mode`` other than ``none``) owns
``pages_to_scan``, the controller leaves that knob alone and says so, instead of
fighting the kernel every tick.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from mom.plugins.controllers.base import Controller
from mom.plugins.ksm_sysfs import KsmSysfs

__all__ = ["KSM", "KSM_CONTROLS"]

KSM_CONTROLS = ("ksm_run", "ksm_pages_to_scan", "ksm_sleep_millisecs", "ksm_merge_across_nodes")


def _reports_ksm(collector: Any) -> bool:
    """HostKSM, or a collector standing in for it (the simulator's SimHostKSM): the KSM fields."""
    try:
        return {"ksm_run", "ksm_pages_to_scan", "ksm_sleep_millisecs"} <= set(collector.getFields())
    except Exception:
        return False


class KSM(Controller):
    """Host controls ``ksm_run``, ``ksm_pages_to_scan``, ``ksm_sleep_millisecs`` and
    ``ksm_merge_across_nodes``: the changed ones are sent as one ``ksmTune`` dict whose
    keys lack the ``ksm_`` prefix.  Needs the HostKSM host collector.
    """

    def __init__(self, properties: Mapping[str, Any], sysfs: KsmSysfs | None = None) -> None:
        super().__init__(properties)
        monitor = properties.get("host_monitor")
        collectors = getattr(monitor, "collectors", None) or []
        if monitor is not None and not any(_reports_ksm(c) for c in collectors):
            raise RuntimeError("KSM controller in use but HostKSM collector is not enabled")
        # the advisor is read where the interface writes the knobs (libvirt: the real
        # sysfs; the simulator: its own); for an interface without one (vdsm), this host's
        iface_sysfs = self.hypervisor_iface.ksm_sysfs if self.hypervisor_iface is not None else None
        self.sysfs = sysfs or iface_sysfs or KsmSysfs()
        self._advisor_said: bool = False

    def process(self, host: Any, guests: Iterable[Any]) -> None:
        changes: dict[str, int] = {}
        for control in KSM_CONTROLS:
            value = host.GetControl(control)
            if value is None:
                continue
            value = int(value)
            if value != getattr(host, control, None):
                changes[control[len("ksm_") :]] = value
        if "pages_to_scan" in changes and self.sysfs.advisor_active():
            wanted = changes.pop("pages_to_scan")
            if not self._advisor_said:
                self.logger.info(
                    "KSM advisor (advisor_mode=%s) manages pages_to_scan; not setting it to %d",
                    self.sysfs.advisor_mode(),
                    wanted,
                )
                self._advisor_said = True
        elif self._advisor_said and not self.sysfs.advisor_active():
            self._advisor_said = False
        if changes:
            self.logger.info("Updating KSM configuration: %r", changes)
            controls = {"ksm_" + knob: value for knob, value in changes.items()}
            self.apply(None, controls, "ksmTune", changes)
