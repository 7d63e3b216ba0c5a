"""GuestCpuTune: a guest's vCPU bandwidth settings, through the hypervisor."""

from __future__ import annotations

from typing import Any, Mapping

from mom.plugins.collectors.base import Collector, interface_columns, samples_columns

__all__ = ["GuestCpuTune"]


class GuestCpuTune(Collector):
    """vCPU tuning.

    - ``vcpu_quota``: microseconds per period the vCPUs may run (0 or -1: unlimited)
    - ``vcpu_period``: the period (microseconds)
    - ``vcpu_user_limit``: the user's limit, percent (oVirt metadata; 100 if unset)
    - ``vcpu_count``: vCPUs in use
    """

    batchable = True  # a batched round asks every guest's collect() in turn

    fields = frozenset({"vcpu_quota", "vcpu_period", "vcpu_user_limit", "vcpu_count"})

    def __init__(self, properties: Mapping[str, Any]) -> None:
        super().__init__(properties)
        self.iface = properties["hypervisor_iface"]
        self.uuid = properties["uuid"]

    def collect(self) -> dict[str, Any] | None:
        return self.iface.getVmCpuTuneInfo(self.uuid)

    @classmethod
    def collect_columns(cls, collectors: list[Any], alive: list[bool]) -> dict[str, list[Any]] | None:
        """A batched round: libvirt's ``cpu_tune_columns`` (every guest cached), else its
        ``cpu_tune_samples`` for every guest; None: ask each ``collect()``."""
        columns = interface_columns(cls, GuestCpuTune, collectors, alive, "cpu_tune_columns")
        if columns is not None:
            return columns
        return samples_columns(cls, GuestCpuTune, collectors, alive, "cpu_tune_samples")
