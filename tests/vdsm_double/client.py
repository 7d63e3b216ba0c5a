"""A stand-in for ``vdsm.client`` that talks to a :class:`~tests.vdsm_double.server.VdsmDouble`.

Same surface as vdsm's client library (vdsm 4.x ``lib/vdsm/client.py``):

- ``connect(host, port=54321, use_tls=True, timeout=60, ...)`` returns a client whose
  attributes are API namespaces (``client.Host.getAllVmStats()``,
  ``client.VM.setBalloonTarget(vmID=..., target=...)``); a per-call ``_timeout=``
  keyword overrides ``timeout``; ``client.close()``;
- the errors, with vdsm's attribute names and messages: ``ConnectionError`` (host,
  port, use_tls, timeout, reason), ``TimeoutError`` (cmd, params, timeout),
  ``ClientError`` (cmd, params, reason), ``ServerError`` (cmd, params, code,
  ``resp_msg``), all derived from ``Error``.

Which double answers: the one given to :func:`install` in this process, else the
file-backed one in the directory ``$MOM_VDSM_DOUBLE_DIR`` (a momd started by a test;
see :mod:`tests.vdsm_double.shared_dir`).  With neither, ``connect`` fails.  momd uses
this module when its configuration says ``[vdsm] client-module = tests.vdsm_double.client``
(and it runs from a checkout: the double is not installed with the package).
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import time
from typing import Any, Iterator

from tests.vdsm_double.server import ConnectionLost, Fault, VdsmDouble

__all__ = [
    "connect",
    "install",
    "installed",
    "Error",
    "ConnectionError",
    "TimeoutError",
    "ClientError",
    "ServerError",
    "DEFAULT_PORT",
    "DOUBLE_DIR_ENV",
]

DEFAULT_PORT = 54321
#: directory of a file-backed double (set by a test for a momd child process)
DOUBLE_DIR_ENV = "MOM_VDSM_DOUBLE_DIR"


class Error(Exception):
    """Base of the client's errors; ``str()`` renders :attr:`msg` with the instance."""

    msg = ""

    def __str__(self) -> str:
        return self.msg.format(self=self)


class ConnectionError(Error):  # vdsm.client's name (it shadows the builtin there too)
    msg = (
        "Connection to {self.host}:{self.port} with use_tls={self.use_tls}, timeout={self.timeout} "
        "failed: {self.reason}"
    )

    def __init__(self, host: str, port: int, use_tls: bool, timeout: Any, reason: Any) -> None:
        self.host = host
        self.port = port
        self.use_tls = use_tls
        self.timeout = timeout
        self.reason = reason


class TimeoutError(Error):  # vdsm.client's name
    msg = "Request {self.cmd} with args {self.params} timed out after {self.timeout} seconds"

    def __init__(self, cmd: str, params: dict[str, Any], timeout: Any) -> None:
        self.cmd = cmd
        self.params = params
        self.timeout = timeout


class ClientError(Error):
    msg = "Request {self.cmd} with args {self.params} failed: {self.reason}"

    def __init__(self, cmd: str, params: dict[str, Any], reason: Any) -> None:
        self.cmd = cmd
        self.params = params
        self.reason = reason


class ServerError(Error):
    msg = "Command {self.cmd} with args {self.params} failed:\n(code={self.code}, message={self.resp_msg})"

    def __init__(self, cmd: str, params: dict[str, Any], code: int, message: str) -> None:
        self.cmd = cmd
        self.params = params
        self.code = code
        self.resp_msg = message


_lock = threading.Lock()
_installed: VdsmDouble | None = None
_shared: dict[str, VdsmDouble] = {}


@contextlib.contextmanager
def install(double: VdsmDouble) -> Iterator[VdsmDouble]:
    """Make ``connect`` reach ``double`` in this process while the block runs."""
    global _installed
    with _lock:
        previous, _installed = _installed, double
    try:
        yield double
    finally:
        with _lock:
            _installed = previous


def installed() -> VdsmDouble | None:
    """The double ``connect`` reaches now, or None."""
    with _lock:
        if _installed is not None:
            return _installed
        directory = os.environ.get(DOUBLE_DIR_ENV, "").strip()
        if not directory:
            return None
        double = _shared.get(directory)
        if double is None:
            from tests.vdsm_double.shared_dir import SharedDirDouble

            double = _shared[directory] = SharedDirDouble(directory)
        return double


class _Namespace:
    def __init__(self, name: str, call: Any) -> None:
        self._name = name
        self._call = call

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_"):
            raise AttributeError(method)
        return functools.partial(self._call, self._name, method)


class _Client:
    """A connection to the double (vdsm.client's ``_Client``)."""

    def __init__(self, server: VdsmDouble, generation: int, default_timeout: Any) -> None:
        self._server = server
        self._generation = generation
        self._default_timeout = default_timeout
        self._closed = False

    def __getattr__(self, namespace: str) -> _Namespace:
        if namespace.startswith("_"):
            raise AttributeError(namespace)
        return _Namespace(namespace, self._call)

    def _call(self, namespace: str, method: str, **kwargs: Any) -> Any:
        verb = f"{namespace}.{method}"
        timeout = kwargs.pop("_timeout", self._default_timeout)
        if self._closed:
            raise ClientError(verb, kwargs, OSError(9, "Bad file descriptor (client closed)"))
        try:
            delay = self._server.check(self._generation, verb, kwargs)
        except ConnectionLost as lost:
            raise ClientError(verb, kwargs, lost.reason) from None
        timed_out = timeout is not None and delay >= float(timeout)
        if delay > 0:
            time.sleep(float(timeout) if timed_out else delay)
        try:
            result = self._server.handle(verb, kwargs, timed_out=timed_out)
        except Fault as fault:
            if timed_out:  # the client gave up before vdsm's answer came
                raise TimeoutError(verb, kwargs, timeout) from None
            raise ServerError(verb, kwargs, fault.code, fault.message) from None
        if timed_out:
            raise TimeoutError(verb, kwargs, timeout)
        return result

    def close(self) -> None:
        self._closed = True


def connect(
    host: str,
    port: int = DEFAULT_PORT,
    use_tls: bool = True,
    timeout: Any = 60,
    gluster_enabled: bool = False,
    **_options: Any,
) -> _Client:
    """A client of the installed double; ConnectionError if there is none or it is down."""
    server = installed()
    if server is None:
        raise ConnectionError(
            host,
            port,
            use_tls,
            timeout,
            f"no vdsm double in this process (tests.vdsm_double.client.install(), or ${DOUBLE_DIR_ENV})",
        )
    try:
        generation = server.accept(host, port, use_tls, timeout)
    except ConnectionLost as lost:
        raise ConnectionError(host, port, use_tls, timeout, lost.reason) from None
    return _Client(server, generation, timeout)
