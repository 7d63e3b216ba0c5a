"""XML-RPC clients for the two transports (upstream ``unixrpc.UnixXmlRpcClient``, mom-rpcclient).

:class:`UnixXmlRpcClient` speaks as vdsm's does: the socket path, base16-encoded, is
the HTTP host, and it posts to ``/RPC2`` with ``allow_none``.  :func:`tcp_client`
adds the ``Authorization: Bearer`` header when a token is given.
"""

from __future__ import annotations

import base64
import http.client
import socket
import xmlrpc.client
from typing import Any

__all__ = ["UnixXmlRpcClient", "UnixXmlRpcTransport", "TokenTransport", "tcp_client", "connect"]


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, timeout: float | None = None) -> None:
        super().__init__("localhost")
        self.sock_path = base64.b16decode(host.encode()).decode()
        self.sock_timeout = timeout

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if self.sock_timeout is not None:
            self.sock.settimeout(self.sock_timeout)
        self.sock.connect(self.sock_path)


class UnixXmlRpcTransport(xmlrpc.client.Transport):
    """A transport that connects to the UNIX socket named by the (base16) host."""

    def __init__(self, timeout: float | None = None) -> None:
        super().__init__()
        self.timeout = timeout

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        return _UnixHTTPConnection(host, self.timeout)


class UnixXmlRpcClient(xmlrpc.client.ServerProxy):
    """A proxy to a MOM UNIX socket: ``UnixXmlRpcClient(path).ping()``."""

    def __init__(self, sock_path: str, timeout: float | None = None) -> None:
        host = base64.b16encode(sock_path.encode()).decode()
        super().__init__(f"http://{host}/RPC2", transport=UnixXmlRpcTransport(timeout), allow_none=True)


class TokenTransport(xmlrpc.client.Transport):
    """HTTP transport sending ``Authorization: Bearer <token>`` and honouring a timeout."""

    def __init__(self, token: str | None = None, timeout: float | None = None) -> None:
        super().__init__()
        self.token = token
        self.timeout = timeout

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        connection = super().make_connection(host)
        if self.timeout is not None:
            connection.timeout = self.timeout
        return connection

    def send_headers(self, connection: http.client.HTTPConnection, headers: list[tuple[str, str]]) -> None:
        if self.token:
            headers = list(headers) + [("Authorization", f"Bearer {self.token}")]
        super().send_headers(connection, headers)


def tcp_client(
    port: int, host: str = "localhost", token: str | None = None, timeout: float | None = None
) -> xmlrpc.client.ServerProxy:
    """A proxy to MOM's TCP server at ``http://host:port/RPC2``."""
    return xmlrpc.client.ServerProxy(
        f"http://{host}:{port}/RPC2", transport=TokenTransport(token, timeout), allow_none=True
    )


def connect(endpoint: str, token: str | None = None, timeout: float | None = None) -> xmlrpc.client.ServerProxy:
    """A proxy for ``rpc-port`` syntax: a port number or a socket path."""
    try:
        port = int(endpoint)
    except ValueError:
        return UnixXmlRpcClient(endpoint, timeout)
    return tcp_client(port, token=token, timeout=timeout)
