"""The kernel's pressure stall information (PSI): ``/proc/pressure/{memory,cpu,io}`` and a
cgroup's ``*.pressure`` files.

Each has a ``some`` line (at least one task stalled) and, for memory and io (and cpu since
Linux 5.13), a ``full`` line (all non-idle tasks stalled), each ``avg10=… avg60=… avg300=…
total=…``: the averages are percent of wall time over 10, 60 and 300 s, ``total`` the
stall time in microseconds since boot.
A trigger is a ``"some|full <stall_us> <window_us>"`` line written to the file opened
read-write; the kernel then signals ``POLLPRI`` on that descriptor whenever the stall
within one window exceeds the threshold (Documentation/accounting/psi.rst).  Windows
are 0.5 to 10 s; without CAP_SYS_RESOURCE they must be a multiple of 2 s.
"""

from __future__ import annotations

import os

__all__ = ["PSI_MEMORY", "parse_psi", "read_psi", "open_trigger", "open_total", "read_some_total", "some_total"]

PSI_MEMORY = "/proc/pressure/memory"


def parse_psi(text: str) -> dict[str, float | int]:
    """``{"some_avg10": 0.12, ..., "some_total": 123, "full_...": ...}`` from a PSI file.

    Lines or keys that are not there (a ``full`` line appeared in Linux 5.13 for cpu)
    are simply absent; ValueError for a value that is not a number.
    """
    values: dict[str, float | int] = {}
    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        if kind not in ("some", "full"):
            continue
        for item in rest.split():
            key, sep, value = item.partition("=")
            if not sep:
                continue
            if key == "total":
                values[f"{kind}_total"] = int(value)
            elif key.startswith("avg"):
                values[f"{kind}_{key}"] = float(value)
    return values


def read_psi(path: str) -> dict[str, float | int]:
    """:func:`parse_psi` of one file; OSError (no PSI: ENOENT, psi=0: EOPNOTSUPP) or
    ValueError (not a pressure file) for the caller to report once."""
    with open(path, encoding="ascii") as handle:
        return parse_psi(handle.read())


def open_total(path: str = PSI_MEMORY) -> int:
    """A read-only descriptor for :func:`read_some_total`; OSError as :func:`read_psi`."""
    return os.open(path, os.O_RDONLY | os.O_CLOEXEC)


def some_total(data: bytes) -> int:
    """The ``some`` line's ``total=`` (µs) of a PSI file's bytes; ValueError if not there.

    Only that number is parsed: the watcher reads it ten times a second, and the
    averages and the ``full`` line are of no use to it."""
    start = data.find(b"some ")
    if start < 0:
        raise ValueError("no 'some' line")
    end = data.find(b"\n", start)
    line = data[start:] if end < 0 else data[start:end]
    at = line.find(b" total=")
    if at < 0:
        raise ValueError("no 'some ... total='")
    number = line[at + 7 :].split(None, 1)
    if not number:
        raise ValueError("nothing after 'total='")
    return int(number[0])


def read_some_total(fd: int) -> int:
    """:func:`some_total` of the file behind ``fd`` (from :func:`open_total`), read again
    from its start with one pread: a PSI file is regenerated on each read from offset 0,
    so the descriptor is kept instead of opening the file every time."""
    return some_total(os.pread(fd, 512, 0))


def open_trigger(stall_us: int, window_us: int, path: str = PSI_MEMORY, kind: str = "some") -> int:
    """A descriptor that signals POLLPRI on memory stall; OSError if the kernel refuses.

    (ENOENT: no PSI, or booted with psi=0; EINVAL: a threshold or window out of range,
    or not a multiple of 2 s without CAP_SYS_RESOURCE; EOPNOTSUPP: psi disabled.)
    """
    fd = os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        os.write(fd, f"{kind} {stall_us} {window_us}\0".encode())
    except OSError:
        os.close(fd)
        raise
    return fd
