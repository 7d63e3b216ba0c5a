"""A real, local memory stall: a child process reads a file through a memory cgroup too small for it.

Every page the child faults in must first be reclaimed from its own cgroup's limit, so
it stalls on memory (the kernel's PSI counts it, in /proc/pressure/memory too) while
nothing else on the machine is squeezed.  The cgroup is v2 with ``memory.max`` where the
memory controller is there, else v1 with ``memory.limit_in_bytes`` (this machine mounts
memory on v1, the unified hierarchy without it).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from typing import Iterator

__all__ = ["memory_cgroup_root", "memory_stall", "psi_trigger_problem", "stall_file", "READER", "LIMIT"]

LIMIT = 32 << 20  # bytes the cgroup may hold
FILE_SIZE = 256 << 20  # bytes read over and over

READER = """
import mmap, os, sys, time
open(sys.argv[1] + '/cgroup.procs', 'w').write(str(os.getpid()))
end = time.monotonic() + float(sys.argv[3])
with open(sys.argv[2], 'rb') as handle:
    os.posix_fadvise(handle.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)  # charged to us from now on
    data = mmap.mmap(handle.fileno(), 0, prot=mmap.PROT_READ)
    print('reading', flush=True)
    total = 0
    while time.monotonic() < end:
        for offset in range(0, len(data), 4096):
            total += data[offset]
"""


def memory_cgroup_root() -> tuple[str, str] | None:
    """(directory to make a child cgroup in, limit file name), or None if there is none we may use."""
    unified = "/sys/fs/cgroup"
    for base in (unified, unified + "/unified"):
        try:
            with open(base + "/cgroup.controllers", encoding="ascii") as handle:
                if "memory" in handle.read().split():
                    return base, "memory.max"
        except OSError:
            continue
    try:
        with open("/proc/self/cgroup", encoding="ascii") as handle:
            for line in handle:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                if "memory" in controllers.split(","):
                    base = "/sys/fs/cgroup/memory" + path
                    if os.access(base, os.W_OK):
                        return base, "memory.limit_in_bytes"
    except OSError:
        pass
    return None


def psi_trigger_problem(window_us: int = 2000000) -> str | None:
    """Why a PSI memory trigger cannot be set here, or None if it can."""
    from mom.plugins.psi import open_trigger

    try:
        os.close(open_trigger(150000, window_us))
    except OSError as error:
        return f"no PSI memory trigger on this kernel: {error}"
    if memory_cgroup_root() is None:
        return "no writable memory cgroup to stall in"
    return None


def stall_file(directory: str) -> str:
    """The file the child reads, written once and synced (dirty pages could not be dropped)."""
    path = os.path.join(directory, "stall.dat")
    if not os.path.exists(path) or os.path.getsize(path) != FILE_SIZE:
        with open(path, "wb") as handle:
            chunk = os.urandom(1 << 20)
            for _ in range(FILE_SIZE >> 20):
                handle.write(chunk)
            os.fsync(handle.fileno())
    return path


@contextlib.contextmanager
def memory_stall(directory: str, seconds: float = 20.0) -> Iterator[subprocess.Popen[bytes]]:
    """Run the stalling child for the ``with`` block (at most ``seconds``); it is reading when this yields."""
    root = memory_cgroup_root()
    if root is None:
        raise RuntimeError("no writable memory cgroup")
    base, limit_file = root
    path = stall_file(directory)
    cgroup = os.path.join(base, f"mom-stall-{os.getpid()}")
    os.makedirs(cgroup, exist_ok=True)
    child = None
    try:
        with open(os.path.join(cgroup, limit_file), "w", encoding="ascii") as handle:
            handle.write(str(LIMIT))
        child = subprocess.Popen([sys.executable, "-c", READER, cgroup, path, str(seconds)], stdout=subprocess.PIPE)
        assert child.stdout is not None
        child.stdout.readline()  # "reading"
        yield child
    finally:
        if child is not None:
            child.kill()
            child.wait()
        for _ in range(50):  # the cgroup empties when the killed child is reaped
            try:
                os.rmdir(cgroup)
                break
            except OSError:
                time.sleep(0.1)
