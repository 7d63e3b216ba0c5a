"""Reading /proc without forking: process stat lines and process lookup by name.

Upstream ran ``pgrep``, ``ps`` and ``pidof`` every tick; these helpers read the same
numbers straight from ``/proc/<pid>/stat`` (see proc(5) for the field numbers).
"""

from __future__ import annotations

import os
from typing import Iterator

__all__ = ["ProcStat", "read_stat", "pids", "find_pids_by_name", "vsizes_by_name", "CLOCK_TICKS"]

#: jiffies per second (``getconf CLK_TCK``)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


class ProcStat:
    """The fields of ``/proc/<pid>/stat`` this package uses."""

    __slots__ = ("pid", "comm", "minflt", "majflt", "utime", "stime", "vsize", "rss")

    def __init__(self, pid: int, line: str) -> None:
        # comm may hold spaces and parentheses: it ends at the *last* ')' (as in _comm)
        end = line.rindex(")")
        self.pid = pid
        self.comm = line[line.index("(") + 1 : end]
        rest = line[end + 2 :].split()  # rest[0] is field 3 (state)
        self.minflt = int(rest[7])  # field 10: minor faults
        self.majflt = int(rest[9])  # field 12: major faults
        self.utime = int(rest[11])  # field 14: user time, jiffies
        self.stime = int(rest[12])  # field 15: system time, jiffies
        self.vsize = int(rest[20])  # field 23: virtual size, bytes
        self.rss = int(rest[21])  # field 24: resident set, pages


def _comm(line: str) -> str:
    """The process name (comm) of a stat line; ValueError if the line has none."""
    return line[line.index("(") + 1 : line.rindex(")")]


def _stat_line(pid: int, proc: str) -> str:
    with open(f"{proc}/{pid}/stat", "rb") as handle:
        return handle.read().decode("utf-8", "replace")


def read_stat(pid: int, proc: str = "/proc") -> ProcStat:
    """``/proc/<pid>/stat`` parsed; OSError if the process is gone."""
    return ProcStat(pid, _stat_line(pid, proc))


def pids(proc: str = "/proc") -> Iterator[int]:
    """Every process id in /proc."""
    for entry in os.listdir(proc):
        if entry.isdigit():
            yield int(entry)


def _read_comm(pid: int, proc: str) -> str:
    """``/proc/<pid>/comm``: the same name as stat's field 2 (both the kernel's task
    name), in a file a fifth the size of stat and cheaper for the kernel to write."""
    with open(f"{proc}/{pid}/comm", "rb") as handle:
        data = handle.read()
    return data[:-1].decode("utf-8", "replace") if data.endswith(b"\n") else data.decode("utf-8", "replace")


def _candidates(name: str, exact: bool, proc: str) -> Iterator[int]:
    """Pids whose comm equals, or contains, ``name``; the ones gone meanwhile skipped."""
    for pid in pids(proc):
        try:
            comm = _read_comm(pid, proc)
        except OSError:
            continue  # exited meanwhile, or unreadable
        if (comm == name) if exact else (name in comm):
            yield pid


def find_pids_by_name(name: str, *, exact: bool, proc: str = "/proc") -> Iterator[ProcStat]:
    """Processes whose name (comm) equals, or contains, ``name`` (as pidof / pgrep do).

    The name is read from ``comm`` (most processes are not wanted, so their stat is not
    read at all); a candidate's stat line is checked again, its pid may have been reused.
    """
    for pid in _candidates(name, exact, proc):
        try:
            line = _stat_line(pid, proc)
            comm = _comm(line)
            if (comm != name) if exact else (name not in comm):
                continue
            stat = ProcStat(pid, line)
        except (OSError, ValueError, IndexError):
            continue  # exited meanwhile, or unreadable
        yield stat


def vsizes_by_name(name: str, *, exact: bool, proc: str = "/proc") -> Iterator[tuple[int, int]]:
    """``(pid, virtual size in bytes)`` of the processes :func:`find_pids_by_name` finds,
    the size from ``statm`` (its first field, pages: stat's vsize divided by the page size)."""
    for pid in _candidates(name, exact, proc):
        try:
            with open(f"{proc}/{pid}/statm", "rb") as handle:
                pages = int(handle.read().split(None, 1)[0])
        except (OSError, ValueError, IndexError):
            continue  # exited meanwhile, or unreadable
        yield pid, pages * _PAGE_SIZE
