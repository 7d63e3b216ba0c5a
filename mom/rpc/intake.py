"""Connection intake of the RPC servers: many clients at once, none able to stall the others.

The server's own thread accepts connections and reads each request without blocking,
until it is complete; only a complete request goes to the bounded pool of worker
threads, which dispatch it and write the reply.  A client that sends half a request
and waits therefore holds a buffer, never a worker.  Beyond upstream (whose server
answered one client at a time, so one idle client stalled everyone):

- each connection has a deadline for its whole request, not an idle timeout, so a
  client that trickles a byte at a time is cut off too (HTTP 408);
- the open connections are capped; one beyond the cap is refused at once with
  HTTP 503 and the reason;
- refusals are logged once per burst, and counted when the burst is over.

The handler class keeps the HTTP rules (paths, authentication, sizes): the intake asks
it how much body a request header announces that it will read
(:meth:`~mom.rpc.server.GuardedHandler.body_to_read`), so both agree on where a
request ends.
"""

from __future__ import annotations

import collections
import http.client
import io
import logging
import queue
import selectors
import socket
import threading
import time
from typing import Any, Callable

__all__ = [
    "ConcurrentIntake",
    "BufferedConnection",
    "BurstLog",
    "header_end",
    "MAX_HEADER_BYTES",
    "DEFAULT_WORKERS",
    "DEFAULT_MAX_CONNECTIONS",
]

#: the request line and headers together; beyond, HTTP 431 (http.server's own limit
#: is 65536 bytes per line, so no header it would accept is refused)
MAX_HEADER_BYTES = 65536 + 8192
DEFAULT_WORKERS = 4
DEFAULT_MAX_CONNECTIONS = 256
#: seconds a refused connection is drained before it is closed: closing a TCP socket
#: with unread input resets it, and the client would lose the refusal it was sent
LINGER_SECONDS = 1.0
#: refused or cut-off connections drained at once: the cap, but never fewer than this,
#: so that a small cap still answers a burst with its 503 (a refusal closed at once
#: can reach the client before its request is sent: a broken pipe, not a reason)
MIN_LINGERING = 16
#: seconds without a refusal that end a burst
BURST_QUIET_SECONDS = 10.0
_RECV_BYTES = 65536

_log = logging.getLogger("mom.RPCServer")


def header_end(data: bytes | bytearray, start: int = 0) -> int:
    """The offset just past the empty line ending the headers, or -1 if not there yet.

    Lines end with LF or CRLF, as http.server reads them; the first line is the
    request line, so an empty line can only end the headers after it.  ``start`` is
    where a previous call stopped looking (a line start).
    """
    first = data.find(b"\n")
    if first < 0:
        return -1
    position = max(first + 1, start)
    while True:
        newline = data.find(b"\n", position)
        if newline < 0:
            return -1
        if newline == position or (newline == position + 1 and data[position] == 0x0D):
            return newline + 1
        position = newline + 1


def _last_line_start(data: bytes | bytearray) -> int:
    return data.rfind(b"\n") + 1


def http_refusal(code: int, reason: str) -> bytes:
    """A whole HTTP/1.0 response refusing a request: status, reason, and the reason as body."""
    body = reason.encode() + b"\n"
    head = (
        f"HTTP/1.0 {code} {http.client.responses.get(code, 'Error')}\r\n"
        "Content-Type: text/plain\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


class BurstLog:
    """Logs the first event of a burst; the others are counted and summed up after it.

    A burst ends after ``quiet`` seconds without an event (:meth:`tick` notices).
    """

    def __init__(self, logger: logging.Logger, summary: str, quiet: float = BURST_QUIET_SECONDS) -> None:
        self.logger = logger
        self.summary = summary  #: ``%d`` is the number of events of the burst
        self.quiet = quiet
        self.count = 0  #: events of the current burst (0: none going on)
        self.last = 0.0

    def event(self, now: float, message: str, *args: Any) -> None:
        if self.count == 0:
            self.logger.warning(message + " (more like it are counted until %g s pass without one)", *args, self.quiet)
        self.count += 1
        self.last = now

    def deadline(self) -> float | None:
        """When :meth:`tick` would end the burst going on (None: none is): the intake
        loop sleeps until then at most, so the summary is logged without periodic wakeups."""
        return self.last + self.quiet if self.count else None

    def tick(self, now: float) -> None:
        if self.count and now - self.last >= self.quiet:
            if self.count > 1:
                self.logger.warning(self.summary, self.count)
            self.count = 0


class BufferedConnection:
    """A connected socket whose request has been read already.

    ``makefile("rb")`` replays the request's bytes; everything else (writing the
    reply, timeouts, socket options) goes to the socket.
    """

    __slots__ = ("sock", "data")

    def __init__(self, sock: socket.socket, data: bytes) -> None:
        self.sock = sock
        self.data = data

    def makefile(self, mode: str = "r", buffering: int | None = None, **_: Any) -> Any:
        if "r" in mode:
            return io.BytesIO(self.data)
        return self.sock.makefile(mode, buffering)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)


class _Pending:
    """A connection whose request is being read (or a refused one being drained)."""

    __slots__ = ("sock", "address", "buffer", "deadline", "scanned", "needed", "unread")

    def __init__(self, sock: socket.socket, address: Any, deadline: float) -> None:
        self.sock = sock
        self.address = address
        self.buffer = bytearray()
        self.deadline = deadline
        self.scanned = 0  #: where header_end stopped looking
        self.needed = -1  #: the request's whole size once the headers are in
        self.unread = False  #: the headers announce a body the handler will not read


class ConcurrentIntake:
    """Mixin for a :mod:`socketserver` stream server: the intake loop and the worker pool.

    Put it first among the bases and call :meth:`setup_intake` before the server binds
    (the listen backlog is the connection cap).  ``serve_forever``, ``shutdown`` and
    ``server_close`` keep :mod:`socketserver`'s meaning.
    """

    # supplied by the socketserver base
    socket: socket.socket
    RequestHandlerClass: Callable[..., Any]
    request_queue_size: int

    def setup_intake(
        self,
        *,
        workers: int = DEFAULT_WORKERS,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        request_deadline: float = 5.0,
    ) -> None:
        self.workers = workers
        self.max_connections = max_connections
        #: seconds from accept to a complete request
        self.request_deadline = float(request_deadline)
        # the kernel queues connections not yet accepted: room for the cap, so that a
        # burst of connects is not dropped (TCP would retry them only a second later)
        self.request_queue_size = max(max_connections, 16)
        #: requests read and waiting for a worker; None tells a worker to end
        self._jobs: queue.SimpleQueue[tuple[socket.socket, Any, bytes, bool] | None] = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []
        self._count_lock = threading.Lock()
        self._open = 0  #: connections counted against the cap (read, queued, answered)
        self._reading: dict[int, _Pending] = {}  # fd -> connection, in deadline order
        self._lingering: dict[int, _Pending] = {}
        self._handed: set[socket.socket] = set()  # with a worker, or queued for one
        # answered by a worker with a body left unread: the loop drains them
        self._to_linger: collections.deque[socket.socket] = collections.deque()
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._stopped.set()
        self._wake_read, self._wake_write = socket.socketpair()
        self._wake_read.setblocking(False)
        self._wake_write.setblocking(False)
        self.refusals = BurstLog(_log, "RPC: %d connections refused in the last burst (rpc-max-connections)")
        self.cutoffs = BurstLog(_log, "RPC: %d clients cut off in the last burst (rpc-request-timeout)")

    # ## socketserver's interface

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Accept, read and hand over requests until :meth:`shutdown`.

        ``poll_interval`` is accepted for socketserver's signature and not used: the loop
        sleeps until a client, the next deadline (:meth:`_timeout`) or :meth:`shutdown`
        (through the wake socket), so an idle daemon's RPC thread costs no CPU.
        """
        self._stopped.clear()
        self._stopping.clear()
        # all the workers at once: the daemon's threads do not change with its clients
        self._workers = [
            threading.Thread(target=self._work, name=f"RPCWorker-{k}", daemon=True) for k in range(self.workers)
        ]
        for worker in self._workers:
            worker.start()
        selector = selectors.DefaultSelector()
        self.socket.setblocking(False)
        selector.register(self.socket, selectors.EVENT_READ, "accept")
        selector.register(self._wake_read, selectors.EVENT_READ, "wake")
        try:
            while not self._stopping.is_set():
                for key, _ in selector.select(self._timeout(time.monotonic())):
                    if key.data == "accept":
                        self._accept(selector)
                    elif key.data == "wake":
                        self._drain_wakeups()
                        self._take_lingering(selector)
                    else:
                        self._on_readable(selector, key.data)
                now = time.monotonic()
                self._expire(selector, now)
                self.refusals.tick(now)
                self.cutoffs.tick(now)
        finally:
            selector.close()
            self._stopped.set()

    def _timeout(self, now: float) -> float | None:
        """Seconds until the loop has something to do without a client's bytes: the first
        request deadline, lingering connection's end, or end of a burst of refusals or
        cut-offs; None (sleep until woken) when there is none."""
        deadlines = [next(iter(waiting.values())).deadline for waiting in (self._reading, self._lingering) if waiting]
        for burst in (self.refusals, self.cutoffs):
            end = burst.deadline()
            if end is not None:
                deadlines.append(end)
        if not deadlines:
            return None
        return max(0.0, min(deadlines) - now)

    def shutdown(self) -> None:
        """Stop :meth:`serve_forever` and wait for it to return."""
        self._stopping.set()
        self._wake()
        self._stopped.wait()

    def _wake(self) -> None:
        try:
            self._wake_write.send(b"x")
        except OSError:
            pass  # full (a wakeup is pending anyway) or closed

    def server_close(self) -> None:
        super().server_close()  # type: ignore[misc]
        for _ in self._workers:
            self._jobs.put(None)
        self._workers = []
        for waiting in (self._reading, self._lingering):
            for pending in waiting.values():
                pending.sock.close()
            waiting.clear()
        for sock in list(self._handed) + list(self._to_linger):
            _close(sock)
        self._wake_read.close()
        self._wake_write.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        _log.exception("RPC: error while answering a request")

    # ## The loop's steps

    def _drain_wakeups(self) -> None:
        try:
            while self._wake_read.recv(512):
                pass
        except OSError:
            pass

    def _accept(self, selector: selectors.BaseSelector) -> None:
        while True:
            try:
                sock, address = self.socket.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:  # EMFILE and the like: the next round tries again
                _log.error("RPC: cannot accept a connection: %s", error)
                return
            now = time.monotonic()
            sock.setblocking(False)
            with self._count_lock:
                full = self._open >= self.max_connections
                if not full:
                    self._open += 1
            if full:
                self.refusals.event(
                    now,
                    "RPC: %d connections open, the limit (rpc-max-connections): refusing new ones with HTTP 503",
                    self.max_connections,
                )
                self._refuse(selector, _Pending(sock, address, now), 503, "too many open connections, retry later")
                continue
            pending = _Pending(sock, address, now + self.request_deadline)
            self._reading[sock.fileno()] = pending
            selector.register(sock, selectors.EVENT_READ, pending)

    def _on_readable(self, selector: selectors.BaseSelector, pending: _Pending) -> None:
        try:
            chunk = pending.sock.recv(_RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        fd = pending.sock.fileno()
        if fd in self._lingering:
            if not chunk:
                self._forget(selector, pending, self._lingering)
            return
        if not chunk:  # the client went away (or reset) before its request was complete
            self._forget(selector, pending, self._reading, counted=True)
            return
        pending.buffer += chunk
        if pending.needed < 0:
            end = header_end(pending.buffer, pending.scanned)
            if end < 0:
                if len(pending.buffer) > MAX_HEADER_BYTES:
                    self._stop_reading(selector, pending)
                    self._uncount()
                    self._refuse(selector, pending, 431, f"request headers above {MAX_HEADER_BYTES} bytes")
                else:
                    pending.scanned = _last_line_start(pending.buffer)
                return
            body, pending.unread = self._body_to_read(bytes(pending.buffer[:end]))
            pending.needed = end + body
        if len(pending.buffer) >= pending.needed:
            self._stop_reading(selector, pending)
            self._hand_over(pending.sock, pending.address, bytes(pending.buffer[: pending.needed]), pending.unread)

    def _body_to_read(self, head: bytes) -> tuple[int, bool]:
        """(body bytes the handler reads after these headers, whether the client may send more).

        0 bytes when the handler refuses the request from its headers; then a body the
        headers announce stays unread, and the connection is drained before it closes.
        """
        request_line, _, rest = head.partition(b"\n")
        words = request_line.decode("latin-1").split()
        try:
            headers = http.client.parse_headers(io.BytesIO(rest))
        except (http.client.HTTPException, ValueError):
            return 0, True  # the handler answers with its error
        announced = headers.get("Content-Length")
        body_to_read = getattr(self.RequestHandlerClass, "body_to_read", None)
        size = 0 if body_to_read is None or len(words) < 2 else int(body_to_read(words[0], words[1], headers))
        return size, announced is not None and announced.strip() != str(size)

    def _stop_reading(self, selector: selectors.BaseSelector, pending: _Pending) -> None:
        selector.unregister(pending.sock)
        del self._reading[pending.sock.fileno()]

    def _expire(self, selector: selectors.BaseSelector, now: float) -> None:
        while self._reading:
            pending = next(iter(self._reading.values()))
            if pending.deadline > now:
                break
            self.cutoffs.event(
                now,
                "RPC: a client did not send its whole request within %g s (rpc-request-timeout): cut off (HTTP 408)",
                self.request_deadline,
            )
            self._stop_reading(selector, pending)
            self._uncount()
            self._refuse(selector, pending, 408, f"request not complete within {self.request_deadline:g} s")
        while self._lingering:
            pending = next(iter(self._lingering.values()))
            if pending.deadline > now:
                break
            self._forget(selector, pending, self._lingering)

    def _refuse(self, selector: selectors.BaseSelector, pending: _Pending, code: int, reason: str) -> None:
        """Send a refusal now (it fits the empty send buffer of a new socket), then drain.

        The caller has taken the connection out of the count against the cap.
        """
        sock = pending.sock
        try:
            sock.send(http_refusal(code, reason))
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            sock.close()
            return
        if code == 408 or len(self._lingering) >= self._lingering_cap:
            # a client cut off sent all it had already; lingering is bounded too
            _close(sock)
            return
        pending.deadline = time.monotonic() + LINGER_SECONDS
        self._lingering[sock.fileno()] = pending
        selector.register(sock, selectors.EVENT_READ, pending)

    def _forget(
        self, selector: selectors.BaseSelector, pending: _Pending, waiting: dict[int, _Pending], counted: bool = False
    ) -> None:
        selector.unregister(pending.sock)
        del waiting[pending.sock.fileno()]
        pending.sock.close()
        if counted:
            self._uncount()

    def _uncount(self) -> None:
        with self._count_lock:
            self._open -= 1

    # ## Workers

    def _hand_over(self, sock: socket.socket, address: Any, data: bytes, unread: bool) -> None:
        self._handed.add(sock)
        self._jobs.put((sock, address, data, unread))

    def _work(self) -> None:
        """A worker: answer requests until told to end."""
        while (job := self._jobs.get()) is not None:
            sock, address, data, unread = job
            if self._stopping.is_set():  # the server is stopping: no more answers
                self._handed.discard(sock)
                _close(sock)
                self._uncount()
                continue
            self._answer(sock, address, data, unread)

    def _answer(self, sock: socket.socket, address: Any, data: bytes, unread: bool) -> None:
        """In a worker: run the handler on the request read, write its reply, close.

        With a body left unread, the loop drains the connection before closing it:
        closing it now would reset it, and the client could lose the reply.
        """
        try:
            sock.setblocking(True)
            # the handler sets its timeout on the socket: the time the reply may take
            self.RequestHandlerClass(BufferedConnection(sock, data), address, self)
        except Exception:
            self.handle_error(sock, address)
        finally:
            self._handed.discard(sock)
            if unread and not self._stopping.is_set():
                try:
                    sock.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                self._to_linger.append(sock)
                self._wake()
            else:
                _close(sock)
            self._uncount()

    def _take_lingering(self, selector: selectors.BaseSelector) -> None:
        while self._to_linger:
            sock = self._to_linger.popleft()
            if len(self._lingering) >= self._lingering_cap or sock.fileno() < 0:
                sock.close()
                continue
            sock.setblocking(False)
            pending = _Pending(sock, None, time.monotonic() + LINGER_SECONDS)
            self._lingering[sock.fileno()] = pending
            selector.register(sock, selectors.EVENT_READ, pending)

    @property
    def _lingering_cap(self) -> int:
        return max(self.max_connections, MIN_LINGERING)

    @property
    def open_connections(self) -> int:
        """Connections counted against the cap right now."""
        return self._open


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    sock.close()
