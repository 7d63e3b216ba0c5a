"""Where the vdsm interfaces get their client: vdsm's own ``vdsm.client``, or a stand-in for tests.

The interfaces talk to the object model of ``vdsm.client`` (vdsm 4.x) and nothing else:

- ``library.connect(host=, port=, use_tls=, timeout=)`` returns a client, or raises
  ``library.ConnectionError``;
- ``client.Host.getAllVmStats()``, ``client.VM.setBalloonTarget(vmID=..., target=...)``:
  one attribute per API namespace, keyword arguments as in vdsm's schema, the result
  as vdsm's JSON-RPC bridge returns it;
- errors, all derived from ``library.Error``: ``ServerError`` (vdsm ran the verb and it
  failed: ``.code``, ``.resp_msg``), ``TimeoutError`` (no answer within the timeout),
  ``ClientError`` (the request could not be sent: connection lost), ``ConnectionError``;
- ``client.close()``.

On an oVirt host that is ``vdsm.client`` itself.  A test (or a developer without vdsm)
may name another module with the same surface in ``[vdsm] client-module``, such as the
vdsm double of the source tree (``tests.vdsm_double.client``), which is not installed.
"""

from __future__ import annotations

import importlib
import logging
import math
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable

from mom.errors import ConfigError, PluginNotFoundError

__all__ = [
    "ClientLibrary",
    "VdsmSettings",
    "load_client_library",
    "vdsm_uses_tls",
    "VDSM_CLIENT_MODULE",
    "DEFAULT_PORT",
]

#: vdsm's client library on oVirt hosts
VDSM_CLIENT_MODULE = "vdsm.client"
#: vdsm's JSON-RPC port (``vdsm.client.DEFAULT_PORT``)
DEFAULT_PORT = 54321
#: ``vdsm.client.connect``'s default request timeout (seconds); upstream MOM used it
DEFAULT_REQUEST_TIMEOUT = 60.0

#: what a client library module must provide
_REQUIRED = ("connect", "Error", "ServerError", "TimeoutError", "ClientError", "ConnectionError")

_log = logging.getLogger("mom.HypervisorInterfaces.vdsm")


@dataclass(frozen=True)
class VdsmSettings:
    """The ``[vdsm]`` section (vdsm's mom.conf writes it; every key is optional).

    ``host``, ``port`` and ``request-timeout`` (seconds) are passed to ``connect``.
    ``pki-dir``, ``key-file``, ``cert-file`` and ``ca-cert-file`` are accepted and not
    used: ``vdsm.client`` takes its TLS material from vdsm's own configuration.
    """

    host: str = "localhost"
    port: int = DEFAULT_PORT
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    client_module: str = ""

    @classmethod
    def from_config(cls, config: Any) -> VdsmSettings:
        """Read ``[vdsm]`` from a ConfigParser (or None); ConfigError for a bad value."""
        if config is None or not config.has_section("vdsm"):
            return cls()
        section = config["vdsm"]

        def text(key: str, default: str) -> str:
            return section.get(key, default, raw=True).strip()

        host = text("host", "localhost") or "localhost"
        port_text = text("port", str(DEFAULT_PORT))
        try:
            port = int(port_text)
            if not 0 < port < 65536:
                raise ValueError(port_text)
        except ValueError:
            raise ConfigError(f"[vdsm] port = {port_text!r}: expected a TCP port (1-65535)") from None
        timeout_text = text("request-timeout", str(DEFAULT_REQUEST_TIMEOUT))
        try:
            timeout = float(timeout_text)
            if not (timeout > 0 and math.isfinite(timeout)):
                raise ValueError(timeout_text)
        except ValueError:
            raise ConfigError(
                f"[vdsm] request-timeout = {timeout_text!r}: expected a positive number of seconds"
            ) from None
        return cls(host=host, port=port, request_timeout=timeout, client_module=text("client-module", ""))


@dataclass(frozen=True)
class ClientLibrary:
    """A ``vdsm.client``-shaped module: ``connect`` and the error classes."""

    name: str
    connect: Callable[..., Any]
    Error: type[BaseException]
    ServerError: type[BaseException]
    TimeoutError: type[BaseException]
    ClientError: type[BaseException]
    ConnectionError: type[BaseException]

    @classmethod
    def from_module(cls, module: ModuleType | Any, name: str | None = None) -> ClientLibrary:
        """Check the module's surface; PluginNotFoundError naming what it lacks."""
        name = name or getattr(module, "__name__", repr(module))
        missing = [attr for attr in _REQUIRED if not hasattr(module, attr)]
        if missing:
            raise PluginNotFoundError(f"vdsm client module {name!r} lacks {', '.join(missing)}")
        return cls(name, *(getattr(module, attr) for attr in _REQUIRED))


def load_client_library(settings: VdsmSettings, logger: logging.Logger = _log) -> ClientLibrary:
    """``vdsm.client``, or the stand-in ``[vdsm] client-module`` names.

    Raises PluginNotFoundError (an ImportError: MOM then logs "Unable to import
    hypervisor interface") when no library can be had.
    """
    name = settings.client_module or VDSM_CLIENT_MODULE
    if name != VDSM_CLIENT_MODULE:
        logger.warning("vdsm client: using %s instead of %s ([vdsm] client-module); for tests only", name, VDSM_CLIENT_MODULE)
    try:
        module = importlib.import_module(name)
    except ImportError as error:
        if name == VDSM_CLIENT_MODULE:
            raise PluginNotFoundError(
                f"vdsm's client library ({VDSM_CLIENT_MODULE}) cannot be imported: {error}; "
                "the vdsm interfaces run on oVirt hosts (package vdsm-client / python3-vdsm-client)"
            ) from error
        raise PluginNotFoundError(f"[vdsm] client-module {name!r} cannot be imported: {error}") from error
    return ClientLibrary.from_module(module, name)


def vdsm_uses_tls() -> bool:
    """vdsm's own ``[vars] ssl`` setting; True when vdsm's configuration cannot be read (as upstream)."""
    try:
        from vdsm.config import config as vdsm_config  # type: ignore[import-not-found]

        return bool(vdsm_config.getboolean("vars", "ssl"))
    except Exception:
        return True
