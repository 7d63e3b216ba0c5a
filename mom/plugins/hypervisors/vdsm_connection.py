"""One connection to vdsm's API, kept alive across vdsm restarts; every failure becomes a value.

Upstream connected once when momd started (vdsm down: momd exited and systemd started
it again) and let every error but ``ServerError`` escape, killing the calling thread.
Here a call never raises anything but :class:`CallFailed`, whose ``kind`` says what
happened:

- ``server``: vdsm ran the verb and reported an error (``code``, ``message``), e.g.
  code 1 "Virtual machine does not exist" for a VM that went away, code 99 while vdsm
  is recovering after a start;
- ``timeout``: no answer within ``[vdsm] request-timeout``; the connection is kept;
- ``connection``: vdsm cannot be reached or the connection broke; the client is dropped.
  A request that broke on a working connection is sent once more on a new one (vdsm
  restarted); otherwise the next call after a back-off (1 s doubling to 10 s) connects
  again;
- ``unexpected``: anything else the client library raised (logged with its traceback).

A failed connect logs upstream's message, ``Cannot connect to VDSM. This can happen
when VDSM is starting. Error: ...``, once per outage, and ``Connected to VDSM`` when it
is back.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

from mom.plugins.hypervisors.vdsm_client import ClientLibrary, VdsmSettings

__all__ = ["CallFailed", "VdsmConnection", "MAX_BACKOFF"]

#: longest wait between two connection attempts (seconds)
MAX_BACKOFF = 10.0
_FIRST_BACKOFF = 1.0


class CallFailed(Exception):
    """A vdsm call that produced no result (see the module docstring for ``kind``)."""

    def __init__(self, kind: str, verb: str, reason: str, code: int | None = None) -> None:
        super().__init__(f"{verb}: {reason}")
        self.kind = kind
        self.verb = verb
        self.reason = reason
        self.code = code
        #: the request failed on a connection that had been working (worth one more try)
        self.was_connected = False

    @property
    def transient(self) -> bool:
        """True for failures that say nothing about the answer (timeouts, lost connections)."""
        return self.kind != "server"


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


class VdsmConnection:
    """The client of one vdsm (``[vdsm] host``/``port``), connected lazily and again after a loss."""

    def __init__(
        self,
        library: ClientLibrary,
        settings: VdsmSettings,
        use_tls: bool,
        *,
        logger: logging.Logger,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.library = library
        self.settings = settings
        self.use_tls = use_tls
        self.logger = logger
        self.clock = clock
        self.lock = threading.Lock()
        self.client: Any = None
        #: no connection attempt before this time (monotonic seconds)
        self.retry_at = 0.0
        self.backoff = _FIRST_BACKOFF
        #: True once a connection failed and until one succeeds (logs once per outage)
        self.outage = False
        self.connected_before = False
        self.last_error = ""

    @property
    def where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    # ## Connecting

    def connect(self) -> bool:
        """Connect now if not connected (ignoring the back-off); True if connected."""
        with self.lock:
            if self.client is None:
                self._connect_locked()
            return self.client is not None

    def _connect_locked(self) -> None:
        library = self.library
        client = None
        try:
            client = library.connect(
                host=self.settings.host,
                port=self.settings.port,
                use_tls=self.use_tls,
                timeout=self.settings.request_timeout,
            )
            client.Host.ping2()  # as upstream: a connection vdsm does not answer on is no connection
        except library.Error as error:
            self._connect_failed(client, error)
            return
        except OSError as error:
            self._connect_failed(client, error)
            return
        except Exception as error:
            self.logger.exception("Unexpected error connecting to VDSM at %s", self.where)
            self._connect_failed(client, error)
            return
        self.client = client
        self.backoff = _FIRST_BACKOFF
        self.retry_at = 0.0
        self.logger.info("Connected to VDSM at %s%s", self.where, " again" if self.connected_before else "")
        self.outage = False
        self.connected_before = True

    def _connect_failed(self, client: Any, error: BaseException) -> None:
        _close_quietly(client)
        self.last_error = _one_line(error)
        if not self.outage:
            self.logger.error("Cannot connect to VDSM. This can happen when VDSM is starting. Error: %s", error)
            self.logger.info(
                "Connecting to VDSM at %s again in %g s, then at most every %g s", self.where, self.backoff, MAX_BACKOFF
            )
            self.outage = True
        else:
            self.logger.debug("VDSM at %s still unreachable: %s", self.where, self.last_error)
        self.retry_at = self.clock() + self.backoff
        self.backoff = min(self.backoff * 2, MAX_BACKOFF)

    def _current_client(self, verb: str) -> Any:
        with self.lock:
            if self.client is None:
                if self.clock() < self.retry_at:
                    raise CallFailed("connection", verb, f"not connected to VDSM at {self.where} ({self.last_error})")
                self._connect_locked()
                if self.client is None:
                    raise CallFailed("connection", verb, f"cannot connect to VDSM at {self.where}: {self.last_error}")
            return self.client

    def _drop(self, client: Any, verb: str, error: BaseException) -> None:
        with self.lock:
            if self.client is not client:
                return  # another thread already dropped it (and maybe reconnected)
            self.client = None
            self.last_error = _one_line(error)
            self.retry_at = 0.0  # the first call after a loss tries at once: vdsm may be back already
            if not self.outage:
                self.logger.warning(
                    "Lost the connection to VDSM at %s (%s: %s); reconnecting", self.where, verb, self.last_error
                )
        _close_quietly(client)

    # ## Calls

    def call(self, verb: str, **params: Any) -> Any:
        """``Namespace.method(**params)``'s result; CallFailed if there is none.

        A request that could not be sent on a connection that worked before is sent once
        more on a new one (vdsm restarted; vdsm's client library reconnects the same way).
        """
        try:
            return self._call_once(verb, params)
        except CallFailed as failure:
            if failure.kind != "connection" or not failure.was_connected:
                raise
        return self._call_once(verb, params)

    def _call_once(self, verb: str, params: dict[str, Any]) -> Any:
        namespace, _, method = verb.partition(".")
        client = self._current_client(verb)
        library = self.library
        try:
            return getattr(getattr(client, namespace), method)(**params)
        except library.ServerError as error:
            code = getattr(error, "code", None)
            message = getattr(error, "resp_msg", None) or _one_line(error)
            raise CallFailed("server", verb, f"(code={code}, message={message})", code) from error
        except library.TimeoutError as error:
            raise CallFailed(
                "timeout", verb, f"no answer within {self.settings.request_timeout:g} s ({_one_line(error)})"
            ) from error
        except (library.ClientError, library.ConnectionError, OSError) as error:
            self._drop(client, verb, error)
            failure = CallFailed("connection", verb, _one_line(error))
            failure.was_connected = True
            raise failure from error
        except Exception as error:
            self.logger.exception("Unexpected error from vdsm's client in %s", verb)
            raise CallFailed("unexpected", verb, f"{type(error).__name__}: {_one_line(error)}") from error

    def close(self) -> None:
        with self.lock:
            client, self.client = self.client, None
        _close_quietly(client)


def _close_quietly(client: Any) -> None:
    if client is None:
        return
    try:
        client.close()
    except Exception:
        pass
