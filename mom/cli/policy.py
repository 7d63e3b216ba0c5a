"""``mom-policy``: check, evaluate and try out MOM policies without a daemon.

Subcommands: ``check`` (lint files as one program), ``eval`` (one evaluation on host
and guest data given as JSON, controls printed as JSON), ``repl`` (interactive).
Exit status: 0 success, 1 policy errors (or warnings under ``check --strict``, or a
failed evaluation), 2 usage and input errors.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Sequence

import mom
from mom import _impl
from mom.cli.check import check_files, format_finding, summary
from mom.cli.common import quiet_on_closed_pipe
from mom.cli.evaluate import PolicyLoadError, evaluate_policies, read_policy_files
from mom.cli.inputs import InputError, load_guests, load_host
from mom.cli.repl import HELP, Repl, stream_reader, terminal_reader
from mom.dsl.evaluator import Evaluator
from mom.dsl.program import evaluate_text
from mom.errors import describe_error
from mom.policy_files import UnreadableFileError, policy_dir_files
from mom.policy_sets import missing_reason, resolve_policy_dir, shipped_sets

__all__ = ["main", "build_parser"]

PROG = "mom-policy"
_FILES_HELP = "a policy file, a policy directory, or the name of a shipped policy set (its files in load order)"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class _Version(argparse.Action):
    """``--version``: the package version and which policy engine runs (unwrapped)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="show the version and the policy engine, and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        print(f"{PROG} {mom.__version__}\n{_impl.describe()}")
        parser.exit()


def _add_entities(parser: argparse.ArgumentParser, required: bool) -> None:
    parser.add_argument("--host", metavar="HOST.json", required=required, help="the host: an entity object")
    guests = parser.add_mutually_exclusive_group()
    guests.add_argument(
        "--guests", metavar="GUESTS.json", help='the guests: a list of entity objects, or {"guests": [...]}'
    )
    guests.add_argument(
        "--guest", metavar="GUEST.json", action="append", default=[], help="one guest object (repeatable)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Check, evaluate and try out MOM policies.",
        epilog="exit status: 0 success, 1 policy errors or failed evaluation, 2 usage or input errors",
    )
    parser.add_argument("--version", action=_Version)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    check = commands.add_parser(
        "check",
        help="read, compile and lint policy files as one program",
        description="Read, compile and lint policy files as one program, in the order given. "
        "Prints FILE:LINE:COL: SEVERITY: MESSAGE [CODE] lines.",
    )
    check.add_argument("files", nargs="+", metavar="FILE", help=_FILES_HELP)
    check.add_argument("--strict", action="store_true", help="warnings fail too (notes never do)")

    evaluate = commands.add_parser(
        "eval",
        help="evaluate policy files once on host and guest data; print the controls as JSON",
        description="Load the files as named policies (name: the file name before '.policy', "
        "evaluated in sorted-name order as MOM's policy-dir), evaluate once, print JSON.",
    )
    _add_entities(evaluate, required=True)
    evaluate.add_argument(
        "--parameters", metavar="TEXT", help="policy text replacing '01-parameters' (as vdsm's setNamedPolicy)"
    )
    evaluate.add_argument("-v", "--verbose", action="store_true", help="show the policies' (debug ...) output")
    evaluate.add_argument("files", nargs="+", metavar="FILE", help=_FILES_HELP)

    repl = commands.add_parser(
        "repl",
        help="interactive read-eval-print loop",
        description="Evaluate policy expressions interactively on one persistent evaluator. " + HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_entities(repl, required=False)
    repl.add_argument("-v", "--verbose", action="store_true", help="show (debug ...) output")
    repl.add_argument("files", nargs="*", metavar="FILE", help=_FILES_HELP + ", evaluated first")
    return parser


def _error(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr)


def _verbose(enabled: bool) -> None:
    if enabled:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        logger = logging.getLogger("mom.Evaluator")
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)


def policy_paths(arguments: Sequence[str]) -> list[str]:
    """The files the FILE arguments name, in order: a file is itself; a directory, or the
    name of a shipped policy set (the rule of :mod:`mom.policy_sets`), stands for its
    policy files in the daemon's load order."""
    paths: list[str] = []
    for argument in arguments:
        if os.path.isfile(argument):
            paths.append(argument)
            continue
        directory = resolve_policy_dir(argument)
        if os.path.isdir(directory):
            try:
                paths.extend(policy_dir_files(directory))
            except OSError as error:
                raise UnreadableFileError(f"{argument}: cannot read: {error.strerror or error}") from None
        elif missing_reason(argument) and not os.path.exists(argument):
            raise UnreadableFileError(
                f"{argument}: cannot read: no such file or directory, and no shipped policy set "
                f"of that name (shipped: {', '.join(shipped_sets()) or 'none'})"
            )
        else:
            paths.append(argument)  # read_policy_files says what is wrong with it
    return paths


def run_check(args: argparse.Namespace) -> int:
    files = read_policy_files(policy_paths(args.files))
    findings = check_files(files)
    for finding in findings:
        print(format_finding(finding))
    if findings:
        print(f"{PROG}: {summary(findings, len(files))}", file=sys.stderr)
    if any(f.severity == "error" for f in findings):
        return EXIT_FAILED
    if args.strict and any(f.severity == "warning" for f in findings):
        return EXIT_FAILED
    return EXIT_OK


def run_eval(args: argparse.Namespace) -> int:
    files = read_policy_files(policy_paths(args.files))
    host = load_host(args.host)
    guests = load_guests(args.guests, args.guest)
    _verbose(args.verbose)
    try:
        result, warnings = evaluate_policies(files, host, guests, args.parameters)
    except PolicyLoadError as error:
        for line in str(error).splitlines():
            print(line, file=sys.stderr)
        _error("the policies do not load")
        return EXIT_FAILED
    for warning in warnings:
        print(warning, file=sys.stderr)
    print(json.dumps(result, indent=2, default=repr))
    if not result["ok"]:
        _error(f"evaluation failed: {result['error']}")
        return EXIT_FAILED
    return EXIT_OK


def run_repl(args: argparse.Namespace) -> int:
    evaluator = Evaluator()
    if args.host is not None:
        evaluator.bind("Host", load_host(args.host))
    if args.guests is not None or args.guest:
        evaluator.bind("Guests", load_guests(args.guests, args.guest))
    _verbose(args.verbose)
    repl = Repl(evaluator, print)
    for policy in read_policy_files(policy_paths(args.files)):
        try:
            evaluate_text(evaluator, policy.text)
        except Exception as error:  # noqa: BLE001
            _error(f"{policy.path}: {describe_error(error)}")
            return EXIT_FAILED
    if sys.stdin.isatty():
        try:
            import readline  # noqa: F401  (line editing and history for input())
        except ImportError:
            pass
        print(f"{PROG} {mom.__version__} ({_impl.describe()}); :help for help")
        return repl.run(terminal_reader(print))
    return repl.run(stream_reader(sys.stdin))


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:  # a real command line, not a test calling main()
        quiet_on_closed_pipe()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            return run_check(args)
        if args.command == "eval":
            return run_eval(args)
        return run_repl(args)
    except (InputError, UnreadableFileError) as error:
        _error(str(error))
        return EXIT_USAGE
    except BrokenPipeError:
        # the reader went away (| head): no traceback, and none at exit either
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
