"""Helpers for tests of mom and of plugins written for it.

- :func:`libvirt_test_host`: an XML host file for libvirt's in-process test driver
  (``test:///ABS/PATH.xml``) with N running guests;
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
) -> list[tuple[str, str]]:
    """Write a test-driver host with ``guests`` running domains; their (name, uuid).

    Each guest has a virtio disk ``vda`` (``/images/<name>.img``) and a virtio balloon.
    ``metadata`` (XML) goes into every domain's ``<metadata>``.
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
        <target dev='vda' bus='virtio'/>
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
