"""GuestQemuAgent: guest memory read through the QEMU guest agent (qemu-ga).

The agent is reached through libvirt's ``qemuAgentCommand`` first, then through the
UNIX socket ``<socket_path>/<socket_name_template % {name}>`` (options of the
``[Collector: GuestQemuAgent]`` section).  The collector reads the guest's
``/proc/meminfo`` and ``/proc/vmstat`` with ``guest-file-open/read/close``, whole
(upstream read only the first KiB).  A channel is probed with ``guest-ping`` when it is
connected; after that it is used as it is, and looked for again only when it fails.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import socket
from typing import Any, Mapping

from mom.errors import CollectionError
from mom.plugins.collectors.base import Collector
from mom.plugins.collectors.meminfo import SwapDelta, fault_fields, memory_fields, parse_keyed

__all__ = ["GuestQemuAgent", "AgentSocket", "AgentError"]

DEFAULT_SOCKET_PATH = "/var/lib/libvirt/qemu"
DEFAULT_SOCKET_TEMPLATE = "%(name)s.agent"
#: largest guest file read (bytes); /proc/meminfo and /proc/vmstat are a few KiB
MAX_FILE_BYTES = 1 << 20


class AgentError(Exception):
    """The agent answered with an error, or not at all."""


class AgentSocket:
    """qemu-ga's JSON protocol over a UNIX socket: one request line, one reply line."""

    def __init__(self, path: str, timeout: float = 10.0) -> None:
        self.path = path
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.buffer = b""

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        self.buffer = b""

    def command(self, request: str) -> str:
        if self.sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            try:
                sock.connect(self.path)
            except OSError:
                sock.close()
                raise
            self.sock = sock
        try:
            self.sock.sendall(request.encode() + b"\n")
            while b"\n" not in self.buffer:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise AgentError("agent closed the connection")
                self.buffer += chunk
                if len(self.buffer) > 4 * MAX_FILE_BYTES:
                    raise AgentError("agent reply too long")
        except Exception:
            self.close()
            raise
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode("utf-8", "replace")


class GuestQemuAgent(Collector):
    """Guest memory from the guest's own /proc, through qemu-ga (KiB unless stated).

    - ``mem_available`` (MemTotal), ``mem_unused`` (MemFree),
      ``mem_free`` (MemFree + Buffers + Cached)
    - ``swap_total``, ``swap_usage`` (SwapTotal - SwapFree)
    - ``major_fault``, ``minor_fault``: page faults since boot (counts)
    - ``swap_in``, ``swap_out``: pages swapped since the previous sample (0 at first)
    """

    fields = frozenset(
        {
            "mem_available",
            "mem_unused",
            "mem_free",
            "major_fault",
            "minor_fault",
            "swap_in",
            "swap_out",
            "swap_total",
            "swap_usage",
        }
    )

    def __init__(self, properties: Mapping[str, Any]) -> None:
        super().__init__(properties)
        self.logger = logging.getLogger("mom.Collectors.GuestQemuAgent")
        self.iface = properties.get("hypervisor_iface")
        self.uuid = properties.get("uuid")
        self.name = properties.get("name")
        config = properties.get("config") or {}
        socket_path = config.get("socket_path", DEFAULT_SOCKET_PATH)
        template = config.get("socket_name_template", DEFAULT_SOCKET_TEMPLATE)
        self.socket = AgentSocket(os.path.join(socket_path, template % {"name": self.name}))
        #: which channel answered last: "libvirt", "socket" or None
        self.channel: str | None = None
        self.swap = SwapDelta()

    # ## Agent plumbing

    def _send(self, channel: str, execute: str, **arguments: Any) -> Any:
        request = json.dumps({"execute": execute, "arguments": arguments} if arguments else {"execute": execute})
        if channel == "libvirt":
            if self.iface is None or not hasattr(self.iface, "qemuAgentCommand"):
                raise AgentError("the hypervisor interface has no qemuAgentCommand")
            reply = self.iface.qemuAgentCommand(self.uuid, request)
            if reply is None:
                raise AgentError("no reply through libvirt")
        else:
            reply = self.socket.command(request)
        message = json.loads(reply)
        if "error" in message:
            raise AgentError(f"{message['error'].get('class')}: {message['error'].get('desc')}")
        return message.get("return")

    def _connect(self) -> str:
        """A channel whose guest-ping succeeds (the last good one first)."""
        errors = []
        order = ["libvirt", "socket"]
        if self.channel == "socket":
            order.reverse()
        for channel in order:
            try:
                self._send(channel, "guest-ping")
            except Exception as error:
                errors.append(f"{channel}: {error}")
                if channel == "socket":
                    self.socket.close()
                continue
            self.channel = channel
            return channel
        self.channel = None
        raise CollectionError("Agent command failed: no agent reachable (details: %s)" % "; ".join(errors))

    def _read_file(self, channel: str, path: str) -> str:
        handle = self._send(channel, "guest-file-open", path=path, mode="r")
        data = b""
        try:
            while len(data) < MAX_FILE_BYTES:
                chunk = self._send(channel, "guest-file-read", handle=handle, count=65536)
                data += base64.b64decode(chunk.get("buf-b64", ""))
                if chunk.get("eof") or not chunk.get("count"):
                    break
        finally:
            self._send(channel, "guest-file-close", handle=handle)
        return data.decode("utf-8", "replace")

    # ## Collection

    def _read_memory(self, channel: str) -> tuple[dict[str, int], dict[str, int]]:
        """The guest's /proc/meminfo and /proc/vmstat, parsed; on failure the channel is
        closed (a socket) and forgotten, and the error raised."""
        try:
            return (
                parse_keyed(self._read_file(channel, "/proc/meminfo")),
                parse_keyed(self._read_file(channel, "/proc/vmstat")),
            )
        except Exception:
            if channel == "socket":
                self.socket.close()
            self.channel = None
            raise

    def collect(self) -> dict[str, Any]:
        files = None
        if self.channel is not None:
            # the channel that answered last is used as it is: a ping only when connecting
            try:
                files = self._read_memory(self.channel)
            except Exception:  # noqa: BLE001  (whatever broke, the channel is looked for again)
                self.logger.debug("guest agent of %s stopped answering; connecting again", self.name)
        if files is None:
            channel = self._connect()
            try:
                files = self._read_memory(channel)
            except Exception as error:
                raise CollectionError(f"Agent command failed: {type(error)} (details: {error})") from error
        meminfo, vmstat = files
        swap = self.swap(vmstat)
        try:
            sample = memory_fields(meminfo)
        except KeyError as error:
            raise CollectionError(f"Agent command failed: guest /proc/meminfo lacks {error}") from error
        sample.update(fault_fields(vmstat))
        sample.update(swap)
        return sample
