"""XML-RPC servers: TCP on localhost and a UNIX socket (upstream ``RPCServer``, ``unixrpc``).

``[main] rpc-port`` picks the transport as upstream does: a port >= 0 serves TCP on
``localhost`` (path ``/RPC2`` only, ``allow_none`` off), a path serves a UNIX socket
(paths ``/`` and ``/RPC2``, ``allow_none`` on), a negative number disables RPC.  The
stock dispatcher answers, so faults, ``system.*`` introspection and "method is not
supported" read exactly as upstream's.

Beyond upstream:

- the socket file is created mode 0600, or 0660 with ``rpc-socket-group`` (never
  world-writable, whatever the umask), and removed at shutdown;
- over TCP, with ``rpc-token``/``rpc-token-file`` set, a request needs
  ``Authorization: Bearer <token>`` (or HTTP Basic auth with the token as password),
  else HTTP 401;
- a request body above ``rpc-max-request-bytes`` gets HTTP 413 unread (gzip bodies
  are limited after decompression too); no Content-Length gets 411;
- clients are served concurrently (:mod:`mom.rpc.intake`): ``rpc-workers`` threads
  answer complete requests, a client has ``rpc-request-timeout`` seconds to send its
  whole request (then HTTP 408), and beyond ``rpc-max-connections`` open connections
  a new one gets HTTP 503;
- malformed XML gets an XML-RPC Fault (the stock dispatcher's), never a crash.
"""

from __future__ import annotations

import base64
import grp
import gzip
import hmac
import io
import logging
import os
import socketserver
import stat
import threading
import zlib
from email.message import Message
from typing import Any
from xmlrpc.server import SimpleXMLRPCDispatcher, SimpleXMLRPCRequestHandler, SimpleXMLRPCServer

from mom.config import Settings
from mom.rpc.intake import DEFAULT_MAX_CONNECTIONS, DEFAULT_WORKERS, ConcurrentIntake

__all__ = [
    "RPCServer",
    "GuardedHandler",
    "UnixXmlRpcServer",
    "UnixXmlRpcHandler",
    "TcpXmlRpcServer",
    "TcpXmlRpcHandler",
    "DEFAULT_MAX_REQUEST_BYTES",
]

DEFAULT_MAX_REQUEST_BYTES = 1 << 20

_log = logging.getLogger("mom.RPCServer")


class GuardedHandler(SimpleXMLRPCRequestHandler):
    """The stock handler plus a size limit, an optional token, a timeout and quiet logs.

    :meth:`screen` decides from the headers alone whether a request is refused; the
    intake uses it too (:meth:`body_to_read`), to know where a request ends.
    """

    #: seconds the reply may take to send (a socket timeout; the request's own
    #: deadline is the intake's)
    timeout: float | None = 5
    max_request_bytes = DEFAULT_MAX_REQUEST_BYTES
    #: the shared secret, or None for no authentication
    token: bytes | None = None

    @classmethod
    def _authorized(cls, headers: Message) -> bool:
        if cls.token is None:
            return True
        header = headers.get("Authorization", "")
        scheme, _, value = header.strip().partition(" ")
        offered = b""
        if scheme.lower() == "bearer":
            offered = value.strip().encode()
        elif scheme.lower() == "basic":
            try:
                offered = base64.b64decode(value.strip(), validate=True).partition(b":")[2]
            except ValueError:
                offered = b""
        return hmac.compare_digest(offered, cls.token)

    @classmethod
    def screen(cls, path: str, headers: Message) -> tuple[int, str, dict[str, str]] | None:
        """``(status, reason, extra headers)`` refusing a POST to ``path``, or None to read its body."""
        if path.startswith("//"):
            path = "/" + path.lstrip("/")  # as http.server reads it
        if cls.rpc_paths and path not in cls.rpc_paths:
            return (404, "Not Found", {})
        if not cls._authorized(headers):
            return (401, "Unauthorized", {"WWW-Authenticate": 'Bearer realm="mom", Basic realm="mom"'})
        length = headers.get("Content-Length")
        if length is None:
            return (411, "Length Required", {})
        try:
            size = int(length)
        except ValueError:
            size = -1
        if size < 0:
            return (400, "Bad Content-Length", {})
        if size > cls.max_request_bytes:
            return (413, f"Request Entity Too Large (limit {cls.max_request_bytes} bytes)", {})
        return None

    @classmethod
    def body_to_read(cls, method: str, path: str, headers: Message) -> int:
        """The body bytes a request with these headers is answered after (0: refused unread)."""
        if method != "POST" or cls.screen(path, headers) is not None:
            return 0
        return int(headers["Content-Length"])

    def _refuse(self, code: int, reason: str, headers: dict[str, str] | None = None) -> None:
        _log.warning("RPC request refused: %d %s", code, reason)
        body = reason.encode() + b"\n"
        self.send_response(code, reason)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True

    def do_POST(self) -> None:
        refusal = self.screen(self.path, self.headers)
        if refusal is None:
            super().do_POST()
        elif refusal[0] == 404:
            self.report_404()  # the stock 404, as upstream's
        else:
            self._refuse(*refusal)

    def decode_request_content(self, data: bytes) -> bytes | None:
        encoding = self.headers.get("content-encoding", "identity").lower()
        if encoding == "identity":
            return data
        if encoding == "gzip":
            try:
                with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
                    decoded = stream.read(self.max_request_bytes + 1)
            except (OSError, EOFError, zlib.error) as error:
                # (xmlrpc.client.gzip_decode let EOFError through: a truncated body was a 500)
                self._refuse(400, f"Bad gzip body: {type(error).__name__}")
                return None
            if len(decoded) > self.max_request_bytes:
                self._refuse(413, f"Request Entity Too Large after decompression (limit {self.max_request_bytes} bytes)")
                return None
            return decoded
        self._refuse(501, f"encoding {encoding!r} not supported")
        return None

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (stdlib signature)
        _log.debug("RPC %s: %s", self.address_string(), format % args)


class TcpXmlRpcHandler(GuardedHandler):
    """TCP: only ``/RPC2`` (anything else is a 404), as upstream."""

    rpc_paths = ("/RPC2",)


class UnixXmlRpcHandler(GuardedHandler):
    """UNIX socket: ``/`` and ``/RPC2``; no TCP_NODELAY on AF_UNIX."""

    rpc_paths = ("/", "/RPC2")
    disable_nagle_algorithm = False

    def address_string(self) -> str:
        return "unix-socket"  # AF_UNIX peers have no address


class TcpXmlRpcServer(ConcurrentIntake, SimpleXMLRPCServer):
    """Upstream's TCP server (``allow_none`` off), serving clients concurrently."""

    allow_reuse_address = True

    def __init__(
        self,
        port: int,
        handler: type[GuardedHandler] = TcpXmlRpcHandler,
        *,
        workers: int = DEFAULT_WORKERS,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        self.setup_intake(workers=workers, max_connections=max_connections, request_deadline=handler.timeout or 5)
        super().__init__(("localhost", port), handler, logRequests=False, allow_none=False)


class UnixXmlRpcServer(ConcurrentIntake, socketserver.UnixStreamServer, SimpleXMLRPCDispatcher):
    """An XML-RPC server on a UNIX socket file created with an explicit mode.

    An existing socket at the path is replaced; any other kind of file is an error.
    Clients are served concurrently, as over TCP.
    """

    def __init__(
        self,
        sock_path: str,
        request_handler: type[SimpleXMLRPCRequestHandler] = UnixXmlRpcHandler,
        logRequests: int = 0,
        *,
        group: str | None = None,
        workers: int = DEFAULT_WORKERS,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        self.logRequests = logRequests
        self.setup_intake(
            workers=workers, max_connections=max_connections, request_deadline=request_handler.timeout or 5
        )
        self.sock_path = sock_path
        SimpleXMLRPCDispatcher.__init__(self, allow_none=True, encoding=None)
        mode = 0o660 if group else 0o600
        gid = grp.getgrnam(group).gr_gid if group else -1
        try:
            existing = os.lstat(sock_path)
        except FileNotFoundError:
            existing = None
        if existing is not None:
            if not stat.S_ISSOCK(existing.st_mode):
                raise OSError(f"{sock_path} exists and is not a socket; not replacing it")
            os.unlink(sock_path)
        socketserver.UnixStreamServer.__init__(self, sock_path, request_handler, bind_and_activate=False)
        try:
            # Linux gives the socket file the mode of the socket's inode (less the
            # umask): set it before bind so the file is never more open than `mode`
            os.fchmod(self.socket.fileno(), mode)
            self.server_bind()
            os.chmod(sock_path, mode)
            if gid != -1:
                os.chown(sock_path, -1, gid)
            if os.stat(sock_path).st_mode & 0o002:
                raise OSError(f"{sock_path} would be world-writable")
            self.server_activate()
            self.inode = os.stat(sock_path).st_ino
        except BaseException:
            self.server_close()
            raise

    def remove_socket(self) -> None:
        """Unlink the socket file if it is still ours."""
        try:
            if os.stat(self.sock_path).st_ino == self.inode:
                os.unlink(self.sock_path)
        except OSError:
            pass


def _handler(base: type[GuardedHandler], settings: Settings, token: str | None) -> type[GuardedHandler]:
    return type(
        base.__name__,
        (base,),
        {
            "timeout": settings.rpc_request_timeout,
            "max_request_bytes": settings.rpc_max_request_bytes,
            "token": token.encode() if token else None,
        },
    )


class RPCServer(threading.Thread):
    """Serves the API over the configured transport (thread ``RPCServer``).

    A server that cannot be set up is logged and left out; MOM keeps running without
    RPC (``thread_ok()`` stays True), as upstream does.
    """

    def __init__(self, config: Any, momfuncs: Any, settings: Settings) -> None:
        super().__init__(name="RPCServer", daemon=True)
        self.config = config
        self.settings = settings
        self.server: TcpXmlRpcServer | UnixXmlRpcServer | None = None
        self.logger = _log
        kind, where = self.settings.rpc_endpoint()
        if kind == "off":
            self.logger.info("RPC Server is disabled")
            return
        try:
            pool = {"workers": self.settings.rpc_workers, "max_connections": self.settings.rpc_max_connections}
            if kind == "tcp":
                token = self.settings.read_rpc_token()
                self.server = TcpXmlRpcServer(where, _handler(TcpXmlRpcHandler, self.settings, token), **pool)
                self.logger.info(
                    "RPC Server listening on localhost:%d (%s)",
                    self.server.server_address[1],
                    "token required" if token else "no authentication",
                )
                if not token:
                    self.logger.warning(
                        "RPC Server on TCP port %d has no token (rpc-token-file): any local user can "
                        "change MOM's policy; set rpc-token-file, or serve a UNIX socket",
                        self.server.server_address[1],
                    )
            else:
                self.server = UnixXmlRpcServer(
                    where,
                    _handler(UnixXmlRpcHandler, self.settings, None),
                    group=self.settings.rpc_socket_group or None,
                    **pool,
                )
                self.logger.info("RPC Server listening on %s", where)
        except Exception as error:
            self.logger.error("RPC Server could not start on %s: %s: %s", where, type(error).__name__, error)
            self.server = None
            return
        self.server.register_introspection_functions()
        self.server.register_instance(momfuncs)

    @property
    def address(self) -> Any:
        """The bound address: ``(host, port)`` for TCP, the path for a UNIX socket."""
        return None if self.server is None else self.server.server_address

    def run(self) -> None:
        if self.server is None:
            return
        try:
            self.server.serve_forever(poll_interval=0.2)
        except Exception:
            self.logger.exception("RPC Server crashed")

    def thread_ok(self) -> bool:
        return self.server is None or self.is_alive()

    def shutdown(self) -> None:
        server = self.server
        if server is None:
            return
        if self.is_alive():
            server.shutdown()
        server.server_close()
        if isinstance(server, UnixXmlRpcServer):
            server.remove_socket()
