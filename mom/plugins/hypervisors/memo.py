"""Time-limited memoisation of vdsm queries, with upstream's cache key.

Upstream cached ``Host.getAllVmStats`` for 5 s and ``Host.getAllVmIoTunePolicies`` for
300 s, keyed by ``str(args) + str(kwargs)``, failures included, so that every guest's
collectors share one vdsm round trip per interval.  This keeps that and adds:

- expired entries are dropped (upstream never evicted);
- one fetch at a time: threads asking meanwhile wait for its result instead of each
  sending the same request (the guest collectors run on a pool);
- a *transient* failure (timeout, lost connection) is kept at most ``retry_after``
  seconds, so a 300 s cache does not hide vdsm's return for five minutes.  A failure
  vdsm itself reported (``ServerError``) is kept for the whole ``ttl``, as upstream did.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

from mom.optional import Optional

__all__ = ["TimedMemo", "Fetched"]

#: drop expired entries once this many are cached
_SWEEP_AT = 64


class Fetched:
    """What a memoised fetch produced: the Optional result, and whether a failure is transient."""

    __slots__ = ("result", "transient")

    def __init__(self, result: Optional, transient: bool = False) -> None:
        self.result = result
        self.transient = transient


class TimedMemo:
    """``memo(*args, **kwargs)`` -> the Optional that ``fetch`` returned, reused for ``ttl`` seconds."""

    def __init__(
        self,
        fetch: Callable[..., Fetched],
        ttl: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        retry_after: float = 5.0,
    ) -> None:
        self.fetch = fetch
        self.ttl = ttl
        self.retry_after = min(retry_after, ttl)
        self.clock = clock
        #: key -> (expiry time, result)
        self.entries: dict[str, tuple[float, Optional]] = {}
        self.lock = threading.Lock()
        self.fetch_lock = threading.Lock()

    @staticmethod
    def key(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        """Upstream's cache key."""
        return str(args) + str(kwargs)

    def _cached(self, key: str) -> Optional | None:
        with self.lock:
            entry = self.entries.get(key)
            if entry is None:
                return None
            if entry[0] <= self.clock():
                del self.entries[key]
                return None
            return entry[1]

    def __call__(self, *args: Any, **kwargs: Any) -> Optional:
        key = self.key(args, kwargs)
        cached = self._cached(key)
        if cached is not None:
            return cached
        with self.fetch_lock:
            cached = self._cached(key)  # fetched by another thread while this one waited
            if cached is not None:
                return cached
            fetched = self.fetch(*args, **kwargs)
            lifetime = self.retry_after if fetched.transient else self.ttl
            with self.lock:
                now = self.clock()
                if len(self.entries) >= _SWEEP_AT:  # per-VM keys of VMs long gone
                    self.entries = {k: entry for k, entry in self.entries.items() if entry[0] > now}
                self.entries[key] = (now + lifetime, fetched.result)
            return fetched.result

    def clear(self) -> None:
        """Forget every cached result."""
        with self.lock:
            self.entries.clear()
