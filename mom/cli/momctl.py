"""``momctl``: talk to a running momd over its UNIX socket or TCP (upstream's mom-rpcclient, modernised).

The endpoint comes from ``--socket``/``--port``, else from ``rpc-port`` in the
configuration file (``-c``, default ``/etc/mom.conf``).  A TCP token comes from
``--token-file``, ``$MOM_RPC_TOKEN``, or the configuration's ``rpc-token``/``rpc-token-file``
(with ``--port`` too, when the configuration file exists).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import xmlrpc.client
from typing import Any, Sequence

from mom.cli.common import quiet_on_closed_pipe
from mom.config import DEFAULT_CONFIG_FILE, Settings, load_config
from mom.errors import ConfigError
from mom.log import VERBOSITY_LEVELS
from mom.policy_files import UnreadableFileError, read_text
from mom.rpc.client import UnixXmlRpcClient, tcp_client

__all__ = ["main", "build_parser", "format_stats", "format_sla", "format_actions"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="momctl", description="Query and steer a running momd")
    where = parser.add_argument_group("where momd listens")
    where.add_argument(
        "-c",
        "--config-file",
        default=DEFAULT_CONFIG_FILE,
        help="take rpc-port (and the token) from this momd configuration (default: %(default)s)",
    )
    where.add_argument("-s", "--socket", help="momd's UNIX socket")
    where.add_argument("-p", "--port", type=int, help="momd's TCP port on --host")
    where.add_argument("--host", default="localhost", help="TCP host (default: %(default)s)")
    where.add_argument(
        "--token-file", help="file holding the TCP shared secret (default: $MOM_RPC_TOKEN, then the config)"
    )
    where.add_argument(
        "--timeout", type=float, default=10.0, help="seconds to wait for an answer (default: %(default)s)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("ping", help="check that momd answers")
    stats = commands.add_parser("stats", help="latest host and guest statistics")
    stats.add_argument("--json", action="store_true", help="print JSON")
    commands.add_parser("guests", help="names of the monitored (ready) guests")
    commands.add_parser("get-policy", help="print the whole policy")
    commands.add_parser("named-policies", help="print every named policy")
    set_policy = commands.add_parser("set-policy", help="replace all policies with one file ('-': stdin)")
    set_policy.add_argument("file")
    set_named = commands.add_parser("set-named-policy", help="set (or --delete) one named policy")
    set_named.add_argument("name")
    set_named.add_argument("file", nargs="?", help="policy file ('-': stdin)")
    set_named.add_argument("--delete", action="store_true", help="delete the policy instead")
    commands.add_parser("reset-policies", help="reload the policies momd was configured with")
    verbosity = commands.add_parser(
        "verbosity", help="set momd's log level (debug, info, warn, error, critical or 5..1)"
    )
    verbosity.add_argument("level")
    sla_get = commands.add_parser("sla-get", help="a guest's SLA (by UUID or name) and where each field comes from")
    sla_get.add_argument("guest")
    sla_get.add_argument("--json", action="store_true", help="print JSON")
    sla_set = commands.add_parser(
        "sla-set", help="set what the RPC says about a guest's SLA (kept across restarts), or --clear it"
    )
    sla_set.add_argument("guest")
    sla_set.add_argument("--class", dest="sla_class", help="an SLA class (platinum, gold, standard, ...)")
    sla_set.add_argument("--priority", type=int, help="0-100")
    sla_set.add_argument("--tags", help="space- or comma-separated tags ('' for none)")
    sla_set.add_argument("--guarantee", help="a fraction or percentage of its memory (75%%), or a size (2GiB)")
    sla_set.add_argument("--clear", action="store_true", help="forget what the RPC set")
    actions = commands.add_parser("actions", help="the last lifecycle actions (power-off, restore, migrate)")
    actions.add_argument("-n", "--count", type=int, default=20, help="how many (default: %(default)s)")
    actions.add_argument("--json", action="store_true", help="print JSON")
    return parser


def format_actions(answer: dict[str, Any]) -> str:
    """``getActions``' answer: one action a line, then the stopped guests and what runs."""
    import time

    lines = [f"lifecycle-actions: {answer.get('mode', '?')}"]
    for action in answer.get("actions", []):
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(action.get("time", 0))))
        how = f" ({action['how']})" if action.get("how") else ""
        detail = f": {action['detail']}" if action.get("detail") else ""
        lines.append(
            f"{when}  {action.get('guest')}  {action.get('action')}{how}  {action.get('result')}{detail}"
            f"  [{action.get('reason', '')}]"
        )
    if not answer.get("actions"):
        lines.append("no actions")
    for guest in answer.get("stopped", []):
        lines.append(f"stopped by momd: {guest.get('name')} {guest.get('uuid')} ({guest.get('sla_class')},"
                     f" {guest.get('how')}); started again when memory is plentiful")
    for what in answer.get("running", []):
        lines.append(f"running now: {what}")
    for item in answer.get("recommendations", []):
        lines.append(f"recommended: migrate {item.get('guest')} {item.get('peer') or ''}".rstrip())
    return "\n".join(lines)


def format_sla(sla: dict[str, Any]) -> str:
    """``getGuestSla``'s answer, one field a line with its source."""
    sources = sla.get("sources", {})
    lines = [f"guest:     {sla.get('name') or '?'} {sla['uuid']}{'' if sla.get('monitored') else ' (not monitored)'}"]
    lines.append(f"class:     {sla['class']}  ({sources.get('sla_class', '?')})")
    lines.append(f"priority:  {sla['priority']}  ({sources.get('priority', '?')})")
    lines.append(f"tags:      {' '.join(sla['tags']) or '-'}  ({sources.get('tags', '?')})")
    kib = f", {sla['guarantee_kib']} KiB now" if "guarantee_kib" in sla else ""
    lines.append(f"guarantee: {sla['guarantee']}{kib}  ({sources.get('guarantee', '?')})")
    return "\n".join(lines)


def _sla_values(args: argparse.Namespace) -> dict[str, Any] | None:
    """The dict ``setGuestSla`` takes, or None (usage error, printed)."""
    given = {
        "class": args.sla_class,
        "priority": args.priority,
        "tags": args.tags,
        "guarantee": args.guarantee,
    }
    values = {key: value for key, value in given.items() if value is not None}
    if args.clear == bool(values):
        print("give --clear or at least one of --class, --priority, --tags, --guarantee", file=sys.stderr)
        return None
    return values


def _read(path: str) -> str:
    """A policy file's text, or stdin's for ``-``."""
    return sys.stdin.read() if path == "-" else read_text(path)


def _token(args: argparse.Namespace, settings: Settings | None) -> str | None:
    """The TCP token: --token-file, else $MOM_RPC_TOKEN, else the configuration's (if
    the file exists; ``settings`` when it was already loaded for the port)."""
    if args.token_file:
        return read_text(args.token_file).strip() or None
    token = os.environ.get("MOM_RPC_TOKEN")
    if token:
        return token
    if settings is None:
        if not os.path.exists(args.config_file):
            return None
        settings = load_config(args.config_file).settings
    try:
        return settings.read_rpc_token()
    except ConfigError:
        return None  # not readable by this user: --token-file or $MOM_RPC_TOKEN then


def _proxy(args: argparse.Namespace) -> tuple[Any, str]:
    """The proxy and a description of where it points."""
    if args.socket:
        return UnixXmlRpcClient(args.socket, args.timeout), args.socket
    settings = None
    port = args.port
    if port is None:
        if not os.path.exists(args.config_file):
            raise ConfigError(f"no --socket or --port given and {args.config_file} does not exist")
        settings = load_config(args.config_file).settings
        kind, where = settings.rpc_endpoint()
        if kind == "off":
            raise ConfigError(f"RPC is disabled in {args.config_file} (rpc-port = {settings.rpc_port})")
        if kind == "unix":
            return UnixXmlRpcClient(where, args.timeout), where
        port = where
    token = _token(args, settings)
    return tcp_client(port, args.host, token, args.timeout), f"{args.host}:{port}"


def _lines(title: str, sample: dict[str, Any]) -> list[str]:
    lines = [f"{title}:", "=" * (len(title) + 1)]
    width = max((len(key) for key in sample), default=0) + 1
    for key in sorted(sample):
        lines.append(f"{key + ':':<{width}} {sample[key]}")
    return lines


def format_stats(stats: dict[str, Any]) -> str:
    """Upstream mom-rpcclient's layout: a ``Host:`` block, then one block per guest."""
    lines = _lines("Host", stats.get("host", {}))
    for name in sorted(stats.get("guests", {})):
        lines.append("")
        lines.extend(_lines(f"Guest {name}", stats["guests"][name]))
    timings = stats.get("mom", {}).get("timings")
    if timings:
        lines.append("")
        lines.extend(_timing_lines(timings))
    return "\n".join(lines)


def _timing_lines(timings: dict[str, Any]) -> list[str]:
    """momd's own timings (``getStatistics()['mom']['timings']``), in milliseconds."""

    def figures(durations: dict[str, Any]) -> str:
        return "{count} times, last {last:.3f} ms, mean {mean:.3f} ms, max {max:.3f} ms".format(
            count=durations.get("count", 0),
            **{key: 1000 * float(durations.get(key, 0.0)) for key in ("last", "mean", "max")},
        )

    rows = {"tick": figures(timings.get("tick", {}))}
    for phase, durations in timings.get("phases", {}).items():
        rows[f"phase {phase}"] = figures(durations)
    round_ = timings.get("collection_round", {})
    if round_:
        kind = "batched" if round_.get("batched") else "guest by guest"
        rows["collection round"] = f"{figures(round_)} ({round_.get('guests', 0)} guests, {kind})"
    for method, call in timings.get("hypervisor_calls", {}).items():
        rows[f"calls {method}"] = f"{call.get('calls', 0)} calls, {1000 * float(call.get('seconds', 0.0)):.3f} ms in all"
    title = "Timings (momd)"
    width = max(len(key) for key in rows) + 1
    return [f"{title}:", "=" * (len(title) + 1)] + [f"{key + ':':<{width}} {rows[key]}" for key in rows]


def run(args: argparse.Namespace) -> int:
    proxy, where = _proxy(args)
    command = args.command
    if command == "ping":
        print("OK" if proxy.ping() else "momd answered but not OK")
        return 0
    if command == "stats":
        stats = proxy.getStatistics()
        print(json.dumps(stats, indent=2, sort_keys=True) if args.json else format_stats(stats))
        return 0
    if command == "guests":
        for name in sorted(proxy.getActiveGuests()):
            print(name)
        return 0
    if command == "get-policy":
        print(proxy.getPolicy())
        return 0
    if command == "named-policies":
        for name, text in sorted(proxy.getNamedPolicies().items()):
            print(f"### {name}")
            print(text)
        return 0
    if command == "set-policy":
        if proxy.setPolicy(_read(args.file)):
            print("OK")
            return 0
        print("Failed to set policy! Check the syntax.")
        return 1
    if command == "set-named-policy":
        if args.delete == (args.file is not None):
            print("give either a policy file or --delete", file=sys.stderr)
            return 2
        text = None if args.delete else _read(args.file)
        if proxy.setNamedPolicy(args.name, text):
            print("OK")
            return 0
        print("Failed to set policy! Check the syntax.")
        return 1
    if command == "reset-policies":
        result = proxy.resetPolicies()
        print("OK" if result or result is None else "Failed to reload the policies (see momd's log)")
        return 0 if result or result is None else 1
    if command == "verbosity":
        if args.level.strip().lower() not in VERBOSITY_LEVELS:
            print("Invalid level specified!")
            return 1
        proxy.setVerbosity(args.level)
        print("OK")
        return 0
    if command == "sla-get":
        sla = proxy.getGuestSla(args.guest)
        print(json.dumps(sla, indent=2, sort_keys=True) if args.json else format_sla(sla))
        return 0
    if command == "sla-set":
        values = _sla_values(args)
        if values is None:
            return 2
        print(format_sla(proxy.setGuestSla(args.guest, values)))
        return 0
    if command == "actions":
        answer = proxy.getActions(args.count)
        print(json.dumps(answer, indent=2, sort_keys=True) if args.json else format_actions(answer))
        return 0
    raise AssertionError(command)


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:  # a real command line, not a test calling main()
        quiet_on_closed_pipe()
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except (ConfigError, UnreadableFileError) as error:
        print(f"momctl: {error}", file=sys.stderr)
        return 2
    except (xmlrpc.client.Fault, xmlrpc.client.ProtocolError, OSError, socket.timeout) as error:
        if isinstance(error, xmlrpc.client.Fault):
            detail = error.faultString
        elif isinstance(error, xmlrpc.client.ProtocolError):
            detail = f"HTTP {error.errcode} {error.errmsg}"
        else:
            detail = str(error) or type(error).__name__
        print(f"Command '{args.command}' failed: {detail}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
