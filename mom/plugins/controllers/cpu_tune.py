"""CpuTune controller: applies the policy's ``vcpu_quota`` and ``vcpu_period``."""

from __future__ import annotations

from typing import Any, Iterable

from mom.plugins.controllers.base import Controller

__all__ = ["CpuTune"]


class CpuTune(Controller):
    """Guest controls ``vcpu_quota`` and ``vcpu_period`` (microseconds): if either
    differs from the guest's current value, both are sent with ``setVmCpuTune``.
    """

    def process(self, host: Any, guests: Iterable[Any]) -> None:
        self.for_each_guest(guests, self.process_guest)

    def process_guest(self, guest: Any) -> None:
        quota = guest.GetControl("vcpu_quota")
        period = guest.GetControl("vcpu_period")
        current_quota = getattr(guest, "vcpu_quota", None)
        current_period = getattr(guest, "vcpu_period", None)
        changed = (quota is not None and quota != current_quota) or (period is not None and period != current_period)
        if not changed:
            return
        quota = current_quota if quota is None else quota
        period = current_period if period is None else period
        name = guest.properties.get("name")
        self.logger.info("Setting vCPU tune of guest %s: quota %s, period %s", name, quota, period)
        quota, period = int(quota), int(period)
        controls = {"vcpu_quota": quota, "vcpu_period": period}
        self.apply(name, controls, "setVmCpuTune", guest.Prop("uuid"), quota, period)
