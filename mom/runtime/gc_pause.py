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
that turned it off keeps it off).  Two threads whose sections overlap (a collection
round waiting for the store's lock while a tick holds it) could keep the pause up for
good, and cycles would then pile up without bound: a pause that has lasted
:data:`LONGEST_PAUSE` seconds runs one full collection when a section ends, and starts
its clock again.
"""

from __future__ import annotations

import gc
import threading
import time
from contextlib import contextmanager
from typing import Iterator

__all__ = ["gc_paused"]

#: seconds a pause may last before a section's end collects anyway
LONGEST_PAUSE = 10.0

_lock = threading.Lock()
_depth = 0
_was_enabled = False
_paused_since = 0.0
_clock = time.monotonic


@contextmanager
def gc_paused() -> Iterator[None]:
    """Run the body with the cyclic collector disabled (re-entrant, thread-safe)."""
    global _depth, _was_enabled, _paused_since
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            _paused_since = _clock()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        collect = False
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
            elif _depth > 0 and _was_enabled and _clock() - _paused_since >= LONGEST_PAUSE:
                _paused_since = _clock()
                collect = True
        if collect:
            gc.collect()  # outside the lock: the other sections go on meanwhile
