"""The libvirt connection behind the ``libvirt`` hypervisor interface.

- Every libvirt call goes through :meth:`LibvirtConnection.call`, which counts it (by
  API name, for logs, ``getStatistics`` and the tests) and turns a libvirt error into
  :class:`DomainGone` (the domain went away or stopped) or a
  :class:`~mom.errors.HypervisorInterfaceError` that names the call and the domain.  An
  error is logged at WARNING the first time for a (call, domain, code), at DEBUG after.
- A lost connection (libvirtd restarted: VIR_ERR_INVALID_CONN, a call failing on a dead
  socket, libvirt's close callback) is dropped and reopened on the next call; while
  opening fails, attempts are spaced by a back-off that doubles from 1 s to 60 s.  Each
  new connection bumps ``generation``, so callers drop what they cached from the old one.
- Domain events (lifecycle, tunables, metadata, devices) go to a callback, from the one
  event-loop thread libvirt needs per process (``libvirt-events``, started on first use).

A virDomain's ``name()``, ``UUIDString()`` and ``ID()`` read the handle: they are not calls.
"""

from __future__ import annotations

import logging
import operator
import threading
import time
from collections import Counter
from itertools import islice
from typing import Any, Callable

import libvirt

from mom.errors import HypervisorInterfaceError
from mom.plugins.collectors.walks import AnswerColumns

__all__ = ["LibvirtConnection", "DomainGone", "ensure_event_loop", "EVENT_IDS"]


#: domain events that may change what the interface caches (see LibvirtInterface)
EVENT_IDS = {
    libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE: "lifecycle",
    libvirt.VIR_DOMAIN_EVENT_ID_TUNABLE: "tunable",
    libvirt.VIR_DOMAIN_EVENT_ID_METADATA_CHANGE: "metadata",
    libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_ADDED: "device-added",
    libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED: "device-removed",
}

#: keepalive for remote connections: a probe every 5 s, 3 unanswered = dead
_KEEPALIVE = (5, 3)

_log = logging.getLogger("mom.libvirtInterface")

_event_loop_lock = threading.Lock()
_event_loop_state: bool | None = None  # None: not tried yet


class DomainGone(HypervisorInterfaceError):
    """The domain no longer exists, or stopped running (it left between two calls)."""


def _ignore_errors(context: Any, error: Any) -> None:
    """libvirt's default handler prints every error to stderr; the errors are handled here."""


def _run_event_loop() -> None:
    while True:
        try:
            libvirt.virEventRunDefaultImpl()
        except Exception:  # noqa: BLE001  (the loop must outlive any callback's error)
            _log.exception("libvirt event loop iteration failed")
            time.sleep(1.0)


def ensure_event_loop() -> bool:
    """Register libvirt's default event loop and run it on thread ``libvirt-events``.

    Once per process (libvirt has one event implementation per process); later calls
    return the first outcome.  Must precede the connections that want events.
    """
    global _event_loop_state
    with _event_loop_lock:
        if _event_loop_state is None:
            try:
                libvirt.virEventRegisterDefaultImpl()
            except libvirt.libvirtError as error:
                _log.warning("libvirt domain events unavailable (%s); configuration is re-read every round", error)
                _event_loop_state = False
            else:
                threading.Thread(target=_run_event_loop, name="libvirt-events", daemon=True).start()
                _event_loop_state = True
        return _event_loop_state


class LibvirtConnection:
    """A libvirt connection that counts its calls and comes back after it is lost.

    :param uri: libvirt URI, None for libvirt's default
    :param on_event: ``on_event(uuid, kind, details)`` for the domain events in
        :data:`EVENT_IDS` (called on the event-loop thread; must not call libvirt)
    """

    def __init__(
        self,
        uri: str | None,
        on_event: Callable[[str, str, tuple[Any, ...]], None] | None = None,
        *,
        backoff_min: float = 1.0,
        backoff_max: float = 60.0,
        logger: logging.Logger | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.uri = uri
        self.label = uri or "libvirt's default URI"
        self.logger = logger or _log
        self.on_event = on_event
        self.backoff_min = backoff_min
        self.backoff_max = backoff_max
        self.clock = clock
        self.lock = threading.RLock()
        self.conn: libvirt.virConnect | None = None
        #: bumped by every successful open: what was cached from an older one is stale
        self.generation = 0
        #: domain events are registered on the current connection
        self.events = False
        #: the driver (``getType()``: "QEMU", "Test"...) and canonical URI of the connection
        self.driver: str | None = None
        self.canonical_uri: str | None = None
        self.reconnects = 0
        self.failures = 0  # consecutive failed opens
        self.next_attempt = 0.0
        self._lost: str | None = None  # why the close callback dropped the connection
        self._callback_ids: list[int] = []
        self._close_callback = False
        self._counts: Counter[str] = Counter()
        self.total_calls = 0
        self._count_lock = threading.Lock()
        self._reported: set[tuple[str, str, int]] = set()
        libvirt.registerErrorHandler(_ignore_errors, None)
        if on_event is not None:
            ensure_event_loop()
        with self.lock:
            self._open()

    # ## Counting

    def count(self, name: str) -> None:
        with self._count_lock:
            self._counts[name] += 1
            self.total_calls += 1

    def calls_by_name(self) -> dict[str, int]:
        with self._count_lock:
            return dict(self._counts)

    # ## Opening and losing the connection

    def _open(self) -> libvirt.virConnect | None:
        """Open (lock held); None, and the next attempt scheduled, if that fails."""
        self.count("open")
        try:
            conn = libvirt.open(self.uri)
        except libvirt.libvirtError as error:
            self.failures += 1
            delay = min(self.backoff_max, self.backoff_min * 2 ** (self.failures - 1))
            self.next_attempt = self.clock() + delay
            level = logging.ERROR if self.failures == 1 else logging.WARNING
            self.logger.log(
                level,
                "libvirtInterface: error setting up connection to %s: %s (attempt %d; next in %.0f s)",
                self.label,
                error,
                self.failures,
                delay,
            )
            return None
        self.conn = conn
        self.generation += 1
        if self.generation > 1:
            self.reconnects += 1
            self.logger.info("libvirt: connected to %s again (after %d failed attempts)", self.label, self.failures)
        self.failures = 0
        self.next_attempt = 0.0
        self._lost = None
        try:
            self.driver = self.call("getType", conn.getType)
            self.canonical_uri = self.call("getURI", conn.getURI)
        except HypervisorInterfaceError:
            self.driver = self.canonical_uri = None
        self._watch(conn)
        return conn

    def _watch(self, conn: libvirt.virConnect) -> None:
        """Keepalive, close callback and domain events on a new connection (best effort)."""
        self.events = False
        self._callback_ids = []
        self._close_callback = False
        if self.on_event is None or not ensure_event_loop():
            return
        try:
            conn.setKeepAlive(*_KEEPALIVE)
        except libvirt.libvirtError:
            pass  # local drivers (test, embed) have no keepalive
        try:
            conn.registerCloseCallback(self._closed, None)
            self._close_callback = True
        except libvirt.libvirtError as error:
            self.logger.debug("libvirt: no close callback on %s: %s", self.label, error)
        try:
            for event_id, kind in EVENT_IDS.items():
                self._callback_ids.append(conn.domainEventRegisterAny(None, event_id, self._event, kind))
        except libvirt.libvirtError as error:
            self.logger.warning(
                "libvirt: domain events unavailable on %s (%s); configuration is re-read every round", self.label, error
            )
            self._unwatch(conn)
            return
        self.events = True

    def _unwatch(self, conn: libvirt.virConnect) -> None:
        for callback_id in self._callback_ids:
            try:
                conn.domainEventDeregisterAny(callback_id)
            except libvirt.libvirtError:
                pass
        self._callback_ids = []
        if self._close_callback:
            try:
                conn.unregisterCloseCallback()
            except libvirt.libvirtError:
                pass
            self._close_callback = False
        self.events = False

    def _event(self, conn: Any, dom: Any, *rest: Any) -> None:
        # every domain event callback gets (conn, dom, <event specific>..., opaque=kind)
        try:
            self.on_event(dom.UUIDString(), rest[-1], rest[:-1])  # type: ignore[misc]
        except Exception:  # noqa: BLE001  (an exception must not reach libvirt's loop)
            self.logger.exception("libvirt: handling a %s event failed", rest[-1] if rest else "domain")

    def _closed(self, conn: Any, reason: int, opaque: Any) -> None:
        # on the event-loop thread: only note it; the next call reopens
        self._lost = f"connection closed (reason {reason})"

    def _discard(self) -> libvirt.virConnect | None:
        """Unhook and close the current connection (lock held); the one closed, if any."""
        conn, self.conn = self.conn, None
        if conn is not None:
            self._unwatch(conn)
            try:
                conn.close()
            except libvirt.libvirtError:
                pass
        return conn

    def _drop(self, why: str) -> None:
        """Forget the current connection (lock held); the next call opens a new one."""
        if self._discard() is not None:
            self.logger.warning("libvirt connection lost (%s: %s); reconnecting", self.label, why)

    def get(self) -> libvirt.virConnect:
        """The open connection, (re)opened if needed and due; HypervisorInterfaceError if none."""
        conn = self.conn
        if conn is not None and self._lost is None:
            return conn
        with self.lock:
            if self._lost is not None and self.conn is not None:
                self._drop(self._lost)
            if self.conn is not None:
                return self.conn
            wait = self.next_attempt - self.clock()
            if wait > 0:
                raise HypervisorInterfaceError(f"not connected to {self.label} (next attempt in {wait:.1f} s)")
            conn = self._open()
            if conn is None:
                raise HypervisorInterfaceError(f"not connected to {self.label}")
            return conn

    @property
    def connected(self) -> bool:
        return self.conn is not None and self._lost is None

    def close(self) -> None:
        with self.lock:
            self._discard()

    # ## Calls

    def call(self, name: str, function: Callable[..., Any], *args: Any, domain: object = "", query: bool = True) -> Any:
        """``function(*args)``, counted as call ``name``; errors as described in the module.

        ``domain`` names the domain in messages (anything with a ``str()``, formatted
        only on error); with ``query`` a domain that is not running
        (VIR_ERR_OPERATION_INVALID) counts as gone.
        """
        self.count(name)
        try:
            return function(*args)
        except (libvirt.libvirtError, LookupError, TypeError, ValueError) as error:
            failure = self._failure(name, domain, query, error)
            # a domain gone says all there is to say; other failures name their cause
            raise failure from (None if isinstance(failure, DomainGone) else error)

    def call_each(self, name: str, functions: list[Callable[[], Any]], domains: list[object]) -> list[Any]:
        """``function()`` for each of ``functions`` (queries; ``domains`` names each one's
        domain), counted as that many calls ``name``: each one's result, or the
        :class:`~mom.errors.HypervisorInterfaceError` :meth:`call` would have raised.
        A batched round's one pass over its guests (no counting lock per call)."""

        def walk(results: list[Any]) -> None:
            # list.extend keeps what it appended when a call raises
            results.extend(map(operator.call, islice(functions, len(results), None)))

        return self._each(name, len(functions), domains, walk)

    def memory_stats_columns(
        self, handles: list[Any], domains: list[object], keys: tuple[str, ...], mark: object
    ) -> tuple[tuple[list[Any], ...], list[Any]]:
        """Each handle's ``memoryStats()`` (:meth:`call_each`'s counting and failures),
        the answers taken into columns as they come
        (:class:`~mom.plugins.collectors.walks.AnswerColumns`): one list per key of
        ``keys`` with each answer's values where it is a dict with all of them, and a
        note per handle: ``mark`` for those, else the answer itself or the
        :class:`~mom.errors.HypervisorInterfaceError` :meth:`call` would have raised
        (those handles' places hold None in every column).  The calls are made from a
        Python loop: a Python method called from C code (a compiled walk) costs a new
        interpreter frame each time, one called from Python code does not; no answer
        is kept once its values are out."""
        handles = list(handles)  # the loop's own: a call cannot change how many there are
        answers = AnswerColumns(keys, mark)
        take = answers.take

        def walk(notes: list[Any]) -> None:
            for handle in islice(handles, len(notes), None):
                take(handle.memoryStats())

        self._each("memoryStats", len(handles), domains, walk, answers.notes)
        answers.finish()  # the last call failed: its place too
        return answers.columns, answers.notes

    def _each(
        self,
        name: str,
        count: int,
        domains: list[object],
        walk: Callable[[list[Any]], None],
        results: list[Any] | None = None,
    ) -> list[Any]:
        """``count`` queries ``name`` counted at once, answered by ``walk(results)``: one
        C-level pass from ``len(results)`` on that a failing call stops with the answers
        so far kept; its failure is noted and the pass goes on after it."""
        with self._count_lock:
            self._counts[name] += count
            self.total_calls += count
        if results is None:
            results = []
        while len(results) < count:
            try:
                walk(results)
            except (libvirt.libvirtError, LookupError, TypeError, ValueError) as error:
                results.append(self._failure(name, domains[len(results)], True, error))
        return results

    def _failure(self, name: str, domain: object, query: bool, error: BaseException) -> HypervisorInterfaceError:
        """What a failed call ``name`` raises (logged, the connection dropped if lost)."""
        what = f"{name}({domain})" if domain != "" else name
        if not isinstance(error, libvirt.libvirtError):
            # the binding refuses typed parameters the driver does not know
            self._report(name, str(domain), -1, f"{what} failed: {type(error).__name__}: {error}")
            return HypervisorInterfaceError(f"{what}: {error}")
        code = error.get_error_code()
        if code == libvirt.VIR_ERR_NO_DOMAIN or (query and code == libvirt.VIR_ERR_OPERATION_INVALID):
            self.logger.debug("libvirt: %s: the domain is gone: %s", what, error)
            return DomainGone(f"{what}: the domain no longer exists")
        if self._lost_by(code):
            with self.lock:
                self._drop(f"{what}: {error}")
            return HypervisorInterfaceError(f"{what}: connection lost: {error}")
        self._report(name, str(domain), code, f"Unhandled libvirt exception ({code}). {what} failed: {error}")
        return HypervisorInterfaceError(f"{what}: {error}")

    def _lost_by(self, code: int) -> bool:
        """Whether a call's error (libvirt error ``code``) means the connection is gone.

        VIR_ERR_INVALID_CONN always does.  Otherwise only a dead connection: upstream also
        reconnected on every VIR_ERR_SYSTEM_ERROR, but libvirt reports local failures
        with that code too (a cgroup write refused in setSchedulerParameters, a file
        that cannot be opened), and those leave the connection and its caches intact.
        """
        return code == libvirt.VIR_ERR_INVALID_CONN or not self._alive()

    def _alive(self) -> bool:
        conn = self.conn
        if conn is None:
            return False
        try:
            return bool(conn.isAlive())  # a look at the client's socket, not a call
        except libvirt.libvirtError:
            return False

    def _report(self, name: str, domain: str, code: int, message: str) -> None:
        key = (name, domain, code)
        level = logging.DEBUG if key in self._reported else logging.WARNING
        if len(self._reported) > 4096:
            self._reported.clear()
        self._reported.add(key)
        self.logger.log(level, "%s", message)
