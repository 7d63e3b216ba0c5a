"""``momd``: the MOM daemon, with upstream's command line.

``momd -c /etc/vdsm/mom.conf`` is how vdsm starts it.  SIGINT and SIGTERM stop it
cleanly (exit status 0); ``-d`` detaches (double fork, pid file).  A configuration
error is reported on stderr with exit status 1.
"""

from __future__ import annotations

import argparse
import configparser
import os
import signal
import sys
from typing import Sequence

__all__ = ["main", "build_parser", "overrides_from"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="momd", description="Memory Overcommitment Manager daemon")
    parser.add_argument(
        "-c",
        "--config-file",
        dest="config_file",
        default="/etc/mom.conf",
        help="configuration file (default: %(default)s)",
    )
    parser.add_argument("-r", "--rules-file", dest="rules_file", help="policy file (overrides [main] policy)")
    parser.add_argument(
        "-P",
        "--policy-dir",
        dest="policy_dir",
        help="policy directory, or the name of a shipped policy set (overrides [main] policy-dir)",
    )
    parser.add_argument("-p", "--plot-dir", dest="plot_dir", help="plot directory (overrides [main] plot-dir)")
    parser.add_argument("-l", "--log", dest="log", help="'stdio' or a log file (overrides [logging] log)")
    parser.add_argument("-v", "--verbose", dest="verbosity", help="log verbosity (overrides [logging] verbosity)")
    parser.add_argument(
        "-d", "--daemon", dest="daemonize", action="store_true", help="detach and run in the background"
    )
    parser.add_argument(
        "--pid-file", dest="pid_file", default="/var/run/momd.pid", help="pid file with -d (default: %(default)s)"
    )
    return parser


def overrides_from(args: argparse.Namespace) -> configparser.ConfigParser:
    """The command-line values as a ConfigParser of overrides, as upstream builds it."""
    overrides = configparser.ConfigParser(interpolation=None)
    overrides.add_section("main")
    overrides.add_section("logging")
    for section, key, value in (
        ("main", "policy", args.rules_file),
        ("main", "policy-dir", args.policy_dir),
        ("main", "plot-dir", args.plot_dir),
        ("logging", "log", args.log),
        ("logging", "verbosity", args.verbosity),
    ):
        if value is not None:
            overrides.set(section, key, value)
    return overrides


def daemonize(pid_file: str) -> None:
    """Double fork, new session, ``chdir /``, stdio to /dev/null; the pid file goes at exit."""
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    os.chdir("/")
    with open(pid_file, "w", encoding="ascii") as handle:
        handle.write(f"{os.getpid()}\n")
    import atexit

    atexit.register(lambda: os.path.exists(pid_file) and os.unlink(pid_file))
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    import mom
    from mom.errors import ConfigError

    mom.enable_i8()
    try:
        daemon = mom.MOM(args.config_file, overrides_from(args))
    except ConfigError as error:
        print(f"momd: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # e.g. the log file cannot be opened
        print(f"momd: {error}", file=sys.stderr)
        return 1
    if args.daemonize:
        daemonize(args.pid_file)

    def stop(signum: int, frame: object) -> None:
        daemon.shutdown()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    # this process's collector is the daemon's: its long-lived objects kept out of full
    # collections (refrozen every REFREEZE_SECTIONS ticks' sections; mom.runtime.gc_pause)
    from mom.runtime.gc_pause import freeze_long_lived

    freeze_long_lived()
    daemon.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
