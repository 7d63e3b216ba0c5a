"""A real momd serving many clients at once: idle and slow clients stall no one.

vdsm's MomClient gives up after 2 s and marks MOM unavailable; upstream's server
answered one client at a time, so one client that sent half a request stalled every
other.  These tests drive momd over both transports with raw sockets
(:mod:`tests.rpc.raw_http`) and bound what a client waits.
"""

from __future__ import annotations

import select
import socket
import time
import xmlrpc.client

import pytest

from mom.rpc.client import UnixXmlRpcClient, tcp_client
from tests.helpers import free_tcp_port, wait_for
from tests.rpc.conftest import TOKEN, running_momd
from tests.rpc.raw_http import PING, connect, exchange_all, hold, parse_reply, request_bytes, silent

#: what vdsm's MomClient waits for an answer
VDSM_PATIENCE = 2.0
HALF_SENT = b"POST /RPC2 HTTP/1.0\r\nContent-Type: text/xml\r\nContent-Length: 100\r\n"
NO_TOKEN_WARNING = "any local user can change MOM's policy"


@pytest.fixture(scope="module", params=["unix", "tcp"])
def busy_momd(request, tmp_path_factory):
    """(process, endpoint, proxy, token) of a momd whose clients have 10 s for a request:
    the half-sent requests of a test stay open all through it."""
    directory = tmp_path_factory.mktemp(f"busy-{request.param}")
    if request.param == "unix":
        sock = str(directory / "mom.sock")
        proxy = UnixXmlRpcClient(sock, 5)
        endpoint, rpc_port, token, main = ("unix", sock), sock, None, {}
    else:
        port = free_tcp_port()
        (directory / "token").write_text(TOKEN)
        proxy = tcp_client(port, token=TOKEN, timeout=5)
        endpoint, rpc_port, token, main = ("tcp", port), str(port), TOKEN, {"rpc-token-file": str(directory / "token")}
    with running_momd(directory, rpc_port, proxy.ping, **{"rpc-request-timeout": "10", **main}) as process:
        yield process, endpoint, proxy, token


def authorized(partial: bytes, token: str | None) -> bytes:
    return partial if token is None else partial + f"Authorization: Bearer {token}\r\n".encode()


def test_half_sent_requests_stall_no_one(busy_momd):
    process, endpoint, proxy, token = busy_momd
    proxy.setNamedPolicy("02-extra", "(defvar extra 2)")
    before = proxy.getNamedPolicies()
    held = hold(endpoint, 20, authorized(HALF_SENT, token))
    try:
        replies = exchange_all(endpoint, [request_bytes(PING, token=token)] * 200, timeout=30)
        failed = [(index, reply) for index, reply in enumerate(replies) if reply.status != 200]
        assert not failed, failed[:5]
        assert all(xmlrpc.client.loads(reply.body) == ((True,), None) for reply in replies)
        slowest = max(reply.seconds for reply in replies)
        assert slowest < VDSM_PATIENCE, f"slowest ping: {slowest:.3f} s"
        # the half-sent requests were waiting all along: not answered, not closed
        assert all(silent(sock) for sock in held)
    finally:
        for sock in held:
            sock.close()
    assert proxy.getNamedPolicies() == before
    assert proxy.getPolicy() == "\n".join(before[name] for name in sorted(before))
    assert proxy.setNamedPolicy("02-extra", None) is True
    assert process.alive()
    assert "Policy error" not in process.log() and "Traceback" not in process.log()


def test_mixed_calls_at_once_all_answered(busy_momd):
    _, endpoint, proxy, token = busy_momd
    calls = [
        xmlrpc.client.dumps((), "getPolicy").encode(),
        xmlrpc.client.dumps((), "getNamedPolicies").encode(),
        xmlrpc.client.dumps((), "getActiveGuests").encode(),
        xmlrpc.client.dumps(("02-mixed", "(defvar mixed 1)"), "setNamedPolicy").encode(),
        PING,
    ]
    replies = exchange_all(endpoint, [request_bytes(body, token=token) for body in calls * 20], timeout=30)
    assert [reply.status for reply in replies] == [200] * len(replies)
    for reply in replies:
        xmlrpc.client.loads(reply.body)  # a reply, not a Fault
    assert "(defvar mixed 1)" in proxy.getPolicy()
    assert proxy.setNamedPolicy("02-mixed", None) is True


def test_a_trickling_client_is_cut_off_at_the_deadline(tcp_momd):
    """A client sending a byte every 0.2 s is never idle for rpc-request-timeout (1 s)
    but its request would take a minute: it gets HTTP 408 at the deadline."""
    _, port, token = tcp_momd
    request = request_bytes(PING, token=token)
    sock = connect(("tcp", port))
    started = time.monotonic()
    sent = 0
    reply = b""
    try:
        for byte in request:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            sent += 1
            if select.select([sock], [], [], 0.2)[0]:
                break
        sock.settimeout(5)
        while chunk := sock.recv(4096):
            reply += chunk
    finally:
        sock.close()
    elapsed = time.monotonic() - started
    status, _, body = parse_reply(reply)
    assert status == 408 and body == b"request not complete within 1 s\n"
    assert sent < len(request) / 2 and 0.9 <= elapsed < 10, (sent, elapsed)
    assert tcp_client(port, token=token, timeout=2).ping() is True


@pytest.fixture(scope="module")
def capped_momd(tmp_path_factory):
    """(process, port) of a momd on TCP without a token, 4 connections at most, 3 s a request."""
    directory = tmp_path_factory.mktemp("capped")
    port = free_tcp_port()
    main = {"rpc-max-connections": "4", "rpc-workers": "2", "rpc-request-timeout": "3"}
    with running_momd(directory, str(port), tcp_client(port, timeout=5).ping, **main) as process:
        yield process, port


def _hold_all_slots(port: int, slots: int) -> list:
    """``slots`` half-sent connections, none of them answered at once (bounded retries)."""
    for _attempt in range(20):
        held = hold(("tcp", port), slots, HALF_SENT)
        answered, _, _ = select.select(held, [], [], 0.3)
        if not answered:
            return held
        for sock in held:
            sock.close()
        time.sleep(0.2)
    raise AssertionError(f"could not hold {slots} connections without a refusal")


def test_connections_beyond_the_cap_are_refused_with_a_reason(capped_momd):
    process, port = capped_momd
    # connections are accepted in the order they were made: these four come first (once
    # the server has closed every earlier one: on a loaded machine the readiness ping's
    # connection may still count for a moment, and a held one would then be refused)
    # (the log from before the holding: a retry of _hold_all_slots that met a refusal
    # already said it, and the burst's refusals within the next 10 s are only counted)
    log_before = len(process.log())
    held = _hold_all_slots(port, 4)
    try:
        replies = exchange_all(("tcp", port), [request_bytes(PING)] * 10, timeout=10)
        assert [(reply.status, reply.body) for reply in replies] == [
            (503, b"too many open connections, retry later\n")
        ] * 10
        for sock in held:  # then the held ones are cut off, and the slots are free again
            assert read_all(sock).startswith(b"HTTP/1.0 408")
    finally:
        for sock in held:
            sock.close()
    assert wait_for(lambda: _pings(port), 10)
    log = process.log()[log_before:]
    assert log.count("refusing new ones with HTTP 503") == 1, log  # once for the burst of ten
    assert log.count("cut off (HTTP 408)") == 1, log  # once for the four


def read_all(sock: socket.socket) -> bytes:
    sock.settimeout(10)
    reply = b""
    while chunk := sock.recv(4096):
        reply += chunk
    return reply


def _pings(port: int) -> bool:
    try:
        return tcp_client(port, timeout=2).ping()
    except (OSError, xmlrpc.client.ProtocolError):
        return False


def test_tcp_without_a_token_warns_at_start(capped_momd, tcp_momd, unix_momd):
    capped, _ = capped_momd
    warnings = [line for line in capped.log().splitlines() if NO_TOKEN_WARNING in line]
    assert len(warnings) == 1 and " - WARNING - " in warnings[0], warnings
    assert NO_TOKEN_WARNING not in tcp_momd[0].log()  # a token is set
    assert NO_TOKEN_WARNING not in unix_momd[0].log()  # the socket's mode protects it


def test_a_client_that_connects_and_leaves_costs_nothing(tcp_momd):
    _, port, token = tcp_momd
    for _ in range(50):
        sock = socket.create_connection(("localhost", port), timeout=5)
        sock.close()
    assert tcp_client(port, token=token, timeout=2).ping() is True
