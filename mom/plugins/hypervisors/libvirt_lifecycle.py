"""Lifecycle actions of the ``libvirt`` interface: shut down, destroy, managed save, start, migrate.

A mixin of :class:`~mom.plugins.hypervisors.libvirt.LibvirtInterface` (it uses the
interface's connection and domain handles).  Every method blocks; the lifecycle
controller calls them on its own worker, never on the policy thread.  Failures are
:class:`~mom.errors.HypervisorInterfaceError` with the call and the reason.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import libvirt

from mom.errors import HypervisorInterfaceError

__all__ = ["LibvirtLifecycle", "MIGRATION_FLAGS"]

#: live, peer to peer (the source daemon talks to the destination itself), defined on the
#: destination, undefined here once it runs there
MIGRATION_FLAGS = (
    libvirt.VIR_MIGRATE_LIVE
    | libvirt.VIR_MIGRATE_PEER2PEER
    | libvirt.VIR_MIGRATE_PERSIST_DEST
    | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
)
#: seconds between two looks at a domain that is shutting down
_POLL = 0.5


class LibvirtLifecycle:
    """Mixed into LibvirtInterface: needs ``connection``, ``_handle`` and ``_entry``."""

    #: what the lifecycle controller may ask of this interface
    lifecycle_actions = frozenset({"shutdown", "destroy", "managedsave", "start", "migrate"})

    connection: Any
    _handle: Any  # LibvirtInterface's: (virDomain, cache entry) of a UUID

    def _forget(self, uuid: str) -> None:
        """The domain's cached handle and XML are stale after a lifecycle change."""
        entry = self._domains.get(uuid)  # type: ignore[attr-defined]
        if entry is not None:
            with self.lock:  # type: ignore[attr-defined]
                entry.version += 1
                entry.handle = None
                entry.xml = None

    def _call(self, name: str, uuid: str, *args: Any) -> Any:
        handle, entry = self._handle(uuid)
        return self.connection.call(name, getattr(handle, name), *args, domain=entry, query=False)

    def getVmLifecycleInfo(self, uuid: str) -> dict[str, Any]:
        """``{persistent, active, xml}``: ``xml`` is the live definition of a transient
        domain (what starting it again needs), '' for a persistent one."""
        persistent = bool(self._call("isPersistent", uuid))
        active = bool(self._call("isActive", uuid))
        xml = "" if persistent else str(self._call("XMLDesc", uuid, libvirt.VIR_DOMAIN_XML_SECURE))
        return {"persistent": persistent, "active": active, "xml": xml}

    def _domain_state(self, uuid: str) -> int | None:
        """The domain's state (VIR_DOMAIN_*), None once it no longer exists."""
        try:
            conn = self.connection.get()
            handle = conn.lookupByUUIDString(uuid)
            return int(handle.state()[0])
        except libvirt.libvirtError as error:
            if error.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return None
            raise HypervisorInterfaceError(f"state({uuid}): {error}") from None

    def shutdownVm(self, uuid: str, timeout: float, delay: int = 0, message: str = "", force: bool = True) -> str:
        """ACPI shutdown; with ``force`` destroyed if still running after ``timeout`` s.
        Says which.  (``delay`` and ``message`` are vdsm's; libvirt has no use for them.)"""
        self._call("shutdown", uuid)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                state = self._domain_state(uuid)
                if state is None or state == libvirt.VIR_DOMAIN_SHUTOFF:
                    return f"shut down by ACPI in {timeout - (deadline - time.monotonic()):.1f} s"
                time.sleep(_POLL)
            if not force:
                raise HypervisorInterfaceError(f"shutdown({uuid}): still running after {timeout:g} s")
            self._call("destroy", uuid)
            return f"still running after the ACPI shutdown's {timeout:g} s: destroyed"
        finally:
            self._forget(uuid)

    def destroyVm(self, uuid: str) -> str:
        """Power the guest off at once."""
        try:
            self._call("destroy", uuid)
        finally:
            self._forget(uuid)
        return "destroyed"

    def managedSaveVm(self, uuid: str) -> str:
        """Save its memory to disk and stop it; the next start resumes it (persistent domains)."""
        try:
            self._call("managedSave", uuid, 0)
        finally:
            self._forget(uuid)
        return "state saved to disk (managed save)"

    def startVm(self, uuid: str, xml: str = "") -> str:
        """Start a defined domain (from its managed save image if it has one), or create
        a transient one from ``xml``."""
        conn = self.connection.get()
        try:
            handle = conn.lookupByUUIDString(uuid)
        except libvirt.libvirtError as error:
            if error.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
                raise HypervisorInterfaceError(f"lookupByUUIDString({uuid}): {error}") from None
            if not xml:
                raise HypervisorInterfaceError(f"startVm({uuid}): the domain is no longer defined") from None
            self.connection.call("createXML", conn.createXML, xml, 0, domain=uuid, query=False)
            return "created again from its definition (transient domain)"
        saved = bool(self.connection.call("hasManagedSaveImage", handle.hasManagedSaveImage, 0, domain=uuid))
        self.connection.call("create", handle.create, domain=uuid, query=False)
        self._forget(uuid)
        return "resumed from its managed save image" if saved else "started"

    # ## Migration

    def getPeerFreeMemory(self, uri: str) -> int:
        """KiB the host at ``uri`` can hand out readily (free + buffers + cached, as
        HostMemory's ``mem_free``)."""
        try:
            peer = libvirt.open(uri)
        except libvirt.libvirtError as error:
            raise HypervisorInterfaceError(f"peer {uri}: cannot connect: {error.get_error_message()}") from None
        try:
            stats = peer.getMemoryStats(libvirt.VIR_NODE_MEMORY_STATS_ALL_CELLS, 0)
            return int(stats.get("free", 0)) + int(stats.get("buffers", 0)) + int(stats.get("cached", 0))
        except libvirt.libvirtError as error:
            raise HypervisorInterfaceError(f"peer {uri}: getMemoryStats: {error.get_error_message()}") from None
        finally:
            try:
                peer.close()
            except libvirt.libvirtError:
                pass

    def migrateVm(
        self,
        uuid: str,
        uri: str,
        bandwidth_mib: int = 0,
        auto_converge: bool = False,
        timeout: float = 300,
        data_uri: str = "",
    ) -> str:
        """Live, peer-to-peer migration to ``uri``; the job is aborted after ``timeout`` s
        (the guest then keeps running here)."""
        handle, entry = self._handle(uuid)
        flags = MIGRATION_FLAGS | (libvirt.VIR_MIGRATE_AUTO_CONVERGE if auto_converge else 0)
        params: dict[str, Any] = {}
        if bandwidth_mib > 0:
            params[libvirt.VIR_MIGRATE_PARAM_BANDWIDTH] = int(bandwidth_mib)
        if data_uri:
            params[libvirt.VIR_MIGRATE_PARAM_URI] = data_uri
        aborted = threading.Event()

        def abort() -> None:
            aborted.set()
            try:
                handle.abortJob()
            except libvirt.libvirtError as error:
                self.connection.logger.warning("abortJob(%s) after %s s: %s", entry, timeout, error)

        timer = threading.Timer(timeout, abort)
        timer.daemon = True
        started = time.monotonic()
        timer.start()
        try:
            self.connection.call("migrateToURI3", handle.migrateToURI3, uri, params, flags, domain=entry, query=False)
        except HypervisorInterfaceError as error:
            if aborted.is_set():
                raise HypervisorInterfaceError(f"migration to {uri} aborted after {timeout:g} s: {error}") from None
            raise
        finally:
            timer.cancel()
            self._forget(uuid)
        return f"migrated live to {uri} in {time.monotonic() - started:.1f} s"
