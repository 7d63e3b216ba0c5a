"""The ``libvirt`` hypervisor interface, on libvirt-python (upstream ``libvirtInterface``).

One libvirt connection, per-domain calls as upstream makes them.  Guests are listed by
domain ID; everything else addresses a domain by UUID.  The QEMU process id comes
from libvirt's pid file or a scan of ``/proc/*/cmdline`` (upstream ran ``ps``); drivers
without local processes (the test driver, remote URIs) give ``pid`` None.

Errors: VIR_ERR_NO_DOMAIN (the guest just went away) is ignored and the query answers
None; a broken connection (VIR_ERR_SYSTEM_ERROR, VIR_ERR_INVALID_CONN) is reopened on
the next call; anything else is logged as ``Unhandled libvirt exception (%i).``.
Queries answer None on error; actions raise :class:`HypervisorInterfaceError` so the
controller can log which guest failed.

IO tuning: the policy of each disk is read from the domain metadata element in the
``http://ovirt.org/vm/tune/1.0`` namespace (where oVirt keeps ``vcpuLimit`` too)::

    <qos><vcpuLimit>50</vcpuLimit>
      <ioTune><device name="vda" path="/images/a.img">
        <guaranteed><total_bytes_sec>1000</total_bytes_sec></guaranteed>
        <maximum><total_bytes_sec>5000</total_bytes_sec></maximum>
      </device></ioTune></qos>

and the current limits from ``blockIoTune``.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import xml.etree.ElementTree as ElementTree
from typing import Any, Callable
from urllib.parse import urlparse

import libvirt

from mom.errors import HypervisorInterfaceError
from mom.plugins.collectors.io_tune import IO_TUNE_KEYS
from mom.plugins.hypervisors.base import HypervisorInterface
from mom.plugins.ksm_sysfs import KsmSysfs

__all__ = ["LibvirtInterface", "instance", "TUNE_NAMESPACE", "MEMORY_STATS_MAP"]

TUNE_NAMESPACE = "http://ovirt.org/vm/tune/1.0"

#: libvirt memoryStats() key -> GuestMemory field
MEMORY_STATS_MAP = {
    "available": "mem_available",
    "unused": "mem_unused",
    "major_fault": "major_fault",
    "minor_fault": "minor_fault",
    "swap_in": "swap_in",
    "swap_out": "swap_out",
}

#: write order for ksmTune: merge_across_nodes only changes while KSM is stopped
_KSM_ORDER = {"merge_across_nodes": 0, "pages_to_scan": 1, "sleep_millisecs": 2, "run": 3}

_RECONNECT_CODES = {libvirt.VIR_ERR_SYSTEM_ERROR, libvirt.VIR_ERR_INVALID_CONN}

_PID_DIRS = ("/run/libvirt/qemu", "/var/run/libvirt/qemu")


def _ignore_errors(context: Any, error: Any) -> None:
    """libvirt's default handler prints every error to stderr; the errors are handled here."""


class _Gone(Exception):
    """The domain no longer exists (VIR_ERR_NO_DOMAIN)."""


class LibvirtInterface(HypervisorInterface):
    """Talks to libvirt at ``[main] libvirt-hypervisor-uri`` (empty: libvirt's default)."""

    def __init__(self, config: Any) -> None:
        self.logger = logging.getLogger("mom.libvirtInterface")
        self.uri: str | None = config.get("main", "libvirt-hypervisor-uri") or None
        # whole seconds, at least 1: a period of 0 would switch the balloon stats off
        self.stats_period = max(1, math.ceil(float(config.get("main", "guest-monitor-interval"))))
        self.ksm = KsmSysfs()
        self.lock = threading.Lock()
        self.conn: libvirt.virConnect | None = None
        libvirt.registerErrorHandler(_ignore_errors, None)
        self._connect()

    # ## Connection and errors

    def _connect(self) -> None:
        try:
            self.conn = libvirt.open(self.uri)
        except libvirt.libvirtError as error:
            self.logger.error("libvirtInterface: error setting up connection to %s: %s", self.uri, error)
            self.conn = None

    def _connection(self) -> libvirt.virConnect:
        with self.lock:
            if self.conn is None:
                self._connect()
            if self.conn is None:
                raise HypervisorInterfaceError(f"not connected to libvirt ({self.uri or 'default URI'})")
            return self.conn

    def _handle(self, error: libvirt.libvirtError) -> None:
        code = error.get_error_code()
        if code == libvirt.VIR_ERR_NO_DOMAIN:
            raise _Gone() from error
        if code in _RECONNECT_CODES:
            self.logger.warning("libvirt connection lost (%s); reconnecting", error)
            with self.lock:
                try:
                    if self.conn is not None:
                        self.conn.close()
                except libvirt.libvirtError:
                    pass
                self.conn = None
                self._connect()
        else:
            self.logger.warning("Unhandled libvirt exception (%i).", code)

    def _query(self, what: str, function: Callable[[], Any]) -> Any:
        """Run a query; None if the domain is gone or libvirt failed (logged)."""
        try:
            return function()
        except libvirt.libvirtError as error:
            try:
                self._handle(error)
            except _Gone:
                return None
            self.logger.warning("%s failed: %s", what, error)
            return None

    def _action(self, what: str, function: Callable[[], Any]) -> Any:
        """Run an action; HypervisorInterfaceError if it failed."""
        try:
            return function()
        except libvirt.libvirtError as error:
            try:
                self._handle(error)
            except _Gone:
                raise HypervisorInterfaceError(f"{what}: the domain no longer exists") from None
            raise HypervisorInterfaceError(f"{what}: {error}") from error
        except (LookupError, TypeError, ValueError) as error:
            # the binding rejects typed parameters a driver does not know
            raise HypervisorInterfaceError(f"{what}: {error}") from error

    def _domain(self, uuid: str) -> libvirt.virDomain:
        return self._connection().lookupByUUIDString(uuid)

    # ## Guests

    def getVmList(self) -> list[int] | None:
        """IDs of the running domains; None (skip this pass) if libvirt fails."""
        try:
            return self._query("listDomainsID", lambda: self._connection().listDomainsID())
        except HypervisorInterfaceError as error:
            self.logger.warning("getVmList: %s", error)
            return None

    def getVmInfo(self, vm_id: Any) -> dict[str, Any] | None:
        try:
            conn = self._connection()
        except HypervisorInterfaceError:
            return None

        def info() -> dict[str, Any]:
            domain = conn.lookupByID(int(vm_id))
            uuid = domain.UUIDString()
            return {"uuid": uuid, "name": domain.name(), "pid": self._find_pid(conn, domain.name(), uuid)}

        result = self._query(f"getVmInfo({vm_id})", info)
        if result is None or result["uuid"] is None or result["name"] is None:
            return None
        return result

    def _find_pid(self, conn: libvirt.virConnect, name: str, uuid: str) -> int | None:
        """The QEMU process of a local domain, without running ``ps``."""
        try:
            driver = conn.getType()
            uri = conn.getURI()
        except libvirt.libvirtError:
            return None
        if driver != "QEMU" or urlparse(uri).hostname:
            return None  # no local process (test driver, remote host)
        candidates = [os.path.join(directory, name + ".pid") for directory in _PID_DIRS]
        runtime = os.environ.get("XDG_RUNTIME_DIR")
        if runtime:
            candidates.append(os.path.join(runtime, "libvirt", "qemu", "run", name + ".pid"))
        for path in candidates:
            try:
                with open(path, encoding="ascii") as handle:
                    pid = int(handle.read().strip())
            except (OSError, ValueError):
                continue
            if _cmdline_has(pid, uuid):
                return pid
        matches = [pid for pid in _all_pids() if _cmdline_has(pid, uuid)]
        return matches[0] if len(matches) == 1 else None

    # ## Memory

    def startVmMemoryStats(self, uuid: str) -> None:
        self._query(
            f"setMemoryStatsPeriod({uuid})",
            lambda: self._domain(uuid).setMemoryStatsPeriod(self.stats_period),
        )

    def getStatsFields(self) -> set[str]:
        return set(MEMORY_STATS_MAP.values())

    def getVmMemoryStats(self, uuid: str) -> dict[str, Any]:
        try:
            stats = self._action(f"memoryStats({uuid})", lambda: self._domain(uuid).memoryStats())
        except HypervisorInterfaceError:
            raise
        if not stats:
            raise HypervisorInterfaceError("libvirt memoryStats() is not active")
        return {field: stats[key] for key, field in MEMORY_STATS_MAP.items() if key in stats}

    def getVmBalloonInfo(self, uuid: str) -> dict[str, Any] | None:
        def balloon() -> dict[str, Any]:
            domain = self._domain(uuid)
            info = domain.info()
            return {"balloon_max": info[1], "balloon_cur": info[2], "balloon_min": _min_guarantee(domain.XMLDesc(0))}

        return self._query(f"getVmBalloonInfo({uuid})", balloon)

    def setVmBalloonTarget(self, uuid: str, target: int) -> None:
        self._action(f"setMemory({uuid}, {target})", lambda: self._domain(uuid).setMemory(int(target)))

    # ## CPU

    def getVmCpuTuneInfo(self, uuid: str) -> dict[str, Any] | None:
        def tune() -> dict[str, Any]:
            domain = self._domain(uuid)
            data: dict[str, Any] = {"vcpu_user_limit": _vcpu_limit(domain)}
            data.update(domain.schedulerParameters())
            for key in ("vcpu_quota", "vcpu_period"):
                if data.get(key) is None:
                    data[key] = 0
            data["vcpu_count"] = domain.vcpusFlags(libvirt.VIR_DOMAIN_AFFECT_CURRENT)
            return data

        return self._query(f"getVmCpuTuneInfo({uuid})", tune)

    def setVmCpuTune(self, uuid: str, quota: int, period: int) -> None:
        params = {"vcpu_quota": int(quota), "vcpu_period": int(period)}
        self._action(
            f"setSchedulerParameters({uuid}, {params})", lambda: self._domain(uuid).setSchedulerParameters(params)
        )

    # ## IO

    def getVmIoTunePolicy(self, uuid: str) -> list[dict[str, Any]] | None:
        def policy() -> list[dict[str, Any]]:
            root = _tune_metadata(self._domain(uuid))
            if root is None:
                return []
            policies = []
            for device in root.iter():
                if _local(device.tag) != "device":
                    continue
                entry: dict[str, Any] = {"name": device.get("name"), "path": device.get("path")}
                for kind in ("guaranteed", "maximum"):
                    entry[kind] = {}
                    for child in device:
                        if _local(child.tag) == kind:
                            entry[kind] = {_local(limit.tag): int(limit.text or 0) for limit in child}
                policies.append(entry)
            return policies

        return self._query(f"getVmIoTunePolicy({uuid})", policy)

    def getVmIoTune(self, uuid: str) -> list[dict[str, Any]] | None:
        def current() -> list[dict[str, Any]]:
            domain = self._domain(uuid)
            result = []
            for name, path in _disks(domain.XMLDesc(0)):
                limits = domain.blockIoTune(name, 0)
                result.append({"name": name, "path": path, "ioTune": {key: limits.get(key, 0) for key in IO_TUNE_KEYS}})
            return result

        return self._query(f"getVmIoTune({uuid})", current)

    def setVmIoTune(self, uuid: str, tunables: list[dict[str, Any]]) -> None:
        for tune in tunables:
            params = {key: int(value) for key, value in tune.get("ioTune", {}).items() if value is not None}
            name = tune.get("name")
            self._action(
                f"setBlockIoTune({uuid}, {name}, {params})",
                lambda name=name, params=params: self._domain(uuid).setBlockIoTune(
                    name, params, libvirt.VIR_DOMAIN_AFFECT_LIVE
                ),
            )

    # ## Host

    def ksmTune(self, tuning_params: dict[str, int]) -> None:
        """Write the KSM knobs to sysfs (merge_across_nodes first, run last)."""
        failures = []
        for key in sorted(tuning_params, key=lambda k: _KSM_ORDER.get(k, 2)):
            try:
                self.ksm.write(key, int(tuning_params[key]))
            except (OSError, ValueError) as error:
                failures.append(f"{key}={tuning_params[key]}: {error}")
        if failures:
            raise HypervisorInterfaceError("ksmTune failed: " + "; ".join(failures))

    def qemuAgentCommand(self, uuid: str, command: str, timeout: int = 10) -> str | None:
        import libvirt_qemu

        return self._action(
            f"qemuAgentCommand({uuid})",
            lambda: libvirt_qemu.qemuAgentCommand(self._domain(uuid), command, timeout, 0),
        )

    def close(self) -> None:
        with self.lock:
            if self.conn is not None:
                try:
                    self.conn.close()
                except libvirt.libvirtError:
                    pass
                self.conn = None


def instance(config: Any) -> LibvirtInterface:
    """Upstream's factory: the interface for this configuration."""
    return LibvirtInterface(config)


# ## Helpers


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def _min_guarantee(xml: str) -> int:
    node = ElementTree.fromstring(xml).find("./memtune/min_guarantee")
    if node is None or not (node.text or "").strip():
        return 0
    return int(node.text.strip())


def _tune_metadata(domain: libvirt.virDomain) -> ElementTree.Element | None:
    try:
        text = domain.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, TUNE_NAMESPACE, 0)
    except libvirt.libvirtError as error:
        if error.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN_METADATA:
            return None
        raise
    return ElementTree.fromstring(text)


def _vcpu_limit(domain: libvirt.virDomain) -> int:
    root = _tune_metadata(domain)
    if root is not None:
        for node in root.iter():
            if _local(node.tag) == "vcpuLimit" and (node.text or "").strip():
                return int(node.text.strip())
    return 100


def _disks(xml: str) -> list[tuple[str, str | None]]:
    disks = []
    for disk in ElementTree.fromstring(xml).findall("./devices/disk"):
        if disk.get("device", "disk") != "disk":
            continue
        target = disk.find("target")
        if target is None or not target.get("dev"):
            continue
        source = disk.find("source")
        path = None
        if source is not None:
            path = source.get("file") or source.get("dev") or source.get("name")
        disks.append((target.get("dev"), path))
    return disks


def _all_pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def _cmdline_has(pid: int, uuid: str) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return uuid.encode() in handle.read()
    except OSError:
        return False
