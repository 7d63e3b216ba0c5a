"""Fuzz target: the RPC request path of a real server, on both transports.

Generated requests (request lines, header sets, Content-Length right, short, long,
negative or huge, gzip, tokens, line endings, sizes around the limit, XML-RPC bodies
valid, mutated or noise) go to real in-process servers (the intake, the handler, the
stock dispatcher).  Each reply must be well-formed HTTP with a status the server is
meant to give, a 200 must carry a parseable XML-RPC response (a value or a Fault),
nothing is logged as a server error, and the server goes on answering.  A request
left incomplete is answered by nothing at all, or a 408 at its deadline.
"""

from __future__ import annotations

import gzip
import logging
import re
import socket
import threading
import xmlrpc.client
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mom.rpc.client import UnixXmlRpcClient, tcp_client
from mom.rpc.intake import header_end
from mom.rpc.server import TcpXmlRpcHandler, TcpXmlRpcServer, UnixXmlRpcHandler, UnixXmlRpcServer
from tests.fuzz.budget import fuzz_settings, run_budgeted, watchdog
from tests.helpers import wait_for
from tests.rpc.raw_http import parse_reply

TOKEN = "fuzz-token"
LIMIT = 4096
#: what the server answers; 500 (the handler's "module is buggy" reply) is a finding
STATUSES = {200, 400, 401, 404, 408, 411, 413, 414, 431, 501, 503, 505}
HTTP_1 = re.compile(rb"\S+ \S+ HTTP/1\.[0-9]+\r?$")


class Api:
    """What the fuzzed servers export."""

    def ping(self) -> bool:
        return True

    def echo(self, value: Any) -> Any:
        return value

    def boom(self) -> None:
        raise RuntimeError("boom")


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _serve(server: Any) -> threading.Thread:
    server.register_introspection_functions()
    server.register_instance(Api())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return thread


@pytest.fixture(scope="module", params=["unix", "tcp"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """(kind, address, server, errors logged): a real server with a 0.5 s deadline, 4 KiB limit."""
    attributes = {"timeout": 0.5, "max_request_bytes": LIMIT}
    if request.param == "unix":
        path = str(tmp_path_factory.mktemp("fuzz-rpc") / "s.sock")
        handler = type("Handler", (UnixXmlRpcHandler,), attributes)
        instance: Any = UnixXmlRpcServer(path, handler, workers=2, max_connections=64)
        address: Any = path
    else:
        handler = type("Handler", (TcpXmlRpcHandler,), {**attributes, "token": TOKEN.encode()})
        instance = TcpXmlRpcServer(0, handler, workers=2, max_connections=64)
        address = instance.server_address[1]
    errors = _Errors()
    logging.getLogger("mom.RPCServer").addHandler(errors)
    thread = _serve(instance)
    yield request.param, address, instance, errors
    logging.getLogger("mom.RPCServer").removeHandler(errors)
    instance.shutdown()
    instance.server_close()
    thread.join(5)


# ## Requests

VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**31), 2**31 - 1),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=20),
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=8,
)


@st.composite
def bodies(draw: Any) -> bytes:
    method = draw(st.sampled_from(["ping", "echo", "boom", "nosuch", "system.listMethods", "system.methodHelp", ""]))
    params = tuple(draw(st.lists(VALUES, max_size=2)))
    body = xmlrpc.client.dumps(params, method, allow_none=True).encode()
    how = draw(st.integers(0, 5))
    if how == 0:  # cut somewhere
        body = body[: draw(st.integers(0, len(body)))]
    elif how == 1:  # a byte replaced
        at = draw(st.integers(0, len(body) - 1))
        body = body[:at] + bytes([draw(st.integers(0, 255))]) + body[at + 1 :]
    elif how == 2:
        body = draw(st.binary(max_size=200))
    elif how == 3:  # around the size limit
        body = body + b" " * draw(st.sampled_from([LIMIT - len(body) - 1, LIMIT - len(body), LIMIT - len(body) + 1]))
    elif how == 4:
        body = draw(
            st.sampled_from(
                [
                    b"<?xml version='1.0'?><!DOCTYPE a [<!ENTITY b 'c'>]><methodCall><methodName>&b;</methodName>"
                    b"</methodCall>",
                    b"<methodCall><methodName>echo</methodName><params><param><value><i8>99999999999999999999"
                    b"</i8></value></param></params></methodCall>",
                    b"<methodCall><methodName>echo</methodName><params><param><value><double>nan</double>"
                    b"</value></param></params></methodCall>",
                    b"<methodCall>" * 500,
                ]
            )
        )
    return body


@st.composite
def requests(draw: Any) -> tuple[bytes, bool]:
    """(the bytes sent, whether the server can tell they are one whole request)."""
    body = draw(bodies())
    encoding = draw(st.sampled_from([None, None, "gzip", "identity", "deflate", "gzip-broken"]))
    if encoding == "gzip":
        body = gzip.compress(body)
    elif encoding == "gzip-broken":
        body, encoding = body[:10], "gzip"
    method = draw(st.sampled_from(["POST", "POST", "POST", "GET", "PUT", "", "P\x00ST"]))
    path = draw(st.sampled_from(["/RPC2", "/RPC2", "/", "//RPC2", "/RPC2?x", "*", "/" + "a" * 300]))
    version = draw(st.sampled_from([" HTTP/1.0", " HTTP/1.1", " HTTP/1.0", "", " HTTP/2.0", " HTTP/x", " HTTP/1.0 x"]))
    end = draw(st.sampled_from(["\r\n", "\r\n", "\n"]))
    lines = [f"{method} {path}{version}".strip(" ") if method else path]
    length = draw(
        st.sampled_from(["right", "right", "right", "short", "long", "none", "negative", "huge", "text", "twice"])
    )
    announced = {"right": len(body), "short": max(0, len(body) - 3), "long": len(body) + 5}.get(length)
    if announced is not None:
        lines.append(f"Content-Length: {announced}")
    elif length in ("negative", "huge", "text"):
        lines.append("Content-Length: " + {"negative": "-1", "huge": str(10**12), "text": "12a"}[length])
    elif length == "twice":
        lines += [f"Content-Length: {len(body)}", f"Content-Length: {len(body) + 1}"]
    if encoding:
        lines.append(f"Content-Encoding: {encoding}")
    token = draw(st.sampled_from([TOKEN, TOKEN, None, "wrong", "basic"]))
    if token == "basic":
        lines.append("Authorization: Basic " + __import__("base64").b64encode(f"mom:{TOKEN}".encode()).decode())
    elif token:
        lines.append(f"Authorization: Bearer {token}")
    lines += draw(
        st.lists(st.sampled_from(["X-A: b", "Connection: keep-alive", "Accept-Encoding: gzip", "bad header",
                                  ": empty", "X-Long: " + "y" * 70000, "Expect: 100-continue"]), max_size=3)
    )  # fmt: skip
    if draw(st.integers(0, 19)) == 0:
        lines += [f"X-{n}: {n}" for n in range(120)]  # more than http.client accepts
    head = (end.join(lines) + end + end).encode("latin-1", "replace")
    if draw(st.integers(0, 9)) == 0:
        head = head[: draw(st.integers(0, len(head)))]  # the headers never end
    data = head + body
    ends = header_end(data)
    whole = ends >= 0 and len(data) - ends >= (announced if announced is not None and length == "long" else 0)
    return data, whole


def exchange(kind: str, address: Any, data: bytes) -> bytes:
    if kind == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(10)
        sock.connect(address)
    else:
        sock = socket.create_connection(("localhost", address), timeout=10)
    reply = b""
    with sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # refused before the end was sent: the reply may still be there
        try:
            while chunk := sock.recv(65536):
                reply += chunk
        except ConnectionResetError:
            pass
    return reply


def ping(kind: str, address: Any) -> bool:
    if kind == "unix":
        return UnixXmlRpcClient(address, 5).ping()
    return tcp_client(address, token=TOKEN, timeout=5).ping()


@pytest.mark.fuzz_target
def test_requests_get_well_formed_replies(server: Any, share: float) -> None:
    kind, address, instance, errors = server

    @fuzz_settings(examples=80)
    @given(request=requests())
    def target(request: tuple[bytes, bool]) -> None:
        data, whole = request
        with watchdog():
            reply = exchange(kind, address, data)
        if not reply:
            # nothing to answer: the client went away before its request was whole, or
            # sent an empty request line (http.server answers those with silence)
            assert not whole or not data.split(b"\n", 1)[0].strip(), f"no reply to a whole request {data[:300]!r}"
        else:
            status, _, body = parse_reply(reply)
            if status == 0 and not HTTP_1.match(data.split(b"\n", 1)[0]):
                # http.server answers a request line without a valid HTTP/1.x version
                # in HTTP/0.9, an error page without a status line (as upstream's)
                assert b"<p>Error code: " in reply, reply[:300]
                return
            assert status in STATUSES, f"{status} for {data[:300]!r}: {reply[:300]!r}"
            if status == 200:
                try:
                    xmlrpc.client.loads(body)
                except xmlrpc.client.Fault:
                    pass
        assert not errors.records, [record.getMessage() for record in errors.records]

    run_budgeted(target, share)
    assert ping(kind, address) is True
    wait_for(lambda: instance.open_connections == 0, 10, what="every connection closed")
