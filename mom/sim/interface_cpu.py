"""CPU calls of the ``sim`` interface: the scheduler parameters and CPU statistics of
:mod:`mom.sim.cpu`, with the libvirt interface's names and shapes.

A mixin of :class:`~mom.sim.interface.SimInterface` (it uses ``host``, ``_live`` and
``actions``).  ``vcpu_quota``/``vcpu_period`` stay CpuTune's (``setVmCpuTune``).
"""

from __future__ import annotations

from typing import Any

from mom.errors import HypervisorInterfaceError

__all__ = ["SimCpu"]


class SimCpu:
    """Mixed into SimInterface."""

    host: Any
    actions: list[tuple[float, str, int, Any]]

    def _live(self, uuid: str) -> int:  # SimInterface's
        raise NotImplementedError

    def getVmCpuStats(self, uuid: str) -> dict[str, Any] | None:
        """``{cpu_time, vcpu_count, vcpu_wait, vcpu_delay}``, ns, cumulative (GuestCpuUsage's input)."""
        index = self._live(uuid)
        cpu = self.host.cpu
        wait = int(cpu.vcpu_wait[index])
        return {
            "cpu_time": int(cpu.cpu_time[index]),
            "vcpu_count": int(self.host.vcpus[index]),
            "vcpu_wait": wait,
            "vcpu_delay": wait,
        }

    def getVmSchedulerInfo(self, uuid: str) -> dict[str, Any] | None:
        index = self._live(uuid)
        host = self.host
        return {
            "cpu_shares": int(host.cpu.shares[index]),
            "vcpu_quota": int(host.vcpu_quota[index]),
            "vcpu_period": int(host.vcpu_period[index]),
        }

    def setVmCpuShares(self, uuid: str, shares: int) -> None:
        index = self._live(uuid)
        if not 2 <= int(shares) <= 262144:
            # the kernel's cpu.shares range (libvirt passes the refusal on)
            raise HypervisorInterfaceError(f"cpu_shares {shares} outside 2..262144")
        self.host.cpu.shares[index] = int(shares)
        self.actions.append((self.host.time, "setVmCpuShares", index, int(shares)))
