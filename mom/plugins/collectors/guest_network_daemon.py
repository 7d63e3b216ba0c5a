"""GuestNetworkDaemon: guest memory from ``mom-guestd`` running inside the guest (TCP 2187).

The host side (:class:`GuestNetworkDaemon`) finds the guest's IPv4 address by running
the ``name-to-ip-helper`` program of ``[Collector: GuestNetworkDaemon]`` with the guest
name, sends ``stats`` and parses the ``key:int,key:int`` reply.  The guest side
(:class:`_Server`, run by ``mom-guestd``) answers ``stats`` and ``props``.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import socketserver
import subprocess
from typing import Any, Mapping

from mom.errors import CollectionError, FatalError
from mom.plugins.collectors.base import Collector, open_datafile, read_file
from mom.plugins.collectors.meminfo import SwapDelta, fault_fields, memory_fields, parse_keyed

__all__ = ["GuestNetworkDaemon", "_Server", "DEFAULT_PORT"]

DEFAULT_PORT = 2187
_REPLY_LIMIT = 4096


class GuestNetworkDaemon(Collector):
    """Guest memory reported by mom-guestd (KiB unless stated).

    - ``mem_available``, ``mem_unused``: as the guest's HostMemory reports them
    - ``major_fault``, ``minor_fault``: page faults since guest boot (counts)
    - ``swap_in``, ``swap_out``: swapped since the previous sample (pages)
    """

    fields = frozenset({"mem_available", "mem_unused", "major_fault", "minor_fault", "swap_in", "swap_out"})

    def __init__(self, properties: Mapping[str, Any]) -> None:
        super().__init__(properties)
        self.logger = logging.getLogger("mom.Collectors.GuestNetworkDaemon")
        self.name = properties.get("name")
        config = properties.get("config") or {}
        self.helper = config.get("name-to-ip-helper")
        self.port = int(config.get("port", DEFAULT_PORT))
        self.timeout = float(config.get("timeout", 5))
        self.ip: str | None = None

    def _lookup_ip(self) -> str:
        if not self.helper:
            raise FatalError("GuestNetworkDaemon: no name-to-ip-helper configured")
        try:
            result = subprocess.run(
                [self.helper, str(self.name)], capture_output=True, text=True, timeout=self.timeout, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise FatalError(f"GuestNetworkDaemon: name-to-ip-helper failed: {error}") from error
        text = result.stdout.strip()
        try:
            return str(ipaddress.IPv4Address(text))
        except ValueError:
            raise FatalError(
                f"GuestNetworkDaemon: no IP address for guest {self.name} (helper said {text!r})"
            ) from None

    def collect(self) -> dict[str, Any]:
        if self.ip is None:
            self.ip = self._lookup_ip()
        try:
            with socket.create_connection((self.ip, self.port), timeout=self.timeout) as sock:
                sock.sendall(b"stats\n")
                reply = b""
                while b"\n" not in reply and len(reply) < _REPLY_LIMIT:
                    chunk = sock.recv(1024)
                    if not chunk:
                        break
                    reply += chunk
        except OSError as error:
            raise CollectionError(f"Network communication with {self.ip}:{self.port} failed: {error}") from error
        data: dict[str, Any] = {}
        for item in reply.decode("ascii", "replace").strip().split(","):
            key, _, value = item.partition(":")
            if key in self.fields:
                try:
                    data[key] = int(value)
                except ValueError:
                    raise CollectionError(f"Malformed reply from {self.ip}: {item!r}") from None
        return data


class _Handler(socketserver.StreamRequestHandler):
    timeout = 30

    def handle(self) -> None:
        server: _Server = self.server  # type: ignore[assignment]
        while True:
            try:
                line = self.rfile.readline(256)
            except OSError:
                return
            command = line.strip().decode("ascii", "replace")
            if command == "stats":
                self.wfile.write(server.stats().encode() + b"\n")
            elif command == "props":
                self.wfile.write(b"min_free:0.20,max_free:0.50\n")
            else:
                return  # anything else closes the connection


class _Server(socketserver.TCPServer):
    """mom-guestd's server: answers ``stats`` and ``props`` one connection at a time."""

    allow_reuse_address = True

    def __init__(
        self, config: Any = None, logger: logging.Logger | None = None, host: str = "", port: int | None = None
    ):
        if port is None:
            port = DEFAULT_PORT
            if config is not None and config.has_option("main", "port"):
                port = config.getint("main", "port")
            if config is not None and config.has_option("main", "host"):
                host = config.get("main", "host")
        self.logger = logger or logging.getLogger("mom.GuestNetworkDaemon")
        # this guest's files, kept open and re-read from the start for each request
        self.meminfo = open_datafile("/proc/meminfo")
        self.vmstat = open_datafile("/proc/vmstat")
        self.swap = SwapDelta()
        super().__init__((host, port), _Handler)

    def stats(self) -> str:
        memory = memory_fields(parse_keyed(read_file(self.meminfo)))
        vmstat = parse_keyed(read_file(self.vmstat))
        swap = self.swap(vmstat)
        faults = fault_fields(vmstat)
        # mem_unused carries mem_free, as upstream's guest daemon sends it
        return "mem_available:%i,mem_unused:%i,swap_in:%i,swap_out:%i,major_fault:%i,minor_fault:%i" % (
            memory["mem_available"],
            memory["mem_free"],
            swap["swap_in"],
            swap["swap_out"],
            faults["major_fault"],
            faults["minor_fault"],
        )

    def server_close(self) -> None:
        super().server_close()
        self.meminfo.close()
        self.vmstat.close()

    def run(self) -> None:
        self.logger.info("mom-guestd listening on %s:%s", *self.server_address[:2])
        self.serve_forever()
