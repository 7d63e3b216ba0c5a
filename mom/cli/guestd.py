"""``mom-guestd``: the in-guest daemon the GuestNetworkDaemon collector talks to (TCP 2187)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from typing import Sequence

from mom.plugins.collectors.guest_network_daemon import DEFAULT_PORT, _Server

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mom-guestd", description="MOM guest statistics daemon")
    parser.add_argument("--host", default="", help="address to listen on (default: all)")
    parser.add_argument("-p", "--port", type=int, default=DEFAULT_PORT, help="TCP port (default: %(default)s)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log each connection")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s - %(name)s - %(levelname)s - %(message)s",
    )
    server = _Server(host=args.host, port=args.port)

    def stop(signum: int, frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        server.run()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
