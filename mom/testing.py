"""Helpers for tests of mom and of plugins written for it.

- :func:`libvirt_test_host`: an XML host file for libvirt's in-process test driver
  (``test:///ABS/PATH.xml``) with N running guests;
- :class:`LibvirtTickRig`: momd's monitors, policy engine and libvirt interface
  in-process on such a host, one tick (collect, evaluate, apply) per :meth:`~LibvirtTickRig.tick`,
  with the libvirt calls it cost;
- :func:`wait_for`: poll a condition with a deadline (for tests of threads and daemons);
- :func:`ksm_sysfs_guard`: exclusive use of the real ``/sys/kernel/mm/ksm`` for a test,
  restoring every knob afterwards (lock file ``/tmp/mom-test-ksm.lock``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
import uuid as uuid_module
from typing import Any, Callable, Iterator
from xml.sax.saxutils import escape

from mom.plugins.ksm_sysfs import KSM_DIR, KsmSysfs

__all__ = [
    "wait_for",
    "libvirt_test_host",
    "LibvirtTickRig",
    "OVIRT_QOS_METADATA",
    "MomdProcess",
    "free_tcp_port",
    "ksm_sysfs_guard",
    "KSM_LOCK_FILE",
    "KSM_RESTORED_KEYS",
]

KSM_LOCK_FILE = "/tmp/mom-test-ksm.lock"
#: the writable KSM knobs a test may change; all are restored
KSM_RESTORED_KEYS = ("advisor_mode", "pages_to_scan", "sleep_millisecs", "merge_across_nodes", "run")


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, step: float = 0.05) -> Any:
    """Poll until ``predicate()`` is truthy and return its value; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(step)


def libvirt_test_host(
    path: str,
    guests: int,
    *,
    memory_kib: int = 4 * 1024 * 1024,
    current_kib: int = 2 * 1024 * 1024,
    prefix: str = "vm",
    metadata: str = "",
    iotune: str = "",
) -> list[tuple[str, str]]:
    """Write a test-driver host with ``guests`` running domains; their (name, uuid).

    Each guest has a virtio disk ``vda`` (``/images/<name>.img``) and a virtio balloon.
    ``metadata`` (XML) goes into every domain's ``<metadata>``, ``iotune`` (the content
    of an ``<iotune>`` element) into its disk.
    """
    domains = []
    names = []
    for index in range(guests):
        name = f"{prefix}{index:04d}"
        uuid = str(uuid_module.uuid5(uuid_module.NAMESPACE_URL, f"mom-test/{path}/{name}"))
        names.append((name, uuid))
        domains.append(
            f"""  <domain type='test'>
    <name>{escape(name)}</name>
    <uuid>{uuid}</uuid>
    <memory unit='KiB'>{memory_kib}</memory>
    <currentMemory unit='KiB'>{current_kib}</currentMemory>
    <vcpu placement='static'>2</vcpu>
    <os><type arch='x86_64'>hvm</type></os>
    <metadata>{metadata}</metadata>
    <devices>
      <disk type='file' device='disk'>
        <source file='/images/{escape(name)}.img'/>
        <target dev='vda' bus='virtio'/>{f"<iotune>{iotune}</iotune>" if iotune else ""}
      </disk>
      <memballoon model='virtio'><stats period='2'/></memballoon>
    </devices>
    <test:runstate>1</test:runstate>
  </domain>"""
        )
    xml = "<node xmlns:test='http://libvirt.org/schemas/domain/test'>\n" + "\n".join(domains) + "\n</node>\n"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(xml)
    return names


#: oVirt tuning metadata for test hosts: a 50% vCPU limit and IO limits for ``vda``
#: (every limit present, as vdsm writes them: the shipped IO policy reads all six)
OVIRT_QOS_METADATA = (
    "<ovt:qos xmlns:ovt='http://ovirt.org/vm/tune/1.0'><ovt:vcpuLimit>50</ovt:vcpuLimit><ovt:ioTune>"
    "<ovt:device name='vda'>"
    "<ovt:guaranteed><ovt:total_bytes_sec>1000000</ovt:total_bytes_sec></ovt:guaranteed>"
    "<ovt:maximum><ovt:total_bytes_sec>5000000</ovt:total_bytes_sec><ovt:read_bytes_sec>0</ovt:read_bytes_sec>"
    "<ovt:write_bytes_sec>0</ovt:write_bytes_sec><ovt:total_iops_sec>400</ovt:total_iops_sec>"
    "<ovt:read_iops_sec>0</ovt:read_iops_sec><ovt:write_iops_sec>0</ovt:write_iops_sec></ovt:maximum>"
    "</ovt:device></ovt:ioTune></ovt:qos>"
)
#: <iotune> content the test driver needs before it accepts those limits (a *_max above them)
_TEST_DRIVER_IOTUNE = (
    "<total_bytes_sec_max>100000000</total_bytes_sec_max><total_iops_sec_max>100000</total_iops_sec_max>"
)


class LibvirtTickRig:
    """momd's tick, in-process, on a test-driver host of ``guests`` domains.

    The daemon's own objects (host monitor, guest manager in single-thread mode, policy
    engine, libvirt interface), configured as vdsm configures momd, minus what the test
    driver cannot do (no ``vcpu_quota``: no CpuTune controller) or what would change this
    machine (no KSM controller).  Every domain carries :data:`OVIRT_QOS_METADATA`.
    :meth:`tick` runs one collection round and one policy cycle; :meth:`calls` counts
    libvirt calls.  ``engine`` is a policy implementation (``mom._impl.engine`` by default).

    :param directory: where the host XML is written
    :param parameters: a ``01-parameters`` policy, as vdsm would set it
    """

    GUEST_COLLECTORS = "GuestMemoryOptional, GuestBalloonOptional, GuestCpuTune, GuestIoTuneOptional"
    HOST_COLLECTORS = "HostMemory, HostKSM, HostCpu"
    CONTROLLERS = "Balloon, IoTune"

    def __init__(
        self,
        directory: str,
        guests: int,
        *,
        policy_dir: str | None = None,
        parameters: str = "",
        engine: Any = None,
        events: bool = True,
        main: dict[str, str] | None = None,
    ) -> None:
        import configparser

        from mom.config import INTERNAL_SECTION, load_config
        from mom.dsl.store import PolicyStore
        from mom.plugins.hypervisors.libvirt import LibvirtInterface
        from mom.runtime.engine import PolicyEngine
        from mom.runtime.guest_manager import GuestManager
        from mom.runtime.host_monitor import HostMonitor

        path = os.path.join(directory, f"host-{guests}.xml")
        self.domains = libvirt_test_host(path, guests, metadata=OVIRT_QOS_METADATA, iotune=_TEST_DRIVER_IOTUNE)
        self.uri = f"test://{path}"
        if policy_dir is None:
            policy_dir = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "policies")
        overrides = configparser.ConfigParser()
        overrides.read_dict(
            {
                "main": {
                    "libvirt-hypervisor-uri": self.uri,
                    "policy-dir": policy_dir,
                    "guest-manager-multi-thread": "false",
                    "controllers": self.CONTROLLERS,
                    "rpc-port": "-1",
                    **(main or {}),
                },
                "host": {"collectors": self.HOST_COLLECTORS},
                "guest": {"collectors": self.GUEST_COLLECTORS},
            }
        )
        loaded = load_config("", overrides)
        config, settings = loaded.parser, loaded.settings
        config.add_section(INTERNAL_SECTION)
        config.set(INTERNAL_SECTION, "plot-subdir", "")
        self.iface = LibvirtInterface(config, events=events)
        self.host_monitor = HostMonitor(config, settings)
        self.guest_manager = GuestManager(config, self.iface, settings)
        self.engine = PolicyEngine(config, self.iface, self.host_monitor, self.guest_manager, settings)
        if engine is not None:
            self.engine.policy = PolicyStore(engine=engine)
            self.engine.load_policy()
        if parameters:
            self.set_parameters(parameters)
        self.host_monitor.collect()
        self.guest_manager.update_guests()

    def set_parameters(self, text: str) -> None:
        """Replace the ``01-parameters`` policy (RuntimeError if it does not compile)."""
        if not self.engine.policy.set_policy("01-parameters", text):
            raise RuntimeError(f"01-parameters does not compile: {text!r}")

    def calls(self) -> int:
        """libvirt calls so far."""
        return self.iface.connection.total_calls

    def tick(self) -> bool:
        """Collect every guest, evaluate the policy, apply it; whether the controllers ran."""
        self.guest_manager.collect_guests()
        return self.engine.do_controls()

    def close(self) -> None:
        self.iface.close()


@contextlib.contextmanager
def ksm_sysfs_guard(root: str = KSM_DIR) -> Iterator[KsmSysfs]:
    """Hold the KSM test lock and restore the knobs of ``root`` on exit."""
    with open(KSM_LOCK_FILE, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        sysfs = KsmSysfs(root)
        saved = {}
        for key in KSM_RESTORED_KEYS:
            if os.path.exists(sysfs.path(key)):
                saved[key] = sysfs.advisor_mode() if key == "advisor_mode" else sysfs.read(key)
        try:
            yield sysfs
        finally:
            errors = []
            for key, value in saved.items():
                try:
                    current = sysfs.advisor_mode() if key == "advisor_mode" else sysfs.read(key)
                    if current != value:
                        sysfs.write(key, value)
                except OSError as error:
                    errors.append(f"{key}: {error}")
            fcntl.flock(lock, fcntl.LOCK_UN)
            if errors:
                raise RuntimeError("could not restore KSM settings: " + "; ".join(errors))


class MomdProcess:
    """A real ``momd`` child process for integration tests.

    ``MomdProcess(config_path, log_path, extra_args=(), env=None).start()`` runs
    ``python -m mom.cli.momd -c CONFIG`` with its output in ``log_path``;
    :meth:`stop` sends SIGTERM (or ``signum``) and returns the exit status.
    """

    def __init__(self, config_path: str, log_path: str, extra_args: tuple[str, ...] = (), env: dict | None = None):
        self.config_path = config_path
        self.log_path = log_path
        self.extra_args = extra_args
        self.env = env
        self.process: Any = None

    def start(self) -> "MomdProcess":
        import subprocess
        import sys

        environment = dict(os.environ)
        environment.update(self.env or {})
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "mom.cli.momd", "-c", self.config_path, *self.extra_args],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=environment,
            )
        return self

    def log(self) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as handle:
            return handle.read()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, signum: int | None = None, timeout: float = 20.0) -> int:
        import signal as signal_module

        if self.alive():
            self.process.send_signal(signum or signal_module.SIGTERM)
        try:
            return self.process.wait(timeout)
        except Exception:
            self.process.kill()
            self.process.wait()
            raise


def free_tcp_port() -> int:
    """A TCP port on localhost nobody listens on right now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return sock.getsockname()[1]
