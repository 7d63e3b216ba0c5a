"""Real QEMU guests under libvirtd, for the integration tests.

Provisioning (packages, guest kernel, initramfs, libvirt host config) and the daemon are the
shell scripts in ``scripts/realstack/``; this module runs them, defines and boots small
guests (busybox initramfs with virtio-balloon, see ``scripts/realstack/guest-init.sh``),
reads what they print on their serial console, and tears everything down.

Typical use (``conftest.py`` does this once per pytest session)::

    stack = RealStack()
    stack.provision()                     # StackUnavailable: cannot run here (reason)
    stack.start_libvirtd()
    stack.start_guests([GuestSpec("mom-rs-g1"), GuestSpec("mom-rs-g2")])   # booted to GUEST-READY
    stack.latest_mem("mom-rs-g1")         # MemSample from the guest's own /proc/meminfo
    stack.close()                         # guests destroyed in parallel, libvirtd stopped
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from tests.helpers import exclusive_lock

__all__ = [
    "DEFAULT_PREFIX",
    "MAX_PARALLEL_BOOTS",
    "SESSION_LOCK",
    "TIMINGS",
    "GuestSpec",
    "MemSample",
    "RealStack",
    "StackError",
    "StackUnavailable",
    "domain_xml",
    "exclusive_lock",
    "stack_dir",
    "vcpu_cgroup_limits",
]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = PROJECT_ROOT / "scripts" / "realstack"
#: scripts/realstack/*.sh exit with this status when real guests cannot run here
SKIP_STATUS = 77
#: every guest this module creates is named with this prefix; stale ones are removed by it
DEFAULT_PREFIX = "mom-rs-"
URI = "qemu:///system"
#: one pytest session at a time drives the machine's single system libvirtd
SESSION_LOCK = Path("/tmp/mom-realstack.lock")
#: TCG guests boot CPU-bound: never more than this many at once on this 2-core machine
MAX_PARALLEL_BOOTS = 3
#: libvirt keeps each running QEMU's pid here (qemu:///system)
QEMU_RUN_DIR = Path("/run/libvirt/qemu")
QEMU_LOG_DIR = Path("/var/log/libvirt/qemu")

#: (step, seconds) of everything timed in this process; conftest prints them after the run
TIMINGS: list[tuple[str, float]] = []

_MEM_LINE = re.compile(rb"^MEM (\d+(?:\.\d+)?) (\d+) (\d+) (\d+)\r?\n", re.MULTILINE)
#: what the guest's init prints after ``mom_unload_balloon`` seconds (guest-init.sh)
_UNLOAD_LINE = re.compile(rb"^BALLOON-(UNLOADED|UNLOAD-FAILED) ([^\r\n]*)\r?\n", re.MULTILINE)


class StackUnavailable(Exception):
    """Real guests cannot run on this machine (not root, not Debian, not x86_64...): str() says why."""


class StackError(Exception):
    """Something that should work here did not: provisioning, libvirtd, a guest's boot."""


@dataclass(frozen=True)
class GuestSpec:
    """One test guest: 1 vCPU, direct kernel boot, virtio-balloon, a small raw disk."""

    name: str
    memory_mib: int = 256
    #: seconds between the balloon driver's stats updates (libvirt ``<stats period>``)
    stats_period: int = 2
    #: MiB of one repeated page the guest writes to tmpfs before GUEST-READY (for KSM)
    fill_mib: int = 0
    #: seconds between MEM lines on the serial console
    mem_period: int = 1
    #: sparse raw image attached as vda, so the block IO tuning APIs have a disk to act on
    disk_mib: int = 16
    #: guest uptime in seconds at which its init unloads the balloon driver (``rmmod
    #: virtio_balloon``; it prints BALLOON-UNLOADED or BALLOON-UNLOAD-FAILED); 0: never
    unload_balloon_at: int = 0

    @property
    def memory_kib(self) -> int:
        """Its whole memory in KiB, as libvirt's ``setMemory`` and balloon ``actual`` count it."""
        return self.memory_mib * 1024


@dataclass(frozen=True)
class MemSample:
    """One MEM line a guest printed: its own /proc/meminfo, in kB (KiB)."""

    uptime: float  # guest seconds since boot
    mem_total: int
    mem_free: int
    mem_available: int


def _guests(count: int) -> str:
    return f"{count} guest" + ("" if count == 1 else "s")


def stack_dir() -> Path:
    """Where provisioning caches the guest kernel and the tests keep logs and disks."""
    return Path(os.environ.get("MOM_REALSTACK_DIR", PROJECT_ROOT / ".realstack"))


@contextmanager
def timed(step: str) -> Iterator[None]:
    """Record how long the block took in TIMINGS (also when it fails)."""
    start = time.monotonic()
    try:
        yield
    finally:
        TIMINGS.append((step, time.monotonic() - start))


def run_script(name: str, *args: str, timeout: float = 900.0, env: dict[str, str] | None = None) -> str:
    """Run ``scripts/realstack/NAME ARGS``; return its stdout.

    :raises StackUnavailable: the script exited with SKIP_STATUS (reason from its stderr)
    :raises StackError: any other failure, with the end of its output
    """
    proc = subprocess.run(
        ["bash", str(SCRIPTS / name), *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode == SKIP_STATUS:
        reasons = [line.split("SKIP:", 1)[1].strip() for line in proc.stderr.splitlines() if "SKIP:" in line]
        raise StackUnavailable("; ".join(reasons) or f"{name} reported that real guests cannot run here")
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
        raise StackError(f"scripts/realstack/{name} {' '.join(args)} failed with status {proc.returncode}:\n{tail}")
    return proc.stdout


def domain_xml(spec: GuestSpec, virt_type: str, guest_dir: Path, run_dir: Path) -> str:
    """The libvirt domain definition of one test guest.

    VIRT_TYPE is "kvm" or "qemu" (TCG; then the translation cache is capped at 32 MiB,
    which saves about 15 MiB of host RSS per guest against QEMU's default).
    """
    tcg = "<tcg><tb-cache unit='MiB'>32</tb-cache></tcg>" if virt_type == "qemu" else ""
    # no_timer_check: parallel TCG boots otherwise panic now and then with "IO-APIC +
    # timer doesn't work!". panic=-1 + on_reboot=destroy: a guest that panics (e.g. a
    # balloon squeezed below its working set) vanishes instead of spinning on a core.
    cmdline = (
        f"console=ttyS0 quiet no_timer_check panic=-1 mom_fill_mib={spec.fill_mib} mom_mem_period={spec.mem_period}"
        f" mom_unload_balloon={spec.unload_balloon_at}"
    )

    def path(p: Path) -> str:
        return quoteattr(str(p))

    return f"""<domain type={quoteattr(virt_type)}>
  <name>{escape(spec.name)}</name>
  <memory unit='MiB'>{spec.memory_mib}</memory>
  <currentMemory unit='MiB'>{spec.memory_mib}</currentMemory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{escape(str(guest_dir / "vmlinuz"))}</kernel>
    <initrd>{escape(str(guest_dir / "initrd.cpio.gz"))}</initrd>
    <cmdline>{escape(cmdline)}</cmdline>
  </os>
  <features><acpi/>{tcg}</features>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file={path(run_dir / f"{spec.name}.img")}/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <serial type='file'>
      <source path={path(run_dir / f"{spec.name}.serial.log")}/>
      <target port='0'/>
    </serial>
    <memballoon model='virtio'>
      <stats period='{spec.stats_period}'/>
    </memballoon>
  </devices>
</domain>
"""


class RealStack:
    """libvirtd plus a few real guests, owned by one test session.

    ``close()`` always runs at the end (it is also registered with atexit, for runs that
    are interrupted before pytest tears down): guests destroyed and undefined in
    parallel, libvirtd stopped if this project started it.
    """

    def __init__(self, directory: Path | None = None, prefix: str = DEFAULT_PREFIX, uri: str = URI) -> None:
        self.directory = directory or stack_dir()
        #: per-guest disk images and serial logs (kept after the run, for debugging)
        self.run_dir = self.directory / "guests"
        self.guest_dir = self.directory / "guest"
        self.prefix = prefix
        self.uri = uri
        self.virt_type = ""
        self.specs: dict[str, GuestSpec] = {}
        self._conn: Any = None
        self._libvirtd_requested = False
        self._closed = False
        self._env = {"MOM_REALSTACK_DIR": str(self.directory), "MOM_REALSTACK_PREFIX": prefix}
        atexit.register(self.close)

    @property
    def guests(self) -> tuple[str, ...]:
        """Names of the guests started by this stack, in start order."""
        return tuple(self.specs)

    def full_kib(self, name: str) -> int:
        """Guest ``name``'s whole memory in KiB (its balloon deflated)."""
        return self.specs[name].memory_kib

    # ---------------------------------------------------------------- provisioning, daemon

    def provision(self) -> None:
        """Install/build what is missing (idempotent; about 15 s from scratch, 1 s after)."""
        with timed("provision"):
            run_script("provision.sh", env=self._env)
            self.virt_type = run_script("detect-virt.sh", env=self._env).strip()

    def start_libvirtd(self) -> None:
        """Start libvirtd (no systemd) unless one runs, and connect to it."""
        with timed("libvirtd start"):
            self._libvirtd_requested = True
            run_script("libvirtd.sh", "start", env=self._env, timeout=60)
            self.connection()

    def reap_after(self, lock: Path) -> None:
        """Stop libvirtd and our guests once LOCK is free, even if this process dies by kill -9.

        A detached ``flock LOCK libvirtd.sh stop`` waits for the lock this session holds; after
        a normal close() it finds nothing left to do. Without it, TCG guests of a killed run
        would keep burning CPU on this shared machine until the next run removes them.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / "reaper.log", "ab") as log:
            subprocess.run(
                ["setsid", "-f", "flock", str(lock), "bash", str(SCRIPTS / "libvirtd.sh"), "stop"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env={**os.environ, **self._env},
                check=True,
            )

    def connection(self) -> Any:
        """The stack's libvirt connection (opened on first use, and again after libvirtd
        restarted; libvirtd may need a moment)."""
        import libvirt

        if self._conn is not None:
            try:
                self._conn.getLibVersion()  # a round trip: a dead socket shows only on use
            except libvirt.libvirtError:
                with contextlib.suppress(libvirt.libvirtError):
                    self._conn.close()
                self._conn = None
        if self._conn is None:
            deadline = time.monotonic() + 15
            while True:
                try:
                    self._conn = libvirt.open(self.uri)
                    break
                except libvirt.libvirtError as error:
                    if time.monotonic() > deadline:
                        raise StackError(f"cannot connect to {self.uri}: {error}") from error
                    time.sleep(0.2)
        return self._conn

    def restart_libvirtd(self, timeout: float = 20.0, sig: int = signal.SIGTERM) -> None:
        """Stop the libvirtd this project started (by ``sig``: SIGKILL kills it outright) and
        start it again; the guests keep running (libvirtd reattaches to their QEMU
        processes). Clients see their connection drop.

        :raises StackUnavailable: libvirtd was not started by this project (it is left alone)
        """
        pidfile = self.directory / "libvirtd.pid"
        try:
            pid = int(pidfile.read_text().strip())
        except (OSError, ValueError):
            raise StackUnavailable("libvirtd was not started by the project: not restarting it") from None
        with timed("libvirtd restart"):
            os.kill(pid, sig)
            deadline = time.monotonic() + timeout
            while Path(f"/proc/{pid}").exists():
                if time.monotonic() > deadline:
                    raise StackError(f"libvirtd (pid {pid}) did not stop within {timeout:.0f} s")
                time.sleep(0.1)
            pidfile.unlink(missing_ok=True)
            run_script("libvirtd.sh", "start", env=self._env, timeout=60)
            self.connection()

    # ---------------------------------------------------------------- guests

    def serial_log(self, name: str) -> Path:
        """The file the guest's ttyS0 is written to (GUEST-READY, MEM lines, kernel panics)."""
        return self.run_dir / f"{name}.serial.log"

    def qemu_log(self, name: str) -> Path:
        """QEMU's own stderr and command line, written by libvirtd."""
        return QEMU_LOG_DIR / f"{name}.log"

    def start_guests(
        self, specs: Iterable[GuestSpec], max_parallel: int = MAX_PARALLEL_BOOTS, timeout: float | None = None
    ) -> None:
        """Define the guests and boot them to GUEST-READY, at most MAX_PARALLEL at a time.

        Leftovers named with this stack's prefix (from a killed run) are removed first.
        TCG boots are CPU-bound, hence the batches. See wait_ready() for TIMEOUT.
        """
        specs = list(specs)
        for spec in specs:
            if not spec.name.startswith(self.prefix):
                raise ValueError(f"guest name {spec.name!r} must start with {self.prefix!r}")
        if not self.virt_type:
            self.virt_type = run_script("detect-virt.sh", env=self._env).strip()
        conn = self.connection()
        with timed("remove stale guests"):
            stale = [d.name() for d in conn.listAllDomains() if d.name().startswith(self.prefix)]
            self._destroy(stale)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        for first in range(0, len(specs), max_parallel):
            batch = specs[first : first + max_parallel]
            with timed(f"define+start {_guests(len(batch))}"):
                for spec in batch:
                    self.serial_log(spec.name).unlink(missing_ok=True)
                    # One image per guest: QEMU takes a write lock on it.
                    with open(self.run_dir / f"{spec.name}.img", "wb") as disk:
                        disk.truncate(spec.disk_mib << 20)
                    dom = conn.defineXML(domain_xml(spec, self.virt_type, self.guest_dir, self.run_dir))
                    self.specs[spec.name] = spec  # before create(): close() must undefine it either way
                    dom.create()
            self.wait_ready([spec.name for spec in batch], timeout)

    def wait_ready(self, names: Iterable[str] | None = None, timeout: float | None = None) -> None:
        """Wait until the named guests (default: all) have printed GUEST-READY on their console.

        TIMEOUT defaults to $MOM_REALSTACK_BOOT_TIMEOUT or 180 s (3 TCG boots take 11-17 s here).

        :raises StackError: a guest reported a failure, stopped, or did not get there in time
        """
        if timeout is None:
            timeout = float(os.environ.get("MOM_REALSTACK_BOOT_TIMEOUT", "180"))
        conn = self.connection()
        waiting = set(self.specs if names is None else names)
        with timed(f"boot {_guests(len(waiting))} to GUEST-READY"):
            deadline = time.monotonic() + timeout
            while waiting:
                for name in sorted(waiting):
                    text = self._read_serial(name)
                    if b"GUEST-READY" in text:
                        waiting.discard(name)
                    elif b"GUEST-FAILED" in text:
                        raise StackError(self._boot_report(name, "reported GUEST-FAILED"))
                    elif not conn.lookupByName(name).isActive():
                        raise StackError(self._boot_report(name, "stopped before GUEST-READY"))
                if waiting and time.monotonic() > deadline:
                    name = min(waiting)
                    raise StackError(self._boot_report(name, f"not GUEST-READY after {timeout:.0f} s"))
                if waiting:
                    time.sleep(0.25)

    def _read_serial(self, name: str) -> bytes:
        try:
            return self.serial_log(name).read_bytes()
        except FileNotFoundError:
            return b""

    def _boot_report(self, name: str, what: str) -> str:
        serial = self._read_serial(name).decode(errors="replace").splitlines()[-15:]
        try:
            qemu = self.qemu_log(name).read_text(errors="replace").splitlines()[-8:]
        except OSError:
            qemu = ["(none)"]
        return (
            f"guest {name} {what}.\n--- {self.serial_log(name)} (end):\n"
            + "\n".join(serial)
            + f"\n--- {self.qemu_log(name)} (end):\n"
            + "\n".join(qemu)
        )

    def latest_mem(self, name: str) -> MemSample | None:
        """The last complete MEM line the guest printed, or None before the first one."""
        matches = _MEM_LINE.findall(self._read_serial(name))
        if not matches:
            return None
        uptime, total, free, available = matches[-1]
        return MemSample(float(uptime), int(total), int(free), int(available))

    def wait_mem(self, name: str, predicate: Callable[[MemSample], bool], timeout: float = 30.0) -> MemSample:
        """Wait for a MEM line from NAME that satisfies PREDICATE and return it.

        :raises TimeoutError: with the last line seen
        """
        deadline = time.monotonic() + timeout
        while True:
            sample = self.latest_mem(name)
            if sample is not None and predicate(sample):
                return sample
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name}: no matching MEM line within {timeout:.0f} s; last: {sample}")
            time.sleep(0.2)

    def wait_balloon_unloaded(self, name: str, timeout: float = 60.0) -> float:
        """Wait until NAME's init has unloaded its balloon driver; return the guest's uptime then.

        :raises StackError: the guest said BALLOON-UNLOAD-FAILED (with its reason), or said
            nothing within TIMEOUT seconds (was it started with ``unload_balloon_at``?)
        """
        deadline = time.monotonic() + timeout
        while True:
            found = _UNLOAD_LINE.search(self._read_serial(name))
            if found is not None:
                outcome, detail = found.group(1).decode(), found.group(2).decode(errors="replace").strip()
                if outcome == "UNLOADED":
                    return float(detail)
                raise StackError(f"guest {name} could not unload its balloon driver: {detail}")
            if time.monotonic() > deadline:
                raise StackError(self._boot_report(name, f"did not unload its balloon driver within {timeout:.0f} s"))
            time.sleep(0.2)

    def qemu_pid(self, name: str) -> int:
        """The host pid of the guest's QEMU process."""
        pid = int((QEMU_RUN_DIR / f"{name}.pid").read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        if f"guest={name},".encode() not in cmdline:
            raise StackError(f"pid {pid} from {QEMU_RUN_DIR}/{name}.pid is not {name}'s QEMU")
        return pid

    # ---------------------------------------------------------------- teardown

    def _destroy(self, names: Iterable[str]) -> None:
        """Destroy and undefine the named domains in parallel (destroy takes ~2 s each)."""
        import libvirt

        names = set(names)
        if not names:
            return
        conn = self.connection()
        domains = [d for d in conn.listAllDomains() if d.name() in names]

        def destroy(dom: Any) -> None:
            try:
                if dom.isActive():
                    dom.destroy()
            except libvirt.libvirtError as error:
                # It may have stopped by itself in the meantime (panic=-1 + on_reboot=destroy).
                if error.get_error_code() != libvirt.VIR_ERR_OPERATION_INVALID:
                    raise
            dom.undefine()

        errors = []
        with ThreadPoolExecutor(max_workers=len(domains) or 1) as pool:
            for dom, future in [(d, pool.submit(destroy, d)) for d in domains]:
                try:
                    future.result()
                except Exception as error:  # noqa: BLE001  (collected: every guest gets its chance)
                    errors.append(f"{dom.name()}: {error}")
        if errors:
            raise StackError("could not remove guests: " + "; ".join(errors))

    def close(self) -> None:
        """Tear everything down: guests (in parallel), then libvirtd if we started it.

        Idempotent. Every step runs even if an earlier one fails; the first error is raised.
        """
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        if not self.specs and self._conn is None and not self._libvirtd_requested:
            return
        errors: list[BaseException] = []
        with timed("teardown"):
            if self.specs and self._conn is not None:
                try:
                    self._destroy(self.specs)
                except Exception as error:  # noqa: BLE001  (collected: every step runs)
                    errors.append(error)
                for name in self.specs:
                    (self.run_dir / f"{name}.img").unlink(missing_ok=True)
            if self._conn is not None:
                try:
                    self._conn.close()
                except Exception as error:  # noqa: BLE001  (collected: every step runs)
                    errors.append(error)
                self._conn = None
            if self._libvirtd_requested:
                # Also kills, by libvirt's pid files, any of our guests the step above missed.
                try:
                    run_script("libvirtd.sh", "stop", env=self._env, timeout=60)
                except Exception as error:  # noqa: BLE001  (collected: every step runs)
                    errors.append(error)
        if errors:
            raise errors[0]


# -------------------------------------------------------------------- host-side reading


def vcpu_cgroup_limits(qemu_pid: int, vcpu: int = 0) -> tuple[int, int] | None:
    """(quota, period) in µs of the cgroup libvirt put vCPU VCPU of that QEMU in.

    cgroup v1: ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``; v2: ``cpu.max`` (quota -1 = "max").
    None when the cgroup cannot be found (no cpu controller visible here).
    """
    mounts: dict[str, tuple[str, str]] = {}  # "cpu" (v1) or "" (v2) -> (mount root, mount point)
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        pre, _, post = line.partition(" - ")
        fields, post_fields = pre.split(), post.split()
        fstype, options = post_fields[0], post_fields[-1].split(",")
        if fstype == "cgroup" and "cpu" in options:
            mounts.setdefault("cpu", (fields[3], fields[4]))
        elif fstype == "cgroup2":
            mounts.setdefault("", (fields[3], fields[4]))
    for line in Path(f"/proc/{qemu_pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        key = "cpu" if "cpu" in controllers.split(",") else ("" if controllers == "" else None)
        if key is None or key not in mounts:
            continue
        root, point = mounts[key]
        # QEMU's main thread sits in .../<scope>/emulator; vCPU threads in .../<scope>/vcpuN.
        scope = path.removesuffix("/emulator")
        relative = os.path.relpath(scope, root) if root != "/" else scope.lstrip("/")
        group = Path(point) / relative / f"vcpu{vcpu}"
        if key == "cpu" and (group / "cpu.cfs_quota_us").exists():
            quota = int((group / "cpu.cfs_quota_us").read_text())
            return quota, int((group / "cpu.cfs_period_us").read_text())
        if key == "" and (group / "cpu.max").exists():
            quota_text, period_text = (group / "cpu.max").read_text().split()
            return (-1 if quota_text == "max" else int(quota_text)), int(period_text)
    return None


# -------------------------------------------------------------------- by hand, for debugging


def main(argv: list[str] | None = None) -> int:
    """``python -m tests.integration.realstack [N]``: boot N (default 1) guests, show where
    to look, and tear everything down on Enter or Ctrl-C."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    count = int(args[0]) if args else 1
    stack = RealStack()
    try:
        stack.provision()
        with exclusive_lock(SESSION_LOCK, 600.0, "test session using real guests"):
            stack.start_libvirtd()
            stack.start_guests(GuestSpec(f"{DEFAULT_PREFIX}debug{i}", fill_mib=0) for i in range(1, count + 1))
            print(f"{stack.uri}, domain type {stack.virt_type}")
            for name in stack.guests:
                print(f"{name}: qemu pid {stack.qemu_pid(name)}, {stack.latest_mem(name)}")
                print(f"    serial {stack.serial_log(name)}\n    qemu   {stack.qemu_log(name)}")
            try:
                input("guests are up; press Enter (or Ctrl-C) to tear down ")
            except (KeyboardInterrupt, EOFError):
                print()
    except StackUnavailable as why:
        print(f"real guests cannot run here: {why}", file=sys.stderr)
        return SKIP_STATUS
    finally:
        stack.close()
        for step, seconds in TIMINGS:
            print(f"{seconds:7.1f} s  {step}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
