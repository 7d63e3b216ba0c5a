"""Raw HTTP clients for the RPC tests: many connections from one thread, half-sent requests.

One thread and a selector drive every connection, so the clients themselves add no
thread scheduling to the times measured (the machine may be a loaded 2-core one).
"""

from __future__ import annotations

import selectors
import socket
import time
import xmlrpc.client
from dataclasses import dataclass
from typing import Union

__all__ = ["Endpoint", "Reply", "PING", "request_bytes", "connect", "hold", "exchange_all", "parse_reply", "silent"]

#: ("unix", socket path) or ("tcp", port on localhost)
Endpoint = tuple[str, Union[str, int]]

PING = xmlrpc.client.dumps((), "ping").encode()


def request_bytes(
    body: bytes, *, token: str | None = None, path: str = "/RPC2", headers: dict[str, str] | None = None
) -> bytes:
    """A whole HTTP/1.0 POST of ``body``, as xmlrpc.client would send it."""
    lines = [f"POST {path} HTTP/1.0", "Content-Type: text/xml", f"Content-Length: {len(body)}"]
    if token is not None:
        lines.append(f"Authorization: Bearer {token}")
    lines.extend(f"{name}: {value}" for name, value in (headers or {}).items())
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def connect(endpoint: Endpoint, timeout: float = 10.0) -> socket.socket:
    kind, where = endpoint
    if kind == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(str(where))
        return sock
    return socket.create_connection(("localhost", int(where)), timeout=timeout)


def hold(endpoint: Endpoint, count: int, partial: bytes) -> list[socket.socket]:
    """``count`` connections that each sent ``partial`` (half a request) and then wait."""
    held = []
    for _ in range(count):
        sock = connect(endpoint)
        sock.sendall(partial)
        held.append(sock)
    return held


def silent(sock: socket.socket) -> bool:
    """True if nothing came on ``sock`` (no byte, no end of stream) so far."""
    sock.setblocking(False)
    try:
        sock.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return True
    finally:
        sock.setblocking(True)
    return False


@dataclass
class Reply:
    status: int  #: 0: no valid HTTP status line came back
    headers: dict[str, str]
    body: bytes
    seconds: float  #: from before connect to the end of the reply
    error: str = ""  #: what went wrong on the client side, if anything


def parse_reply(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    words = lines[0].split(" ", 2)
    try:
        status = int(words[1]) if words[0].startswith("HTTP/") else 0
    except (IndexError, ValueError):
        status = 0
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def exchange_all(endpoint: Endpoint, requests: list[bytes], timeout: float = 30.0) -> list[Reply]:
    """Open one connection per request, send them all, then read every reply as it comes.

    All connections are open before the first reply is read: the server sees them all
    at once.  A reply ends when the server closes the connection (HTTP/1.0).
    """
    selector = selectors.DefaultSelector()
    started: dict[int, float] = {}
    received: dict[int, bytearray] = {}
    errors: dict[int, str] = {}
    ended: dict[int, float] = {}
    socks = []
    for index, request in enumerate(requests):
        started[index] = time.monotonic()
        try:
            sock = connect(endpoint)
            sock.sendall(request)
        except OSError as error:
            errors[index] = f"{type(error).__name__}: {error}"
            ended[index] = time.monotonic()
            continue
        sock.setblocking(False)
        socks.append(sock)
        received[index] = bytearray()
        selector.register(sock, selectors.EVENT_READ, index)
    deadline = time.monotonic() + timeout
    try:
        while len(ended) < len(requests) and time.monotonic() < deadline:
            for key, _ in selector.select(0.1):
                index = key.data
                try:
                    chunk = key.fileobj.recv(65536)
                except BlockingIOError:
                    continue
                except OSError as error:
                    errors[index] = f"{type(error).__name__}: {error}"
                    chunk = b""
                if chunk:
                    received[index] += chunk
                    continue
                ended[index] = time.monotonic()
                selector.unregister(key.fileobj)
    finally:
        selector.close()
        for sock in socks:
            sock.close()
    replies = []
    for index in range(len(requests)):
        raw = bytes(received.get(index, b""))
        status, headers, body = parse_reply(raw) if raw else (0, {}, b"")
        if index not in ended:
            errors.setdefault(index, f"no end of reply within {timeout} s")
        seconds = ended.get(index, deadline) - started[index]
        replies.append(Reply(status, headers, body, seconds, errors.get(index, "")))
    return replies
