"""Helpers for the tests (and benchmarks) of mom; not part of the installed package.

- :func:`wait_for`: poll a condition with a deadline (for tests of threads and daemons);
- :func:`libvirt_test_host`: an XML host file for libvirt's in-process test driver
  (``test:///ABS/PATH.xml``) with N running guests;
- :func:`momd_config`: momd's configuration on such a host (or any libvirt URI);
- :class:`MomdProcess`: a real ``momd`` child process, stopped when its ``with`` block ends;
- :class:`LibvirtTickRig`: momd's monitors, policy engine and libvirt interface
  in-process on a test-driver host, one tick (collect, evaluate, apply) per :meth:`~LibvirtTickRig.tick`;
- :func:`calls_during`: the libvirt calls, by name, that an action cost;
- :class:`Clock`: a monotonic clock the test moves by hand;
- :func:`ksm_sysfs_guard`: exclusive use of the real ``/sys/kernel/mm/ksm`` for a test,
  restoring every tunable afterwards (lock file ``/tmp/mom-test-ksm.lock``).
"""

from __future__ import annotations

import configparser
import contextlib
import errno
import fcntl
import os
import signal
import subprocess
import sys
import time
import uuid as uuid_module
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from xml.sax.saxutils import escape

from mom.plugins.ksm_sysfs import KSM_DIR, KsmSysfs
from mom.policy_sets import DEFAULT_SET, shipped_set_dir

__all__ = [
    "wait_for",
    "libvirt_test_host",
    "INTERVAL_KEYS",
    "momd_config",
    "LibvirtTickRig",
    "OVIRT_QOS_METADATA",
    "calls_delta",
    "calls_during",
    "Clock",
    "MomdProcess",
    "free_tcp_port",
    "exclusive_lock",
    "ksm_lock",
    "ksm_settings",
    "ksm_sysfs_guard",
    "KSM_LOCK_FILE",
    "KSM_SETTINGS",
]

KSM_LOCK_FILE = "/tmp/mom-test-ksm.lock"
#: KSM's tunables (not its counters): what a test must leave as it found it; a kernel
#: has those of its version
KSM_SETTINGS = (
    "run",
    "pages_to_scan",
    "sleep_millisecs",
    "max_page_sharing",
    "merge_across_nodes",
    "use_zero_pages",
    "stable_node_chains_prune_millisecs",
    "smart_scan",
    "advisor_mode",
    "advisor_max_cpu",
    "advisor_min_pages_to_scan",
    "advisor_max_pages_to_scan",
    "advisor_target_scan_time",
)
#: momd's five loop intervals ([main], seconds)
INTERVAL_KEYS = (
    "main-loop-interval",
    "host-monitor-interval",
    "guest-manager-interval",
    "guest-monitor-interval",
    "policy-engine-interval",
)


def wait_for(
    predicate: Callable[[], Any],
    timeout: float = 20.0,
    step: float = 0.05,
    what: str | Callable[[], str] | None = None,
) -> Any:
    """Poll until ``predicate()`` is truthy and return its value; AssertionError after ``timeout``.

    :param what: the condition, named in the error; a callable is called then (to add,
        say, the end of a log)
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            label = what() if callable(what) else what
            raise AssertionError(f"{label or 'condition'}: not met within {timeout:g} s")
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


def momd_config(
    uri: str,
    path: str | os.PathLike[str] | None = None,
    *,
    interval: str | None = "0.2",
    rpc_port: str = "-1",
    host: str = "HostMemory, HostTime",
    guest: str = "GuestMemory, GuestBalloon",
    verbosity: str | None = "debug",
    main: Mapping[str, str] | None = None,
    sections: Mapping[str, Mapping[str, str]] | None = None,
) -> configparser.ConfigParser:
    """momd's configuration on the libvirt ``uri``; also written to ``path`` if given.

    :param interval: every one of :data:`INTERVAL_KEYS`, in seconds (None: the defaults)
    :param rpc_port: ``-1`` (off), a TCP port or a UNIX socket path
    :param host: ``[host] collectors``
    :param guest: ``[guest] collectors``
    :param verbosity: ``[logging] verbosity`` (None: no ``[logging]`` section)
    :param main: more ``[main]`` keys, or other values for those above
    :param sections: more sections (``"Collector: Name"``...), or replacements of ``host``/``guest``
    """
    values = dict.fromkeys(INTERVAL_KEYS, interval) if interval is not None else {}
    values.update({"libvirt-hypervisor-uri": uri, "rpc-port": rpc_port})
    values.update(main or {})
    layout: dict[str, Mapping[str, str]] = {"main": values}
    if verbosity is not None:
        layout["logging"] = {"verbosity": verbosity}
    layout.update({"host": {"collectors": host}, "guest": {"collectors": guest}})
    layout.update(sections or {})
    config = configparser.ConfigParser(interpolation=None)
    config.read_dict(layout)
    if path is not None:
        with open(path, "w", encoding="utf-8") as handle:
            config.write(handle)
    return config


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


#: a disk-less test-driver domain started after the host's (a guest added between rounds)
LATE_DOMAIN_XML = """<domain type='test'><name>late</name><memory unit='KiB'>1048576</memory>
<currentMemory unit='KiB'>524288</currentMemory><vcpu>1</vcpu><os><type>hvm</type></os>
<devices><memballoon model='virtio'/></devices></domain>"""


class LibvirtTickRig:
    """momd's tick, in-process, on a test-driver host of ``guests`` domains.

    The daemon's own objects (host monitor, guest manager in single-thread mode, policy
    engine, libvirt interface), configured as vdsm configures momd, minus what the test
    driver cannot do (no ``vcpu_quota``: no CpuTune controller) or what would change this
    machine (no KSM controller), with the shipped policies.  Every domain carries
    :data:`OVIRT_QOS_METADATA`.  :meth:`tick` runs one collection round and one policy
    cycle; ``calls_during(rig.iface, rig.tick)`` counts its libvirt calls.

    :param directory: where the host XML is written
    :param parameters: a ``01-parameters`` policy, as vdsm would set it
    :param implementation: a policy implementation (``mom._impl.program`` by default)

    The parts come from momd's composition root (:func:`~mom.runtime.parts.build_parts`):
    ``rig.parts.observers`` takes observers of the ticks.
    """

    GUEST_COLLECTORS = "GuestMemoryOptional, GuestBalloonOptional, GuestCpuTune, GuestIoTuneOptional"
    HOST_COLLECTORS = "HostMemory, HostKSM, HostCpu"
    CONTROLLERS = "Balloon, IoTune"
    POLICY_DIR = shipped_set_dir(DEFAULT_SET)

    def __init__(self, directory: str, guests: int, *, parameters: str = "", implementation: Any = None) -> None:
        from mom.config import load_config
        from mom.runtime.parts import build_parts

        path = os.path.join(directory, f"host-{guests}.xml")
        self.domains = libvirt_test_host(path, guests, metadata=OVIRT_QOS_METADATA, iotune=_TEST_DRIVER_IOTUNE)
        self.uri = f"test://{path}"
        overrides = momd_config(
            self.uri,
            interval=None,
            verbosity=None,
            host=self.HOST_COLLECTORS,
            guest=self.GUEST_COLLECTORS,
            main={
                "policy-dir": self.POLICY_DIR,
                "guest-manager-multi-thread": "false",
                "controllers": self.CONTROLLERS,
            },
        )
        loaded = load_config("", overrides)
        # momd's own wiring; no thread is started (the host's first sample is taken)
        self.parts = build_parts(loaded.parser, loaded.settings, implementation=implementation)
        if self.parts.hypervisor_iface is None:
            self.parts.close()
            raise RuntimeError(f"the libvirt interface on {self.uri} cannot start (see the log)")
        self.iface = self.parts.hypervisor_iface
        self.host_monitor = self.parts.host_monitor
        self.guest_manager = self.parts.guest_manager
        self.engine = self.parts.policy_engine
        if parameters:
            self.set_parameters(parameters)
        self.guest_manager.update_guests()
        # as momd's process does (mom.cli.momd; as it was again at close)
        from mom.runtime.gc_pause import freeze_long_lived

        self._was_freezing = freeze_long_lived()

    def set_parameters(self, text: str) -> None:
        """Replace the ``01-parameters`` policy (RuntimeError if it does not compile)."""
        if not self.engine.policy.set_policy("01-parameters", text):
            raise RuntimeError(f"01-parameters does not compile: {text!r}")

    def tick(self) -> bool:
        """Collect every guest, evaluate the policy, apply it; whether the controllers ran."""
        self.guest_manager.collect_guests()
        return self.engine.do_controls()

    def close(self) -> None:
        from mom.runtime.gc_pause import freeze_long_lived

        if not self._was_freezing:
            freeze_long_lived(False)  # the rig turned it on (another rig still open keeps it)
        self.parts.close()


def calls_delta(before: Mapping[str, int], after: Mapping[str, int]) -> dict[str, int]:
    """The calls by name made between two snapshots of a by-name counter (those not made left out)."""
    return {name: count - before.get(name, 0) for name, count in after.items() if count != before.get(name, 0)}


def calls_during(iface: Any, action: Callable[[], Any]) -> dict[str, int]:
    """The libvirt calls, by name, that ``action()`` cost the libvirt interface ``iface``."""
    before = iface.connection.calls_by_name()
    action()
    return calls_delta(before, iface.connection.calls_by_name())


class Clock:
    """A monotonic clock the test moves by hand (cache ages, back-off): pass it as ``clock=``."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# ## Exclusive use of a machine-wide resource; KSM


@contextlib.contextmanager
def exclusive_lock(path: str | os.PathLike[str], timeout: float, holder: str) -> Iterator[None]:
    """Hold an exclusive flock on ``path``; TimeoutError if another ``holder`` keeps it ``timeout`` s."""
    # flock needs no write access, so read-only works whoever created the file. Open an
    # existing file without O_CREAT: fs.protected_regular refuses O_CREAT on someone
    # else's file in sticky /tmp, even to root.
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as error:
                if error.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{path} stayed locked by another {holder} for {timeout:.0f} s") from None
                time.sleep(0.5)
        yield
    finally:
        os.close(fd)  # releases the lock


def ksm_lock(timeout: float = 300.0) -> contextlib.AbstractContextManager[None]:
    """The project-wide lock that every test writing ``/sys/kernel/mm/ksm`` holds meanwhile."""
    return exclusive_lock(KSM_LOCK_FILE, timeout, "KSM user")


def ksm_settings(sysfs: KsmSysfs | None = None) -> dict[str, str]:
    """Every KSM tunable this kernel has, as text (``advisor_mode``: the selected advisor)."""
    sysfs = sysfs or KsmSysfs()
    values = {}
    for key in KSM_SETTINGS:
        if os.path.exists(sysfs.path(key)):
            values[key] = (sysfs.advisor_mode() or "") if key == "advisor_mode" else sysfs.read(key)
    return values


@contextlib.contextmanager
def ksm_sysfs_guard(root: str = KSM_DIR, *, lock: bool = True, timeout: float = 300.0) -> Iterator[KsmSysfs]:
    """Hold the KSM lock (unless ``lock`` is false: the caller holds it) and restore every
    tunable of ``root`` that changed meanwhile, on exit.

    If KSM was off on entry and ran meanwhile (or left merged pages), it is told to unmerge
    (``run`` 2) before it is stopped again, so no merged pages are left behind.  The
    advisor is set to ``none`` while the other knobs are restored: it owns
    ``pages_to_scan`` and refuses manual values.
    """
    with ksm_lock(timeout) if lock else contextlib.nullcontext():
        sysfs = KsmSysfs(root)
        saved = ksm_settings(sysfs)
        try:
            yield sysfs
        finally:
            _restore_ksm(sysfs, saved)


def _restore_ksm(sysfs: KsmSysfs, saved: dict[str, str]) -> None:
    now = ksm_settings(sysfs)
    errors = []

    def write(key: str, value: str) -> None:
        try:
            sysfs.write(key, value)
        except OSError as error:
            errors.append(f"{key}={value}: {error}")

    if saved.get("run") == "0" and (now.get("run") != "0" or _merged(sysfs)):
        write("run", "2")  # returns once everything is unmerged
    changed = [key for key in saved if key not in ("run", "advisor_mode") and now.get(key) != saved[key]]
    advisor = now.get("advisor_mode")
    if changed and advisor not in (None, "", "none"):
        write("advisor_mode", "none")
        advisor = "none"
    for key in changed:
        write(key, saved[key])
    if "advisor_mode" in saved and advisor != saved["advisor_mode"]:
        write("advisor_mode", saved["advisor_mode"])
    if "run" in saved and sysfs.read("run") != saved["run"]:
        write("run", saved["run"])
    if errors:
        raise RuntimeError("could not restore KSM settings: " + "; ".join(errors))


def _merged(sysfs: KsmSysfs) -> bool:
    try:
        return sysfs.read_int("pages_shared") > 0
    except OSError:
        return False


# ## momd as a child process


class MomdProcess:
    """A real ``momd`` child process for integration tests.

    ``with MomdProcess(config_path, log_path, extra_args=(), env=None) as momd:`` runs
    ``python -m mom.cli.momd -c CONFIG`` with its output in ``log_path``, and stops it
    when the block ends if the test did not (killed if it does not stop in time).
    :meth:`wait_answering` waits until it answers; :meth:`stop` sends SIGTERM (or
    ``signum``) and returns the exit status.
    """

    def __init__(
        self,
        config_path: str,
        log_path: str,
        extra_args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.config_path = config_path
        self.log_path = log_path
        self.extra_args = extra_args
        self.env = env
        self.process: Any = None

    def start(self) -> MomdProcess:
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

    def __enter__(self) -> MomdProcess:
        if self.process is None:
            self.start()
        return self

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> None:
        if self.process is None or self.process.returncode is not None:
            return  # never started, or already stopped and reaped
        try:
            self.stop()
        except subprocess.TimeoutExpired:
            if exc_type is None:
                raise  # a momd that does not stop is a failure of its own

    def log(self) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as handle:
            return handle.read()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_answering(self, probe: Callable[[], Any], timeout: float = 30.0, step: float = 0.05) -> Any:
        """Poll ``probe()`` until it returns something truthy and return that.

        An OSError from ``probe`` means "not yet" (socket not there, connection
        refused).  AssertionError with momd's output if it exits or does not answer in time.
        """

        def answers() -> Any:
            if not self.alive():
                status = None if self.process is None else self.process.poll()
                raise AssertionError(f"momd exited (status {status}) before it answered; its output:\n{self.log()}")
            try:
                return probe()
            except OSError:
                return None

        return wait_for(answers, timeout, step, what=lambda: f"momd answering; its output:\n{self.log()}")

    def stop(self, signum: int | None = None, timeout: float = 20.0) -> int:
        """Signal momd (SIGTERM by default) and wait for it; killed (and TimeoutExpired) after ``timeout``."""
        if self.alive():
            self.process.send_signal(signum or signal.SIGTERM)
        try:
            return int(self.process.wait(timeout))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


def free_tcp_port() -> int:
    """A TCP port on localhost nobody listens on right now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return sock.getsockname()[1]
