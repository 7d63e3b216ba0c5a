"""A hypervisor interface that records lifecycle calls, and guests/hosts as policies leave them."""

from __future__ import annotations

import threading
import time

from mom.errors import HypervisorInterfaceError
from mom.offline import entity_from_spec
from mom.plugins.hypervisors.base import HypervisorInterface

GIB = 1024 * 1024


class FakeLibvirt(HypervisorInterface):
    """What LibvirtInterface offers, recorded; ``fail``/``slow`` per method name."""

    lifecycle_actions = frozenset({"shutdown", "destroy", "managedsave", "start", "migrate"})

    def __init__(self, peers=None):
        self.calls = []
        self.lock = threading.Lock()
        self.fail: dict[str, str] = {}
        self.slow: dict[str, float] = {}
        #: uri -> KiB free, or an exception message (peer down)
        self.peers = dict(peers or {})
        self.release = threading.Event()  # ends a "slow" call early

    def _call(self, name, *args):
        with self.lock:
            self.calls.append((name, *args))
        if name in self.slow:
            self.release.wait(self.slow[name])
        if name in self.fail:
            raise HypervisorInterfaceError(f"{name}: {self.fail[name]}")

    def names(self, name):
        with self.lock:
            return [call for call in self.calls if call[0] == name]

    def getVmLifecycleInfo(self, uuid):
        self._call("getVmLifecycleInfo", uuid)
        return {"persistent": True, "active": True, "xml": ""}

    def shutdownVm(self, uuid, timeout, delay=0, message="", force=True):
        self._call("shutdownVm", uuid, timeout)
        return "shut down by ACPI"

    def destroyVm(self, uuid):
        self._call("destroyVm", uuid)
        return "destroyed"

    def managedSaveVm(self, uuid):
        self._call("managedSaveVm", uuid)
        return "saved"

    def startVm(self, uuid, xml=""):
        self._call("startVm", uuid)
        return "started"

    def setVmBalloonTarget(self, uuid, target):
        self._call("setVmBalloonTarget", uuid, target)

    def getPeerFreeMemory(self, uri):
        self._call("getPeerFreeMemory", uri)
        free = self.peers[uri]
        if isinstance(free, str):
            raise HypervisorInterfaceError(f"peer {uri}: cannot connect: {free}")
        return free

    def migrateVm(self, uuid, uri, bandwidth_mib=0, auto_converge=False, timeout=300, data_uri=""):
        self._call("migrateVm", uuid, uri, bandwidth_mib, auto_converge)
        return f"migrated live to {uri}"


class FakeVdsm(FakeLibvirt):
    """vdsm's offer: shutdown and destroy only."""

    lifecycle_actions = frozenset({"shutdown", "destroy"})


def guest(name, uuid, sla_class, priority=50, balloon_max=2 * GIB, **stats):
    values = {
        "balloon_max": balloon_max,
        "balloon_min": 0,
        "balloon_cur": balloon_max,
        "mem_available": balloon_max,
        "mem_unused": balloon_max // 4,
        "sla_class": sla_class,
        "sla_priority": priority,
        "sla_guarantee": balloon_max if sla_class == "platinum" else 0,
        **stats,
    }
    return entity_from_spec({"name": name, "properties": {"uuid": uuid}, "stats": [values]})


def host(free_kib, total_kib=16 * GIB):
    return entity_from_spec({"name": "host", "stats": [{"mem_available": total_kib, "mem_free": free_kib}]})


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now


def wait_for(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")
