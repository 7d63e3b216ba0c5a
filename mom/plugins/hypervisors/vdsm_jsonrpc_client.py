"""The ``vdsmjsonrpcclient`` hypervisor interface: MOM on an oVirt host, through vdsm's JSON-RPC API.

This is what vdsm's own mom.conf selects.  vdsm owns libvirt; MOM reads guests and acts
only through vdsm's API (``vdsm.client``, see :mod:`mom.plugins.hypervisors.vdsm_client`):

=====================  ==========================================================
MOM call               vdsm verb (keyword arguments as vdsm's schema names them)
=====================  ==========================================================
getVmList ...          ``Host.getAllVmStats()``, one call per 5 s shared by all
                       guests (see :mod:`~mom.plugins.hypervisors.vdsm_rpc_base`)
getVmIoTunePolicy,     ``Host.getAllVmIoTunePolicies()`` -> vmId ->
getVmIoTune            ``{policy: [...], current_values: [...]}``, one call per 300 s
setVmBalloonTarget     ``VM.setBalloonTarget(vmID=, target=)`` (KiB)
setVmCpuTune           ``VM.setCpuTuneQuota(vmID=, quota=)`` then
                       ``VM.setCpuTunePeriod(vmID=, period=)`` (microseconds)
setVmIoTune            ``VM.setIoTune(vmID=, tunables=[{name, path, ioTune}])``
ksmTune                ``Host.setKsmTune(tuningParams={run, pages_to_scan, ...})``
shutdownVm             ``VM.shutdown(vmID=, delay=, message=, timeout=, force=)``
destroyVm              ``VM.destroy(vmID=)``
=====================  ==========================================================

No managed save (vdsm's domains are not persistent), no start (the engine owns a
VM's definition) and no migration (the engine owns placement): the lifecycle
controller publishes a recommendation instead.

Connection: ``[vdsm] host``/``port`` (localhost:54321), TLS as vdsm's own ``[vars] ssl``
says, ``[vdsm] request-timeout`` seconds per request.  Failures never escape (upstream
let every error but vdsm's ``ServerError`` kill the calling thread): a query without
an answer is a missing value (the guest manager skips the pass, the collectors report
a collection error), an action that fails is logged with its verb and arguments; vdsm
down or restarting is handled by :class:`~mom.plugins.hypervisors.vdsm_connection.VdsmConnection`.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping

from mom.errors import HypervisorInterfaceError
from mom.optional import Optional
from mom.plugins.hypervisors.memo import Fetched, TimedMemo
from mom.plugins.hypervisors.vdsm_client import ClientLibrary, VdsmSettings, load_client_library, vdsm_uses_tls
from mom.plugins.hypervisors.vdsm_connection import CallFailed, VdsmConnection
from mom.plugins.hypervisors.vdsm_rpc_base import VdsmRpcBase

__all__ = ["VdsmJsonRpcClientInterface", "instance", "STATS_TTL", "IO_TUNE_TTL"]

#: seconds one ``Host.getAllVmStats`` answer is reused (upstream's value)
STATS_TTL = 5.0
#: seconds one IO tune answer is reused (upstream's value)
IO_TUNE_TTL = 300.0


def _arguments(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{key}={value!r}" for key, value in params.items())


class VdsmJsonRpcClientInterface(VdsmRpcBase):
    """vdsm's API through ``vdsm.client`` (or the configured stand-in, for tests)."""

    #: the configuration name (for log lines)
    interface_name = "vdsmjsonrpcclient"
    #: IO tune from one ``Host.getAllVmIoTunePolicies`` (else per VM: VM.getIoTunePolicy/getIoTune)
    bulk_io_tune = True

    def __init__(
        self,
        config: Any,
        *,
        library: ClientLibrary | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = VdsmSettings.from_config(config)
        if library is None:
            library = load_client_library(self.settings, self.logger)
        self.connection = VdsmConnection(library, self.settings, vdsm_uses_tls(), logger=self.logger, clock=clock)
        self._all_vm_stats = TimedMemo(self._fetch_all_vm_stats, STATS_TTL, clock=clock)
        self._all_io_tune = TimedMemo(self._fetch_all_io_tune, IO_TUNE_TTL, clock=clock)
        self._vm_io_tune = TimedMemo(self._fetch_vm_io_tune, IO_TUNE_TTL, clock=clock)
        self._stats_failure = "vdsm did not answer Host.getAllVmStats yet"
        # vdsm down now is no reason not to start: the connection is tried again later
        self.connection.connect()

    # ## Calls

    def _log_failure(self, failure: CallFailed, params: Mapping[str, Any]) -> None:
        # connection problems are logged once per outage by the connection itself
        level = self.logger.debug if failure.kind in ("connection", "unexpected") else self.logger.warning
        level("%s(%s) failed: %s", failure.verb, _arguments(params), failure.reason)

    def _query(self, verb: str, **params: Any) -> Fetched:
        try:
            return Fetched(Optional(self.connection.call(verb, **params)))
        except CallFailed as failure:
            self._log_failure(failure, params)
            return Fetched(Optional.missing(), failure.transient)

    def _act(self, verb: str, **params: Any) -> bool:
        """Run one action; False (logged) if vdsm did not do it."""
        try:
            self.connection.call(verb, **params)
            return True
        except CallFailed as failure:
            self._log_failure(failure, params)
            return False

    # ## Statistics (5 s)

    def _fetch_all_vm_stats(self) -> Fetched:
        try:
            stats_list = self.connection.call("Host.getAllVmStats")
        except CallFailed as failure:
            self._log_failure(failure, {})
            self._stats_failure = f"no VM statistics from vdsm: {failure}"
            return Fetched(Optional.missing(), failure.transient)
        if isinstance(stats_list, dict):  # a bridge that returns vdsm's envelope
            stats_list = stats_list.get("statsList", [])
        by_id = {vm["vmId"]: vm for vm in stats_list or () if isinstance(vm, dict) and "vmId" in vm}
        return Fetched(Optional(by_id))

    def _getAllVmStats(self) -> Optional:
        return self._all_vm_stats()

    def _stats_unavailable(self) -> str:
        return self._stats_failure

    # ## IO tune (300 s)

    def _fetch_all_io_tune(self) -> Fetched:
        return self._query("Host.getAllVmIoTunePolicies")

    def _fetch_vm_io_tune(self, verb: str, uuid: str) -> Fetched:
        return self._query(verb, vmID=uuid)

    def getVmIoTunePolicy(self, uuid: str) -> list[dict[str, Any]] | None:
        """The VM's IO policies ``[{name, path, guaranteed{}, maximum{}}]``, or None."""
        if self.bulk_io_tune:
            return self._all_io_tune()[uuid]["policy"].orNone()
        return self._vm_io_tune("VM.getIoTunePolicy", uuid).orNone()

    def getVmIoTune(self, uuid: str) -> list[dict[str, Any]] | None:
        """The VM's disks' IO limits now ``[{name, path, ioTune{}}]``, or None.

        The dicts are the cached answer itself, as upstream returned them: a policy's
        IoTune setters write into them, so a limit sent once is not sent again every
        cycle until the cache expires.
        """
        if self.bulk_io_tune:
            return self._all_io_tune()[uuid]["current_values"].orNone()
        return self._vm_io_tune("VM.getIoTune", uuid).orNone()

    # ## Actions

    def setVmBalloonTarget(self, uuid: str, target: int) -> None:
        self._act("VM.setBalloonTarget", vmID=uuid, target=target)

    def setVmCpuTune(self, uuid: str, quota: int, period: int) -> None:
        self._act("VM.setCpuTuneQuota", vmID=uuid, quota=quota)
        self._act("VM.setCpuTunePeriod", vmID=uuid, period=period)

    def setVmIoTune(self, uuid: str, tunables: list[dict[str, Any]]) -> None:
        self._act("VM.setIoTune", vmID=uuid, tunables=tunables)

    def ksmTune(self, tuning_params: dict[str, int]) -> None:
        self._act("Host.setKsmTune", tuningParams=dict(tuning_params))

    # ## Lifecycle (issue 12): vdsm's own verbs, failures raised for the audit

    lifecycle_actions = frozenset({"shutdown", "destroy"})

    def _lifecycle(self, verb: str, **params: Any) -> None:
        try:
            self.connection.call(verb, **params)
        except CallFailed as failure:
            self._log_failure(failure, params)
            raise HypervisorInterfaceError(f"{verb}({_arguments(params)}) failed: {failure.reason}") from None

    def shutdownVm(self, uuid: str, timeout: float, delay: int = 30, message: str = "", force: bool = True) -> str:
        """vdsm's graceful shutdown: the guest's users get ``message`` and ``delay``
        seconds; with ``force`` vdsm destroys it after ``timeout`` seconds."""
        self._lifecycle(
            "VM.shutdown", vmID=uuid, delay=str(int(delay)), message=message, timeout=str(int(timeout)), force=force
        )
        return "VM.shutdown accepted by vdsm"

    def destroyVm(self, uuid: str) -> str:
        self._lifecycle("VM.destroy", vmID=uuid)
        return "VM.destroy done by vdsm"

    def close(self) -> None:
        self.connection.close()


def instance(config: Any) -> VdsmJsonRpcClientInterface:
    """Upstream's factory: the interface for this configuration."""
    return VdsmJsonRpcClientInterface(config)
