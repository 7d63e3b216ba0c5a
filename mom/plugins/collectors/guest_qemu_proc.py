"""GuestQemuProc: page faults and RSS of a guest's QEMU process, from /proc/<pid>/stat."""

from __future__ import annotations

from typing import Any, Mapping

from mom.errors import CollectionError
from mom.plugins import procfs
from mom.plugins.collectors.base import Collector

__all__ = ["GuestQemuProc"]


class GuestQemuProc(Collector):
    """The QEMU process of a guest, as the host sees it.

    - ``host_minor_faults``, ``host_major_faults``: faults since the previous sample (0 at first)
    - ``rss``: resident set size (pages)

    A guest without a known process (``pid`` None) yields nothing.
    """

    fields = frozenset({"host_minor_faults", "host_major_faults", "rss"})

    def __init__(self, properties: Mapping[str, Any]) -> None:
        super().__init__(properties)
        self.pid = properties.get("pid")
        self.prev: tuple[int, int] | None = None

    def collect(self) -> dict[str, Any]:
        if self.pid is None:
            return {}
        try:
            stat = procfs.read_stat(int(self.pid))
        except (OSError, ValueError, IndexError) as error:
            raise CollectionError(f"cannot read /proc/{self.pid}/stat: {error}") from error
        minor = major = 0
        if self.prev is not None:
            minor = stat.minflt - self.prev[0]
            major = stat.majflt - self.prev[1]
        self.prev = (stat.minflt, stat.majflt)
        return {"host_minor_faults": minor, "host_major_faults": major, "rss": stat.rss}
