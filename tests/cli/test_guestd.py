"""mom-guestd as a process: answers stats and props on its port, stops on SIGTERM."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys

from tests.helpers import free_tcp_port, wait_for


def test_guestd_process():
    port = free_tcp_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "mom.cli.guestd", "--host", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:

        def connect():
            try:
                return socket.create_connection(("127.0.0.1", port), timeout=5)
            except OSError:
                assert process.poll() is None
                return None

        with wait_for(connect) as sock:
            sock.sendall(b"stats\n")
            reply = sock.makefile("rb").readline().decode()
        fields = dict(item.split(":") for item in reply.strip().split(","))
        assert int(fields["mem_available"]) == int(open("/proc/meminfo").readline().split()[1])
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0
