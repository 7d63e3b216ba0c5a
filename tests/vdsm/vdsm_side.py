"""vdsm's side of MOM's UNIX socket: what vdsm's ``MomClient`` sends and what it expects back (spec 4).

Written from the spec, not from vdsm's code: the transport is vdsm's
``UnixXmlRpcClient`` (base16 host, ``POST /RPC2``, ``allow_none``, 2 s timeout; shared
with tests/rpc); on top of it the calls vdsm makes and the conversions it applies:

- ``getStatus()``: ``ping()`` truthy -> ``'active'``, else or on a caught error ``'inactive'``;
- ``getKsmStats()``: from ``getStatistics()['host']``: ``ksmState`` = bool(ksm_run),
  ``ksmPages`` = ksm_pages_to_scan, ``ksmMergeAcrossNodes`` = bool(ksm_merge_across_nodes),
  ``memShared`` = ksm_pages_sharing * page size // MiB, ``ksmCpu`` = ksmd_cpu_usage;
- ``setPolicyParameters(dict)``: the parameters accumulate; all of them are sent as the
  named policy ``01-parameters`` (vdsm's ``[mom] tuning_policy``), one ``(set key
  repr(value))`` line each, joined with newlines;
- only ``Inactive``, ``AttributeError`` and ``OSError`` are caught (logged); anything
  else, an XML-RPC Fault or a missing key, reaches vdsm's caller;
- after any exception the client answers ``Inactive`` for 5 s (vdsm's ThrottledClient).
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from tests.rpc.test_vdsm_client import vdsm_client

__all__ = ["VdsmMomClient", "Inactive", "TUNING_POLICY"]

TUNING_POLICY = "01-parameters"
THROTTLE_SECONDS = 5.0
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
MIB = 1024 * 1024

_log = logging.getLogger("tests.vdsm_side")


class Inactive(Exception):
    """The throttled client refuses calls for a while after an error."""


class _Throttled:
    def __init__(self, proxy: Any) -> None:
        self._proxy = proxy
        self._inactive_until = 0.0

    def call(self, name: str, *args: Any) -> Any:
        if time.monotonic() < self._inactive_until:
            raise Inactive()
        try:
            return getattr(self._proxy, name)(*args)
        except Exception:
            self._inactive_until = time.monotonic() + THROTTLE_SECONDS
            raise


class VdsmMomClient:
    """MOM as vdsm sees it."""

    def __init__(self, sock_path: str) -> None:
        self._mom = _Throttled(vdsm_client(sock_path, timeout=2))
        self._parameters: dict[str, Any] = {}

    def getStatus(self) -> str:
        try:
            return "active" if self._mom.call("ping") else "inactive"
        except (Inactive, AttributeError, OSError) as error:
            _log.warning("MOM not available. Error: %s", error)
            return "inactive"

    def getKsmStats(self) -> dict[str, Any]:
        stats: dict[str, Any] = {}
        try:
            host = self._mom.call("getStatistics")["host"]
            stats["ksmState"] = bool(host["ksm_run"])
            stats["ksmPages"] = host["ksm_pages_to_scan"]
            stats["ksmMergeAcrossNodes"] = bool(host["ksm_merge_across_nodes"])
            stats["memShared"] = host["ksm_pages_sharing"] * PAGE_SIZE // MIB
            stats["ksmCpu"] = host["ksmd_cpu_usage"]
        except (Inactive, AttributeError, OSError) as error:
            _log.warning("MOM not available, KSM stats will be missing. Error: %s", error)
        return stats

    def setPolicy(self, text: str) -> None:
        try:
            self._mom.call("setPolicy", text)
        except (Inactive, AttributeError, OSError) as error:
            _log.warning("MOM not available, Policy could not be set. Error: %s", error)

    def setPolicyParameters(self, values: dict[str, Any]) -> str:
        """Send the accumulated parameters; the policy text sent (for the test to compare)."""
        self._parameters.update(values)
        text = "\n".join("(set %s %r)" % (key, value) for key, value in self._parameters.items())
        try:
            self._mom.call("setNamedPolicy", TUNING_POLICY, text)
        except (Inactive, AttributeError, OSError) as error:
            _log.warning("MOM not available, Policy could not be set. Error: %s", error)
        return text
