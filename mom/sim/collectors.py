"""Host collectors of the simulated host: ``SimHostMemory``, ``SimHostKSM``, ``SimHostCpu``,
``SimHostSignals``.

They report exactly the fields of HostMemory, HostKSM and HostCpu (which read the real
/proc and /sys), computed the same way: ``swap_in``/``swap_out`` are the change of the
cumulative page counters since the previous sample (0 at first), ``ksmd_cpu_usage`` is
ksmd's share of one CPU in percent.  They read the host attached by the simulator
(:func:`mom.sim.interface.attached`); without one they fail fatally at construction.
"""

from __future__ import annotations

from typing import Any, Mapping

from mom.errors import FatalError, HypervisorInterfaceError
from mom.plugins.collectors.base import Collector
from mom.plugins.collectors.host_cpu import HostCpu
from mom.plugins.collectors.host_io_pressure import HostIoPressure
from mom.plugins.collectors.host_ksm import HostKSM
from mom.plugins.collectors.host_memory import HostMemory
from mom.plugins.collectors.host_numa import HostNuma
from mom.sim.interface import attached_host

__all__ = ["SimHostMemory", "SimHostKSM", "SimHostCpu", "SimHostSignals"]


class _SimCollector(Collector):
    """A collector of the attached simulated host (``self.host``); FatalError without one."""

    def __init__(self, properties: Mapping[str, Any]) -> None:
        super().__init__(properties)
        try:
            self.host = attached_host()
        except HypervisorInterfaceError as error:
            raise FatalError(f"{type(self).__name__}: {error}") from None


class SimHostMemory(_SimCollector):
    """HostMemory's fields (see :class:`~mom.plugins.collectors.host_memory.HostMemory`) of the simulated host."""

    fields = HostMemory.fields

    def __init__(self, properties: Mapping[str, Any]) -> None:
        super().__init__(properties)
        #: the cumulative (pswpin, pswpout) of the previous sample
        self.previous: tuple[int, int] | None = None

    def collect(self) -> dict[str, Any]:
        stats = self.host.host_stats()
        pswpin, pswpout = stats.pop("pswpin"), stats.pop("pswpout")
        if self.previous is None:
            stats["swap_in"] = stats["swap_out"] = 0
        else:
            stats["swap_in"], stats["swap_out"] = pswpin - self.previous[0], pswpout - self.previous[1]
        self.previous = (pswpin, pswpout)
        return stats


class SimHostKSM(_SimCollector):
    """HostKSM's fields (see :class:`~mom.plugins.collectors.host_ksm.HostKSM`) of the simulated host."""

    fields = HostKSM.fields

    def collect(self) -> dict[str, Any]:
        return self.host.ksm_stats()


class SimHostCpu(_SimCollector):
    """HostCpu's field ``cpu_count``: the simulated host's CPUs."""

    fields = HostCpu.fields

    def collect(self) -> dict[str, Any]:
        return {"cpu_count": self.host.scenario.host.cpus}


class SimHostSignals(_SimCollector):
    """The fields of HostIoPressure and HostNuma (which the SLA set's 05 and 07 read; CPU
    pressure is SimHostCpuPressure's) for a host the model gives no IO pressure: the
    pressure fields empty (as on a kernel without PSI), one NUMA node."""

    fields = HostNuma.fields
    optional_fields = HostIoPressure.optional_fields | HostNuma.optional_fields

    def collect(self) -> dict[str, Any]:
        return {"numa_node_count": 1}
