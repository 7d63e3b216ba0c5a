"""The guests momd powered off itself: the only ones it ever starts again.

Kept in the state file (key ``"lifecycle"``, entry ``"stopped"``), so that a restart
of momd forgets none of them and starts nothing else.  A guest started by someone else
meanwhile (it runs again) is dropped from the record.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any, Iterable

__all__ = ["StoppedGuest", "StoppedGuests"]


@dataclass(frozen=True)
class StoppedGuest:
    """One guest momd stopped."""

    uuid: str
    name: str
    sla_class: str
    #: reclaim rank of its class (higher: restarted first) and its priority (0-100)
    rank: int
    priority: int
    #: KiB it takes back when started (its maximum memory)
    memory_kib: int
    #: shutdown, managedsave or destroy
    how: str
    #: seconds since the epoch
    stopped_at: float
    #: the domain XML of a transient domain (it is gone once stopped); "" if persistent
    xml: str = ""

    def as_dict(self) -> dict[str, Any]:
        """Plain values (the state file)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> StoppedGuest:
        """ValueError if ``values`` is not one."""
        try:
            return cls(
                uuid=str(values["uuid"]),
                name=str(values.get("name", "")),
                sla_class=str(values.get("sla_class", "")),
                rank=int(values.get("rank", 0)),
                priority=int(values.get("priority", 0)),
                memory_kib=int(values.get("memory_kib", 0)),
                how=str(values.get("how", "")),
                stopped_at=float(values.get("stopped_at", 0.0)),
                xml=str(values.get("xml", "")),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"not a stopped guest: {error}") from None

    def restart_order(self) -> tuple[int, int, float]:
        """Sort key: best class first, then highest priority, then stopped first."""
        return (-self.rank, -self.priority, self.stopped_at)


class StoppedGuests:
    """Thread-safe set of :class:`StoppedGuest` by UUID."""

    def __init__(self, guests: Iterable[StoppedGuest] = ()) -> None:
        self.lock = threading.Lock()
        self._guests = {guest.uuid: guest for guest in guests}

    def add(self, guest: StoppedGuest) -> None:
        with self.lock:
            self._guests[guest.uuid] = guest

    def remove(self, uuid: str) -> StoppedGuest | None:
        with self.lock:
            return self._guests.pop(uuid, None)

    def __contains__(self, uuid: object) -> bool:
        with self.lock:
            return uuid in self._guests

    def __len__(self) -> int:
        with self.lock:
            return len(self._guests)

    def in_restart_order(self) -> list[StoppedGuest]:
        """Best class, then priority, first."""
        with self.lock:
            return sorted(self._guests.values(), key=StoppedGuest.restart_order)

    def as_list(self) -> list[dict[str, Any]]:
        with self.lock:
            return [guest.as_dict() for guest in self._guests.values()]
