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

The process that owns the collector (momd; :func:`freeze_long_lived`) also keeps its
long-lived objects out of full collections: the daemon's heap is nearly all objects
that live as long as it does (monitors, collectors, domain XML, the sample store, the
policies), and a full collection, due every hundred ticks or so as each tick's
survivors are promoted and die in the oldest generation, traversed all of them (about
20 ms at 1,000 guests).  At the end of the first section and of every
:data:`REFREEZE_SECTIONS`-th after it, everything is collected once and the survivors are
frozen (``gc.freeze()``): later collections traverse only what came since.  A cycle
among frozen objects that becomes garbage waits until the next of these, or until the
collection a pause kept up for :data:`LONGEST_PAUSE` seconds runs (which refreezes too,
so overlapping sections cannot hold it off for good); what waits is bounded by what was
frozen.  An object that is not part of a cycle is freed by its reference count as
before.  Not for a program that uses ``gc.freeze()`` itself (each refreeze unfreezes
everything first).
"""

from __future__ import annotations

import gc
import threading
import time
from contextlib import contextmanager
from typing import Iterator

__all__ = ["gc_paused", "freeze_long_lived"]

#: seconds a pause may last before a section's end collects anyway
LONGEST_PAUSE = 10.0
#: sections (ends of a pause) between two full collections that freeze the survivors
REFREEZE_SECTIONS = 1000

_lock = threading.Lock()
_depth = 0
_was_enabled = False
_paused_since = 0.0
_clock = time.monotonic
_freezing = False
_sections = 0  # pauses ended since freezing was turned on
#: held while the frozen generation changes: a refreeze, or freezing turned off
_freeze_lock = threading.Lock()


def freeze_long_lived(on: bool = True) -> bool:
    """Keep the long-lived objects out of full collections (see the module), or stop
    (everything frozen is unfrozen: full collections traverse it again); whether it was
    on before (a caller that turned it on for a while gives that back)."""
    global _freezing, _sections
    with _freeze_lock:
        with _lock:
            was = _freezing
            if on != was:
                _freezing, _sections = on, 0  # turned on: the next section's end refreezes
        if was and not on:
            gc.unfreeze()
    return was


def _refreeze() -> None:
    """Collect everything once (the frozen objects too) and freeze the survivors, unless
    freezing was turned off meanwhile."""
    with _freeze_lock:
        if not _freezing:
            return
        gc.unfreeze()
        gc.collect()
        gc.freeze()


@contextmanager
def gc_paused() -> Iterator[None]:
    """Run the body with the cyclic collector disabled (re-entrant, thread-safe)."""
    global _depth, _was_enabled, _paused_since, _sections
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            _paused_since = _clock()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        collect = refreeze = False
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                if _freezing:
                    refreeze = _sections % REFREEZE_SECTIONS == 0
                    _sections += 1
                gc.enable()
            elif _depth > 0 and _was_enabled and _clock() - _paused_since >= LONGEST_PAUSE:
                _paused_since = _clock()
                collect = True
                refreeze = _freezing  # frozen cycles too: overlapping sections must not keep them
        # outside the lock: the other sections go on meanwhile
        if refreeze:
            _refreeze()
        elif collect:
            gc.collect()
