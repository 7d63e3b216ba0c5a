"""The audit of lifecycle actions: one WARNING line each, a ring of the last ones, counters.

Every action asked for, done or refused, becomes one :class:`ActionRecord`: the guest,
the action, why (host free memory, the guarantees at risk), and the result.  The ring is
what ``getActions`` (RPC) and ``momctl actions`` show, and what the state file keeps.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable

__all__ = ["ActionRecord", "Audit", "ACTIONS", "RESULTS"]

#: what the controller does
ACTIONS = ("power-off", "migrate", "restore")
#: how it ended: done; refused by a gate; dry-run (log-only); failed; timed-out;
#: recommended (an interface that leaves placement to its manager: vdsm)
RESULTS = ("done", "refused", "dry-run", "failed", "timed-out", "recommended")


@dataclass(frozen=True)
class ActionRecord:
    """One audited action (``time``: seconds since the epoch)."""

    time: float
    guest: str
    uuid: str
    action: str
    result: str
    reason: str
    #: what happened, or why not (the gate's words, the hypervisor's error)
    detail: str = ""
    #: e.g. the method (shutdown, managedsave, destroy), the peer
    how: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain values (for XML-RPC and the state file)."""
        values = asdict(self)
        if not values["extra"]:
            del values["extra"]
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ActionRecord:
        """Read back what :meth:`as_dict` gave; ValueError if it is not one."""
        try:
            return cls(
                time=float(values["time"]),
                guest=str(values["guest"]),
                uuid=str(values["uuid"]),
                action=str(values["action"]),
                result=str(values["result"]),
                reason=str(values.get("reason", "")),
                detail=str(values.get("detail", "")),
                how=str(values.get("how", "")),
                extra=dict(values.get("extra") or {}),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"not an action record: {error}") from None


class Audit:
    """Thread-safe: the policy thread and the action worker both record."""

    def __init__(
        self,
        size: int = 100,
        logger: logging.Logger | None = None,
        clock: Callable[[], float] = time.time,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.logger = logger or logging.getLogger("mom.Lifecycle")
        self.clock = clock
        self.lock = threading.Lock()
        self._ring: collections.deque[ActionRecord] = collections.deque(maxlen=size)
        #: (action, result) -> count since momd started (the Prometheus counters)
        self.counts: collections.Counter[tuple[str, str]] = collections.Counter()
        #: called after each record (the controller persists the ring)
        self.on_change = on_change

    def restore(self, records: Iterable[dict[str, Any]]) -> None:
        """The ring as the state file kept it (bad entries skipped)."""
        with self.lock:
            for values in records:
                try:
                    self._ring.append(ActionRecord.from_dict(values))
                except ValueError:
                    continue

    def record(
        self,
        guest: str,
        uuid: str,
        action: str,
        result: str,
        reason: str,
        detail: str = "",
        how: str = "",
        **extra: Any,
    ) -> ActionRecord:
        """Audit one action: the WARNING line, the ring, the counter."""
        entry = ActionRecord(self.clock(), guest, uuid, action, result, reason, detail, how, extra)
        with self.lock:
            self._ring.append(entry)
            self.counts[(action, result)] += 1
        how_text = f" ({how})" if how else ""
        detail_text = f": {detail}" if detail else ""
        self.logger.warning(
            "lifecycle: guest %s (%s): %s%s %s%s; reason: %s",
            guest,
            uuid,
            action,
            how_text,
            result,
            detail_text,
            reason,
        )
        if self.on_change is not None:
            self.on_change()
        return entry

    def last(self, count: int | None = None) -> list[ActionRecord]:
        """The last ``count`` records (all kept when None), oldest first."""
        with self.lock:
            records = list(self._ring)
        return records if count is None else records[-count:] if count > 0 else []

    def counters(self) -> dict[tuple[str, str], int]:
        """(action, result) -> count."""
        with self.lock:
            return dict(self.counts)
