"""``SimHostCpuPressure``: HostCpuPressure's fields of the simulated host (:mod:`mom.sim.cpu`)."""

from __future__ import annotations

from typing import Any

from mom.plugins.collectors.host_cpu_pressure import HostCpuPressure
from mom.sim.collectors import _SimCollector

__all__ = ["SimHostCpuPressure"]


class SimHostCpuPressure(_SimCollector):
    """``cpu_busy``, ``cpu_runnable``, ``cpu_some_avg10``/``avg60``/``total`` as the model
    computes them (no ``cpu_full_*``: the kernel reports 0 at host level); ``cpu_busy``
    is absent from the first sample, as HostCpuPressure's."""

    optional_fields = HostCpuPressure.optional_fields

    def __init__(self, properties: Any) -> None:
        super().__init__(properties)
        self.first = True

    def collect(self) -> dict[str, Any]:
        data = self.host.cpu.host_fields()
        if self.first:
            self.first = False
            del data["cpu_busy"]
        return data
