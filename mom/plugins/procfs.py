"""Reading /proc without forking: process stat lines and process lookup by name.

Upstream ran ``pgrep``, ``ps`` and ``pidof`` every tick; these helpers read the same
numbers straight from ``/proc/<pid>/stat`` (see proc(5) for the field numbers).
"""

from __future__ import annotations

import os
from typing import Iterator

__all__ = ["ProcStat", "read_stat", "pids", "find_pids_by_name", "CLOCK_TICKS"]

#: jiffies per second (``getconf CLK_TCK``)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


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


def find_pids_by_name(name: str, *, exact: bool, proc: str = "/proc") -> Iterator[ProcStat]:
    """Processes whose name (comm) equals, or contains, ``name`` (as pidof / pgrep do)."""
    for pid in pids(proc):
        try:
            line = _stat_line(pid, proc)
            comm = _comm(line)
            if (comm != name) if exact else (name not in comm):
                continue  # the name first: most processes are not wanted, so not parsed
            stat = ProcStat(pid, line)
        except (OSError, ValueError, IndexError):
            continue  # exited meanwhile, or unreadable
        yield stat
