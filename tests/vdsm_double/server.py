"""The vdsm double's server side: the VMs, the verbs MOM uses, vdsm's error codes, and a journal.

:class:`VdsmDouble` answers the verbs of vdsm's API that MOM's vdsm interfaces call,
with vdsm's result shapes (:mod:`tests.vdsm_double.vms`) and vdsm's error codes
(``vdsm.common.exception``):

======================================  ==============================================
verb                                    answer
======================================  ==============================================
``Host.ping2()``                        ``True`` (answered while recovering, too)
``Host.getAllVmStats()``                list of ``VmStats``
``Host.getAllVmIoTunePolicies()``       ``{vmId: {policy, current_values}}`` (VMs up)
``VM.getStats(vmID)``                   ``[VmStats]``
``VM.getIoTunePolicy(vmID)``            the VM's IO policies
``VM.getIoTune(vmID)``                  the VM's current IO limits
``VM.setBalloonTarget(vmID, target)``   ``True``; target in KiB, 0..memory (code 53)
``VM.setCpuTuneQuota(vmID, quota)``     ``True``; -1 or 1000.. (libvirt's range; code 62)
``VM.setCpuTunePeriod(vmID, period)``   ``True``; 1000..1000000 us (code 62)
``VM.setIoTune(vmID, tunables)``        ``True``; disks by name or path, ints >= 0,
                                        no total together with read/write (code 64)
``Host.setKsmTune(tuningParams)``       ``True``; supervdsm's limits: run and
                                        merge_across_nodes < 3, the others < 2**32 (71)
``VM.shutdown(vmID, delay, message,     ``True``; the VM goes Down (delay and timeout
reboot, timeout, force)``               strings of digits, as vdsm's schema has them)
``VM.destroy(vmID, gracefulAttempts)``  ``True``; the VM goes Down
======================================  ==============================================

Errors (raised as :class:`Fault`; the client turns them into ``ServerError``): code 1
``Virtual machine does not exist: {'vmId': ...}``, 99 ``Recovering from crash or
Initializing`` (every verb but ping while :attr:`VdsmDouble.recovering`), the per-verb
codes above, and JSON-RPC's -32601 (no such verb) and -32602 (wrong parameter names or
types).  Behaviours a test can switch: :meth:`VdsmDouble.stop` / :meth:`start` /
:meth:`restart` (connections made before a restart are dead), ``delays`` (seconds per
verb, ``"*"`` for all; the client turns a delay past its timeout into ``TimeoutError``)
and ``server_errors`` (verb -> ``[code, message]`` to fail with).

Every request is recorded in :attr:`VdsmDouble.calls` as a :class:`Call`.
"""

from __future__ import annotations

import copy
import inspect
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from tests.vdsm_double.vms import IO_TUNE_KEYS, Vm, io_tune_policies, vm_stats

__all__ = ["VdsmDouble", "Call", "Fault", "ConnectionLost", "KSM_DEFAULTS"]

#: KSM settings of a fresh host (the kernel's defaults)
KSM_DEFAULTS = {"run": 0, "pages_to_scan": 100, "sleep_millisecs": 20, "merge_across_nodes": 1}

NO_SUCH_VM = 1
BALLOON_ERROR = 53
CPU_TUNE_ERROR = 62
IO_TUNE_ERROR = 64
KSM_ERROR = 71
RECOVERY = 99
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602

_MESSAGES = {
    NO_SUCH_VM: "Virtual machine does not exist",
    BALLOON_ERROR: "Balloon operation is not available",
    CPU_TUNE_ERROR: "CpuTune operation is not available",
    IO_TUNE_ERROR: "Failed to update ioTune values",
    KSM_ERROR: "Failed to update KSM values",
    RECOVERY: "Recovering from crash or Initializing",
    METHOD_NOT_FOUND: "The method does not exist or is not available",
    INVALID_PARAMS: "Invalid parameters",
}


class Fault(Exception):
    """vdsm ran the verb and reports an error (``ServerError`` on the client side)."""

    def __init__(self, code: int, context: dict[str, Any] | None = None, message: str | None = None) -> None:
        text = message or _MESSAGES.get(code, "General Exception")
        if context:
            text = f"{text}: {context}"  # vdsm's ContextException renders "<message>: <context>"
        super().__init__(text)
        self.code = code
        self.message = text


class ConnectionLost(Exception):
    """The request never reached vdsm (``ClientError`` on the client side)."""

    def __init__(self, reason: OSError) -> None:
        super().__init__(str(reason))
        self.reason = reason


@dataclass
class Call:
    """One request as the double received it."""

    verb: str
    params: dict[str, Any]
    #: ``ok``, ``timeout`` (answered after the client gave up), ``error <code>``, ``refused``
    outcome: str
    time: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, Any]:
        return {"verb": self.verb, "params": self.params, "outcome": self.outcome, "time": self.time}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class VdsmDouble:
    """An in-process vdsm answering MOM's verbs; thread-safe."""

    def __init__(self, vms: Iterable[Vm] = (), *, ksm: dict[str, int] | None = None) -> None:
        self.lock = threading.RLock()
        self.vms: dict[str, Vm] = {}
        for vm in vms:
            self.add_vm(vm)
        self.ksm = dict(KSM_DEFAULTS if ksm is None else ksm)
        self.up = True
        self.recovering = False
        #: bumped by every stop and restart: connections of an older generation are dead
        self.generation = 0
        self.delays: dict[str, float] = {}
        self.server_errors: dict[str, list[Any]] = {}
        self.calls: list[Call] = []
        #: (host, port, use_tls, timeout) of every connection attempt
        self.connections: list[tuple[str, int, bool, Any]] = []
        self._verbs: dict[str, Callable[..., Any]] = {
            "Host.ping2": self._ping2,
            "Host.getAllVmStats": self._get_all_vm_stats,
            "Host.getAllVmIoTunePolicies": self._get_all_vm_io_tune_policies,
            "Host.setKsmTune": self._set_ksm_tune,
            "VM.getStats": self._get_stats,
            "VM.getIoTunePolicy": self._get_io_tune_policy,
            "VM.getIoTune": self._get_io_tune,
            "VM.setBalloonTarget": self._set_balloon_target,
            "VM.setCpuTuneQuota": self._set_cpu_tune_quota,
            "VM.setCpuTunePeriod": self._set_cpu_tune_period,
            "VM.setIoTune": self._set_io_tune,
            "VM.shutdown": self._shutdown,
            "VM.destroy": self._destroy,
        }

    # ## Control (the test's side)

    def add_vm(self, vm: Vm) -> Vm:
        with self.lock:
            self.vms[vm.vm_id] = vm
        return vm

    def remove_vm(self, vm_id: str) -> None:
        """The VM is gone (destroyed, migrated away): vdsm no longer lists it."""
        with self.lock:
            self.vms.pop(vm_id, None)

    def vm(self, vm_id: str) -> Vm:
        with self.lock:
            return self.vms[vm_id]

    def stop(self) -> None:
        """vdsm is down: connections fail, existing ones are dead."""
        with self.lock:
            self.up = False
            self.generation += 1

    def start(self, recovering: bool = False) -> None:
        """vdsm is up again; ``recovering``: every verb but ping answers code 99 until :attr:`recovering` is False."""
        with self.lock:
            self.up = True
            self.recovering = recovering

    def restart(self, recovering: bool = False) -> None:
        """vdsm restarted in an instant: connections made before are dead."""
        with self.lock:
            self.generation += 1
            self.up = True
            self.recovering = recovering

    def calls_of(self, verb: str, outcome: str | None = "ok") -> list[Call]:
        """The recorded requests of one verb (with this outcome; None: any)."""
        with self.lock:
            return [call for call in self.calls if call.verb == verb and (outcome is None or call.outcome == outcome)]

    # ## Serving (the client's side)

    def _before(self) -> None:
        """Hook run before every connection and request (the file-backed double reloads here)."""

    def _record(self, call: Call) -> None:
        with self.lock:
            self.calls.append(call)

    def accept(self, host: str, port: int, use_tls: bool, timeout: Any) -> int:
        """A new connection: its generation; ConnectionLost if vdsm is down."""
        self._before()
        with self.lock:
            self.connections.append((host, port, use_tls, timeout))
            if not self.up:
                raise ConnectionLost(ConnectionRefusedError(111, "Connection refused"))
            return self.generation

    def check(self, generation: int, verb: str, params: dict[str, Any]) -> float:
        """Whether a request of a connection gets through; its delay (seconds) if so."""
        self._before()
        with self.lock:
            if not self.up:
                error: OSError = ConnectionRefusedError(111, "Connection refused")
            elif generation != self.generation:
                error = ConnectionResetError(104, "Connection reset by peer")
            else:
                return float(self.delays.get(verb, self.delays.get("*", 0.0)))
        self._record(Call(verb, copy.deepcopy(params), "refused"))
        raise ConnectionLost(error)

    def handle(self, verb: str, params: dict[str, Any], *, timed_out: bool = False) -> Any:
        """Run one verb: its result (a deep copy), or Fault."""
        params = copy.deepcopy(params)
        outcome = "timeout" if timed_out else "ok"
        try:
            with self.lock:
                forced = self.server_errors.get(verb)
                if self.recovering and verb != "Host.ping2":
                    raise Fault(RECOVERY)
                if forced is not None:
                    raise Fault(int(forced[0]), message=str(forced[1]))
                function = self._verbs.get(verb)
                if function is None:
                    raise Fault(METHOD_NOT_FOUND, {"method": verb})
                try:
                    inspect.signature(function).bind(**params)
                except TypeError as error:  # missing or unknown parameter names
                    raise Fault(INVALID_PARAMS, {"method": verb, "reason": str(error)}) from None
                return copy.deepcopy(function(**params))
        except Fault as fault:
            outcome = f"error {fault.code}"
            raise
        finally:
            self._record(Call(verb, params, outcome))

    # ## Verbs

    def _running(self, vm_id: Any, code: int = NO_SUCH_VM) -> Vm:
        vm = self.vms.get(vm_id)
        if vm is None:
            raise Fault(NO_SUCH_VM, {"vmId": vm_id})
        if vm.status != "Up" and code != NO_SUCH_VM:
            raise Fault(code, {"vmId": vm_id, "reason": f"VM is {vm.status}"})
        return vm

    def _ping2(self) -> bool:
        return True

    def _get_all_vm_stats(self) -> list[dict[str, Any]]:
        return [vm_stats(vm) for vm in self.vms.values()]

    def _get_all_vm_io_tune_policies(self) -> dict[str, Any]:
        return {vm.vm_id: io_tune_policies(vm) for vm in self.vms.values() if vm.status == "Up"}

    def _get_stats(self, vmID: str) -> list[dict[str, Any]]:
        return [vm_stats(self._running(vmID))]

    def _get_io_tune_policy(self, vmID: str) -> list[dict[str, Any]]:
        return io_tune_policies(self._running(vmID))["policy"]

    def _get_io_tune(self, vmID: str) -> list[dict[str, Any]]:
        return io_tune_policies(self._running(vmID))["current_values"]

    def _set_balloon_target(self, vmID: str, target: Any) -> bool:
        vm = self._running(vmID, BALLOON_ERROR)
        if not _is_int(target):
            raise Fault(INVALID_PARAMS, {"target": target, "reason": "not an integer"})
        if not 0 <= target <= vm.memory_kib:
            raise Fault(BALLOON_ERROR, {"vmId": vmID, "reason": f"target {target} KiB outside 0..{vm.memory_kib}"})
        vm.balloon_target = target
        if vm.balloon_follows_target:
            vm.balloon_cur = target
        return True

    def _shutdown(
        self, vmID: str, delay: Any = None, message: Any = None, reboot: bool = False, timeout: Any = None,
        force: bool = False,
    ) -> bool:
        vm = self._running(vmID, NO_SUCH_VM)
        for name, value in (("delay", delay), ("timeout", timeout)):
            if value is not None and not (isinstance(value, str) and value.isdigit()):
                raise Fault(INVALID_PARAMS, {name: value, "reason": "not a string of digits"})
        vm.status = "Down"
        return True

    def _destroy(self, vmID: str, gracefulAttempts: int = 1) -> bool:
        self._running(vmID, NO_SUCH_VM).status = "Down"
        return True

    def _set_cpu_tune_quota(self, vmID: str, quota: Any) -> bool:
        vm = self._running(vmID, CPU_TUNE_ERROR)
        if not _is_int(quota):
            raise Fault(INVALID_PARAMS, {"quota": quota, "reason": "not an integer"})
        if quota != -1 and not 1000 <= quota <= 18446744073709551:
            raise Fault(CPU_TUNE_ERROR, {"vmId": vmID, "reason": f"quota {quota} out of range"})
        vm.vcpu_quota = quota
        return True

    def _set_cpu_tune_period(self, vmID: str, period: Any) -> bool:
        vm = self._running(vmID, CPU_TUNE_ERROR)
        if not _is_int(period):
            raise Fault(INVALID_PARAMS, {"period": period, "reason": "not an integer"})
        if not 1000 <= period <= 1000000:
            raise Fault(CPU_TUNE_ERROR, {"vmId": vmID, "reason": f"period {period} out of range"})
        vm.vcpu_period = period
        return True

    def _set_io_tune(self, vmID: str, tunables: Any) -> bool:
        vm = self._running(vmID, IO_TUNE_ERROR)
        if not isinstance(tunables, list):
            raise Fault(INVALID_PARAMS, {"tunables": tunables, "reason": "not a list"})
        updates = []
        for tunable in tunables:
            if not isinstance(tunable, dict) or not isinstance(tunable.get("ioTune"), dict):
                raise Fault(INVALID_PARAMS, {"tunable": tunable, "reason": "expected {name, path, ioTune}"})
            disk = vm.disk(tunable.get("name"), tunable.get("path"))
            if disk is None:
                raise Fault(IO_TUNE_ERROR, {"vmId": vmID, "reason": f"no such disk: {tunable.get('name')}"})
            limits = tunable["ioTune"]
            bad = [key for key, value in limits.items() if key not in IO_TUNE_KEYS or not _is_int(value) or value < 0]
            if bad:
                raise Fault(IO_TUNE_ERROR, {"vmId": vmID, "reason": f"invalid limits {bad}"})
            merged = {**disk.io_tune, **limits}
            for kind in ("bytes", "iops"):
                total = merged.get(f"total_{kind}_sec", 0)
                if total and (merged.get(f"read_{kind}_sec", 0) or merged.get(f"write_{kind}_sec", 0)):
                    raise Fault(
                        IO_TUNE_ERROR,
                        {"vmId": vmID, "reason": f"total and read/write {kind}_sec cannot be set at the same time"},
                    )
            updates.append((disk, merged))
        for disk, merged in updates:
            disk.io_tune = merged
        return True

    def _set_ksm_tune(self, tuningParams: Any) -> bool:
        if not isinstance(tuningParams, dict):
            raise Fault(INVALID_PARAMS, {"tuningParams": tuningParams, "reason": "not a dict"})
        for key, value in tuningParams.items():
            limit = 3 if key in ("run", "merge_across_nodes") else 2**32
            if key not in KSM_DEFAULTS or not _is_int(value) or not 0 <= value < limit:
                raise Fault(KSM_ERROR, {"reason": f"invalid KSM parameter {key}={value!r}"})
        self.ksm.update(tuningParams)
        return True

    # ## Snapshots (for a double in another process, see tests.vdsm_double.shared_dir)

    def snapshot(self) -> dict[str, Any]:
        """Everything a test controls, as JSON-able data."""
        with self.lock:
            return {
                "up": self.up,
                "recovering": self.recovering,
                "generation": self.generation,
                "delays": dict(self.delays),
                "server_errors": copy.deepcopy(self.server_errors),
                "ksm": dict(self.ksm),
                "vms": [vm.to_json() for vm in self.vms.values()],
            }

    def load(self, snapshot: dict[str, Any]) -> None:
        """Replace the state with a :meth:`snapshot` (the journal stays)."""
        with self.lock:
            self.up = bool(snapshot.get("up", True))
            self.recovering = bool(snapshot.get("recovering", False))
            self.generation = int(snapshot.get("generation", self.generation))
            self.delays = {str(key): float(value) for key, value in snapshot.get("delays", {}).items()}
            self.server_errors = copy.deepcopy(snapshot.get("server_errors", {}))
            self.ksm = dict(snapshot.get("ksm", KSM_DEFAULTS))
            self.vms = {}
            for data in snapshot.get("vms", []):
                self.add_vm(Vm.from_json(data))
