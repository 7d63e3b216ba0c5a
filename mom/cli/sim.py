"""``mom-sim``: run a policy set against a simulated dense host, faster than real time.

``mom-sim SCENARIO.toml [--out DIR]`` runs the scenario through the real daemon code
(:mod:`mom.sim.runner`), then writes into ``DIR`` (default ``out/<scenario name>``):
``summary.txt`` and ``summary.json``, ``data/*.dat`` (plot-dir data, simulated
seconds), ``plots/*.png`` and ``momd.log`` (the daemon's log, simulated time).
Exit status: 0 done, 1 the simulation failed (policies or plugins that cannot start,
a broken model invariant), 2 usage or scenario errors.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Sequence, TextIO

from mom.cli.common import quiet_on_closed_pipe

__all__ = ["main", "build_parser", "ProgressBar", "LOG_LEVELS"]

#: -v words; an explicit list, because upstream's verbosity parser (mom.log) reads any
#: word it does not know, "warning" among them, as debug
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


def build_parser() -> argparse.ArgumentParser:
    from mom.policy_sets import DEFAULT_SET

    parser = argparse.ArgumentParser(
        prog="mom-sim", description="Run MOM's policies against a simulated host (see the README's Simulator section)."
    )
    parser.add_argument("scenario", help="scenario file (TOML), e.g. scenarios/dense-host.toml")
    parser.add_argument("-o", "--out", help="output directory (default: out/<scenario name>)")
    parser.add_argument("--seed", type=int, help="override the scenario's seed")
    parser.add_argument("--duration", type=float, help="override the simulated duration (seconds)")
    parser.add_argument(
        "-P",
        "--policy-dir",
        metavar="DIR|SET",
        help=f"policy directory, or the name of a shipped policy set (default: the scenario's, else {DEFAULT_SET})",
    )
    parser.add_argument("--parameters", help="text replacing the 01-parameters policy (default: the scenario's)")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    parser.add_argument("--no-check", action="store_true", help="skip the model's invariant checks after each tick")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no summary on stdout")
    parser.add_argument(
        "--pace", type=float, metavar="SECONDS", help="spread the run over this many wall-clock seconds (watchable)"
    )
    parser.add_argument(
        "--rpc", metavar="SOCKET|PORT", help="serve upstream's RPC while running (query it with momctl)"
    )
    parser.add_argument(
        "-v",
        "--verbosity",
        default="warning",
        type=str.lower,
        choices=LOG_LEVELS,
        help="daemon log level for momd.log: debug, info, warning (default), error, critical",
    )
    return parser


class ProgressBar:
    """``[#####-----]  50%  t=2700/5400 s  2.1 s`` on a terminal, one line per 10 % otherwise."""

    def __init__(self, stream: TextIO, tick: float, width: int = 30) -> None:
        self.stream = stream
        self.tick = tick
        self.width = width
        self.started = time.perf_counter()
        self.tty = stream.isatty()
        self.last_decile = -1

    def __call__(self, done: int, total: int) -> None:
        fraction = done / total
        filled = int(round(fraction * self.width))
        bar = "#" * filled + "-" * (self.width - filled)
        text = (
            f"[{bar}] {fraction:4.0%}  t={done * self.tick:g}/{total * self.tick:g} s  "
            f"{time.perf_counter() - self.started:.1f} s"
        )
        if self.tty:
            self.stream.write("\r" + text + ("\n" if done == total else ""))
            self.stream.flush()
        else:
            decile = int(fraction * 10)
            if decile != self.last_decile:
                self.last_decile = decile
                self.stream.write(text + "\n")
                self.stream.flush()


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:  # a real command line, not a test calling main()
        quiet_on_closed_pipe()
    args = build_parser().parse_args(argv)
    import logging

    from mom.errors import MomError
    from mom.sim.model import InvariantError
    from mom.sim.runner import Simulation
    from mom.sim.scenario import ScenarioError, load_scenario

    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as error:
        print(f"mom-sim: {error}", file=sys.stderr)
        return 2
    daemon = scenario.daemon
    changes = {}
    if args.seed is not None:
        changes["seed"] = args.seed
    if args.duration is not None:
        if not args.duration >= scenario.tick:
            print(f"mom-sim: --duration must be at least one tick ({scenario.tick:g} s)", file=sys.stderr)
            return 2
        changes["duration"] = args.duration
    if args.policy_dir is not None or args.parameters is not None:
        import dataclasses

        from mom.policy_sets import missing_reason, resolve_policy_dir

        if args.policy_dir is not None and missing_reason(args.policy_dir):
            print(f"mom-sim: -P {missing_reason(args.policy_dir)}", file=sys.stderr)
            return 2
        daemon = dataclasses.replace(
            daemon,
            policy_dir=(
                os.path.abspath(resolve_policy_dir(args.policy_dir)) if args.policy_dir is not None else daemon.policy_dir
            ),
            parameters=args.parameters if args.parameters is not None else daemon.parameters,
        )
        changes["daemon"] = daemon
    if changes:
        scenario = scenario.replace(**changes)
    out = args.out or os.path.join("out", scenario.name)
    data_dir = os.path.join(out, "data")
    plot_dir = os.path.join(out, "plots")
    os.makedirs(data_dir, exist_ok=True)
    logging.getLogger("mom").setLevel(logging.getLevelName(args.verbosity.upper()))
    try:
        simulation = Simulation(
            scenario, check=not args.no_check, log_path=os.path.join(out, "momd.log"), pace=args.pace, rpc_port=args.rpc
        )
    except (MomError, ValueError) as error:
        print(f"mom-sim: {error}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(
            f"mom-sim: {scenario.name}: {scenario.guest_count} guests, {scenario.duration:g} simulated seconds, "
            f"policies {scenario.policy_dir()}",
            file=sys.stderr,
        )
    if args.rpc is not None and not args.quiet:
        where = f"-s {args.rpc}" if not args.rpc.lstrip("-").isdigit() else f"-p {args.rpc}"
        print(f"mom-sim: while it runs: momctl {where} stats (or ping, guests, get-policy)", file=sys.stderr)
    progress = None if args.quiet else ProgressBar(sys.stderr, scenario.tick)
    try:
        result = simulation.run(progress)
    except InvariantError as error:
        print(f"mom-sim: the model broke an invariant: {error}", file=sys.stderr)
        return 1
    except MomError as error:
        print(f"mom-sim: {error}", file=sys.stderr)
        return 1
    from mom.sim.summary import format_table, summarize

    summary = summarize(result)
    table = format_table(summary)
    result.recording.write(data_dir)
    with open(os.path.join(out, "summary.txt"), "w", encoding="utf-8") as handle:
        handle.write(table)
    with open(os.path.join(out, "summary.json"), "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2)
        handle.write("\n")
    if result.actions is not None:
        from mom.cli.momctl import format_actions

        # what `momctl actions` shows of the simulated daemon at the end of the run
        with open(os.path.join(out, "actions.txt"), "w", encoding="utf-8") as handle:
            handle.write("# the lifecycle audit at the end of the run, as momctl actions shows it;\n")
            handle.write("# times are simulated: the run's start plus the simulated seconds\n")
            handle.write(format_actions(result.actions) + "\n")
    plots: list[str] = []
    if not args.no_plots:
        from mom.sim.plots import render

        title = f"{scenario.name}: {scenario.guest_count} guests, seed {scenario.seed}"
        if scenario.description:
            title += f"\n{scenario.description}"
        plots = render(result.recording, plot_dir, title=title, threshold=daemon.pressure_threshold)
    if not args.quiet:
        sys.stdout.write(table)
        print()
        print(f"outputs in {out}/:")
        print(f"  summary   {os.path.join(out, 'summary.txt')} (and summary.json)")
        print(f"  data      {data_dir}/ (model-host.dat, model-groups.dat, actions.dat, HostMonitor.dat)")
        if plots:
            print(f"  plots     {plots[0]} (and {len(plots) - 1} more in {plot_dir}/)")
        print(f"  daemon    {os.path.join(out, 'momd.log')}")
        if result.actions is not None:
            print(f"  actions   {os.path.join(out, 'actions.txt')} (the lifecycle audit, as momctl actions shows it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
