"""The intake's parts, in-process: request framing, screening, burst logs, the pool."""

from __future__ import annotations

import http.client
import io
import logging
import socket
import threading
import time
import xmlrpc.client

import pytest

from mom.rpc.client import UnixXmlRpcClient
from mom.rpc.intake import BurstLog, header_end, http_refusal
from mom.rpc.server import TcpXmlRpcHandler, UnixXmlRpcServer
from tests.helpers import wait_for
from tests.rpc.raw_http import PING, connect, exchange_all, hold, parse_reply, request_bytes


@pytest.mark.parametrize(
    ("data", "end"),
    [
        (b"", -1),
        (b"POST / HTTP/1.0", -1),
        (b"POST / HTTP/1.0\r\n", -1),
        (b"POST / HTTP/1.0\r\n\r\n", 19),
        (b"POST / HTTP/1.0\n\nbody", 17),
        (b"POST / HTTP/1.0\r\nA: b\r\n\r\nbody", 25),
        (b"POST / HTTP/1.0\r\nA: b\r\n", -1),
        (b"\r\n\r\n", 4),  # the first line is the request line, even empty
        (b"POST / HTTP/1.0\r\nA: \r\r\n\r\n", 25),  # a lone CR is part of a line
    ],
)
def test_header_end(data, end):
    assert header_end(data) == end


def test_header_end_resumes_where_it_stopped():
    data = b"POST / HTTP/1.0\r\nA: b\r\n"
    assert header_end(data) == -1
    more = data + b"\r\nbody"
    assert header_end(more, len(data)) == header_end(more) == len(data) + 2


def headers(**fields: str) -> http.client.HTTPMessage:
    text = "".join(f"{name.replace('_', '-')}: {value}\r\n" for name, value in fields.items()) + "\r\n"
    return http.client.parse_headers(io.BytesIO(text.encode()))


class TokenHandler(TcpXmlRpcHandler):
    token = b"secret"
    max_request_bytes = 100


@pytest.mark.parametrize(
    ("method", "path", "fields", "status", "body"),
    [
        ("POST", "/RPC2", {"Authorization": "Bearer secret", "Content_Length": "10"}, None, 10),
        ("POST", "//RPC2", {"Authorization": "Bearer secret", "Content_Length": "10"}, None, 10),
        ("POST", "/", {"Authorization": "Bearer secret", "Content_Length": "10"}, 404, 0),
        ("POST", "/RPC2", {"Content_Length": "10"}, 401, 0),
        ("POST", "/RPC2", {"Authorization": "Bearer nope", "Content_Length": "10"}, 401, 0),
        ("POST", "/RPC2", {"Authorization": "Bearer secret"}, 411, 0),
        ("POST", "/RPC2", {"Authorization": "Bearer secret", "Content_Length": "x"}, 400, 0),
        ("POST", "/RPC2", {"Authorization": "Bearer secret", "Content_Length": "-1"}, 400, 0),
        ("POST", "/RPC2", {"Authorization": "Bearer secret", "Content_Length": "101"}, 413, 0),
        ("GET", "/RPC2", {"Authorization": "Bearer secret", "Content_Length": "10"}, None, 0),
    ],
)
def test_screening_decides_where_a_request_ends(method, path, fields, status, body):
    """The intake reads the body only of a request the handler will read it for."""
    refusal = TokenHandler.screen(path, headers(**fields))
    assert (None if refusal is None else refusal[0]) == status
    assert TokenHandler.body_to_read(method, path, headers(**fields)) == body


def test_http_refusal():
    status, fields, body = parse_reply(http_refusal(503, "too many"))
    assert (status, body) == (503, b"too many\n")
    assert fields["content-length"] == "9" and fields["connection"] == "close"


def test_burst_log_logs_once_then_sums_up(caplog):
    caplog.set_level(logging.WARNING, "mom")
    burst = BurstLog(logging.getLogger("mom.test"), "%d refused in the last burst", quiet=10)
    for now in (100.0, 101.0, 105.0):
        burst.event(now, "refusing (cap %d)", 4)
        burst.tick(now)
    burst.tick(114.9)  # 9.9 s after the last one: the burst goes on
    assert [r.getMessage() for r in caplog.records] == [
        "refusing (cap 4) (more like it are counted until 10 s pass without one)"
    ]
    burst.tick(115.0)
    burst.event(200.0, "refusing (cap %d)", 4)  # a new burst
    burst.tick(210.0)  # a burst of one needs no sum
    assert [r.getMessage() for r in caplog.records][1:] == [
        "3 refused in the last burst",
        "refusing (cap 4) (more like it are counted until 10 s pass without one)",
    ]


class Slow:
    """Methods that block until released: how many run at once shows the pool's size."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0

    def wait(self):
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        self.release.wait(10)
        with self.lock:
            self.running -= 1
        return True

    def ping(self):
        return True


@pytest.fixture
def slow_server(tmp_path):
    path = str(tmp_path / "s.sock")
    server = UnixXmlRpcServer(path, workers=3, max_connections=50)
    slow = Slow()
    server.register_instance(slow)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server, slow, path
    slow.release.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_the_pool_is_bounded(slow_server):
    server, slow, path = slow_server
    callers = [threading.Thread(target=UnixXmlRpcClient(path, 10).wait) for _ in range(8)]
    for caller in callers:
        caller.start()
    try:
        wait_for(lambda: slow.running == 3, 10)
        # five wait for a worker, counted against the cap
        wait_for(lambda: server.open_connections == 8, 10)
    finally:
        slow.release.set()
        for caller in callers:
            caller.join(10)
    assert slow.most == 3
    assert UnixXmlRpcClient(path, 5).ping() is True
    wait_for(lambda: server.open_connections == 0, 5)


def test_shutdown_closes_what_is_still_open(tmp_path):
    path = str(tmp_path / "s.sock")
    server = UnixXmlRpcServer(path, workers=1, max_connections=10)
    server.register_instance(Slow())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    assert [reply.status for reply in exchange_all(("unix", path), [request_bytes(PING)] * 3)] == [200] * 3
    held = hold(("unix", path), 3, b"POST /RPC2 HTTP/1.0\r\n")
    server.shutdown()
    server.server_close()
    thread.join(5)
    assert not thread.is_alive()
    for sock in held:
        sock.settimeout(5)
        try:
            assert sock.recv(100) == b""  # closed, not left hanging
        except ConnectionResetError:
            pass  # closed with its half request unread: reset, as good
        sock.close()
    with pytest.raises(OSError):
        UnixXmlRpcClient(path, 1).ping()


def test_faults_as_the_stock_server(slow_server):
    _, _, path = slow_server
    proxy = UnixXmlRpcClient(path, 5)
    with pytest.raises(xmlrpc.client.Fault) as info:
        proxy.nothere()
    assert info.value.faultString == "<class 'Exception'>:method \"nothere\" is not supported"


def test_burst_log_deadline_is_the_end_of_the_burst_going_on():
    burst = BurstLog(logging.getLogger("mom.test"), "%d", quiet=10)
    assert burst.deadline() is None
    burst.event(100.0, "x")
    burst.event(103.0, "x")
    assert burst.deadline() == 113.0
    burst.tick(113.0)
    assert burst.deadline() is None


def test_an_idle_intake_sleeps_until_woken(tmp_path):
    """No client, no deadline: the loop has no timeout (no periodic wakeup), and
    shutdown still ends it at once through the wake socket."""
    server = UnixXmlRpcServer(str(tmp_path / "s.sock"), workers=1, max_connections=10)
    server.register_instance(Slow())
    assert server._timeout(0.0) is None
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert UnixXmlRpcClient(str(tmp_path / "s.sock"), 5).ping() is True
        wait_for(lambda: server.open_connections == 0, 5)
        assert server._timeout(0.0) is None
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert not thread.is_alive()


def test_a_small_cap_still_lets_refused_clients_send_and_read_their_503(tmp_path):
    """Refused connections are drained, not closed at once, even beyond a cap of one:
    a client whose request goes out after its refusal came must not meet a broken
    pipe (it would lose the reason)."""
    path = str(tmp_path / "s.sock")
    server = UnixXmlRpcServer(path, workers=1, max_connections=1)
    server.register_instance(Slow())
    server.request_deadline = 600.0
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    held = hold(("unix", path), 1, b"POST /RPC2 HTTP/1.0\r\n")
    late = []
    try:
        wait_for(lambda: server.open_connections == 1, 5)
        late = [connect(("unix", path)) for _ in range(4)]
        for sock in late:
            # the refusal is there before the request is sent
            assert sock.recv(12, socket.MSG_PEEK) == b"HTTP/1.0 503"
        for sock in late:
            sock.sendall(request_bytes(PING))
            sock.shutdown(socket.SHUT_WR)
            reply = b""
            while chunk := sock.recv(65536):
                reply += chunk
            assert parse_reply(reply)[0] == 503
    finally:
        for sock in held + late:
            sock.close()
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_the_loop_wakes_for_a_burst_summary_with_nothing_else_to_do(tmp_path, caplog):
    """A burst's summary is due when nothing else is: the loop sleeps until then."""
    caplog.set_level(logging.WARNING, "mom")
    path = str(tmp_path / "s.sock")
    server = UnixXmlRpcServer(path, workers=1, max_connections=1)
    server.register_instance(Slow())
    server.request_deadline = 600.0  # the held connection's deadline is far off
    server.refusals = BurstLog(logging.getLogger("mom.test"), "%d refused in the last burst", quiet=1.5)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    held = hold(("unix", path), 1, b"POST /RPC2 HTTP/1.0\r\n")
    try:
        wait_for(lambda: server.open_connections == 1, 5)
        for reply in exchange_all(("unix", path), [request_bytes(PING)] * 2):
            assert reply.status == 503
        assert server._timeout(time.monotonic()) is not None  # the burst's end, the lingering refusals
        wait_for(
            lambda: "2 refused in the last burst" in [r.getMessage() for r in caplog.records],
            10,
            what="the burst's summary",
        )
        assert server._timeout(time.monotonic()) > 500  # only the held request's deadline is left
    finally:
        for sock in held:
            sock.close()
        server.shutdown()
        server.server_close()
        thread.join(5)
