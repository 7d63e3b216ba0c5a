"""Instructions of a whole tick against libvirt's floor, counted by callgrind (which load
does not move: bench/bench_tick_floor's wall-clock ratio moves with the machine's load).

    .venv/bin/python -m bench.callgrind_tick [--guests 1000] [--ticks 3]

runs itself under ``valgrind --tool=callgrind`` twice on a test-driver host of N
domains in steady state (:class:`tests.helpers.LibvirtTickRig`, as bench_tick_floor):
once counting ``ticks`` ticks (collection round and policy cycle), once the same number
of floors (bench_tick_floor's ``floor_of``: the libvirt calls alone), and prints the
instructions (Ir) of each and their ratio.  Only the ticks or floors are counted: they
run inside ``itertools.starmap``, and callgrind collects only while ``starmap_next``
runs (``--toggle-collect``).  Instructions are not time (a cache miss costs more than an
add), so this says where the work is, and bench_tick_floor what it costs.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import subprocess
import sys
import tempfile


def _measured(what: str, guests: int, ticks: int) -> None:
    """The child under callgrind: the host, steady state, then ``ticks`` counted runs."""
    from bench.bench_tick_floor import floor_of, steady
    from tests.helpers import LibvirtTickRig

    with tempfile.TemporaryDirectory() as scratch:
        rig = LibvirtTickRig(scratch, guests)
        try:
            steady(rig)
            run = rig.tick if what == "tick" else floor_of(rig)
            for _ in range(2):
                run()
            list(itertools.starmap(run, [()] * ticks))
        finally:
            rig.close()


def count(what: str, guests: int, ticks: int) -> float:
    """Ir of one tick or floor (the mean of ``ticks``)."""
    with tempfile.TemporaryDirectory() as scratch:
        out = os.path.join(scratch, "callgrind.out")
        command = [
            "valgrind", "--tool=callgrind", "--toggle-collect=starmap_next", f"--callgrind-out-file={out}",
            sys.executable, "-m", "bench.callgrind_tick", "--child", what,
            "--guests", str(guests), "--ticks", str(ticks),
        ]  # fmt: skip
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(out) as file:
            summary = re.search(r"^summary: (\d+)", file.read(), re.M)
        assert summary is not None, "no summary in callgrind's output"
        return int(summary.group(1)) / ticks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guests", type=int, default=1000)
    parser.add_argument("--ticks", type=int, default=3)
    parser.add_argument("--child", choices=["tick", "floor"], help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        _measured(options.child, options.guests, options.ticks)
        return
    tick = count("tick", options.guests, options.ticks)
    floor = count("floor", options.guests, options.ticks)
    print(
        f"{options.guests} guests: tick {tick:,.0f} Ir, floor {floor:,.0f} Ir, ratio {tick / floor:.2f}"
        f" ({(tick - floor) / options.guests:,.0f} Ir per guest over the floor)"
    )


if __name__ == "__main__":
    main()
