"""The cyclic garbage collector paused while a tick's burst of allocations runs.

A collection round and a policy cycle over thousands of guests make and drop tens of
thousands of short-lived containers (libvirt-python's records and domain objects, the
round's lists); freed by reference counting, they still count towards the cyclic
collector's thresholds, and the collections they trigger (full ones among them)
traverse every object the daemon holds: at 10,000 guests that was about a third of a
tick.  Paused, the collector runs at most once after the burst instead of many times
in it; any cycle made meanwhile waits until then.

Shared by the daemon's threads: the collector is enabled again when the last paused
section ends, and only if it was enabled when the first began (an embedding program
that turned it off keeps it off).
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Iterator

__all__ = ["gc_paused"]

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Run the body with the cyclic collector disabled (re-entrant, thread-safe)."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
