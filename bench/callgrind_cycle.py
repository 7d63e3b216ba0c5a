"""Instructions per policy evaluation, counted by callgrind (which load does not move).

    .venv/bin/python -m bench.callgrind_cycle [--guests 1000] [--cycles 3] [--path cycle|upstream]

runs itself under ``valgrind --tool=callgrind`` and prints the instructions (Ir) of one
evaluation of vdsm's six policies over N guests of the golden data: ``cycle`` is
bench_engine's policy cycle (column store), ``upstream`` bench_policy's evaluation of
upstream-style entities.  Only the evaluations are counted: they run inside
``itertools.starmap``, and callgrind collects only while ``starmap_next`` runs
(``--toggle-collect``); the inputs are built and two evaluations run before that.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import subprocess
import sys
import tempfile


def _measured(path: str, guests: int, cycles: int) -> None:
    """The child under callgrind: inputs, warm-up, then ``cycles`` counted evaluations."""
    from bench.conftest import column_inputs, policy_cycle, scenario_inputs
    from tests.compat import golden

    if path == "cycle":
        host, rows, parameters = column_inputs("pressure", guests)
        store = golden.policies(parameters)
        run, args = policy_cycle, (store, host, rows)
    else:
        host, entities, parameters = scenario_inputs("pressure", guests)
        store = golden.policies(parameters)
        run, args = store.evaluate, (host, entities)
    for _ in range(2):
        assert run(*args) is True
    assert all(ok is True for ok in itertools.starmap(run, [args] * cycles))


def count(path: str, guests: int, cycles: int, keep: str | None = None) -> float:
    """Ir of one evaluation (the mean of ``cycles``); ``keep``: where to leave callgrind's
    output (for callgrind_annotate)."""
    with tempfile.TemporaryDirectory() as scratch:
        out = keep or os.path.join(scratch, "callgrind.out")
        command = [
            "valgrind", "--tool=callgrind", "--toggle-collect=starmap_next", f"--callgrind-out-file={out}",
            sys.executable, "-m", "bench.callgrind_cycle", "--child", "--path", path,
            "--guests", str(guests), "--cycles", str(cycles),
        ]  # fmt: skip
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(out) as file:
            summary = re.search(r"^summary: (\d+)", file.read(), re.M)
        assert summary is not None, "no summary in callgrind's output"
        return int(summary.group(1)) / cycles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guests", type=int, default=1000)
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--path", choices=["cycle", "upstream"], default="cycle")
    parser.add_argument("--keep", metavar="FILE", help="keep callgrind's output there")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        _measured(options.path, options.guests, options.cycles)
        return
    ir = count(options.path, options.guests, options.cycles, options.keep)
    print(f"{options.path}, {options.guests} guests: {ir:,.0f} Ir per evaluation ({ir / options.guests:,.0f} per guest)")


if __name__ == "__main__":
    main()
