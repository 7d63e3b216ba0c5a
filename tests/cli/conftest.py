"""Fixtures for the mom-policy tests: run main(argv) in-process, or the real console script."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Callable, NamedTuple

import pytest

from mom.cli.policy import main

ROOT = Path(__file__).resolve().parents[2]
VDSM = ROOT.parent / "shared" / "data" / "vdsm"
POLICIES = sorted(str(p) for p in (ROOT / "policies").glob("*.policy"))
VDSM_POLICIES = sorted(str(p) for p in VDSM.glob("*.policy"))
HOST = str(ROOT / "examples" / "host.json")
GUESTS = str(ROOT / "examples" / "guests.json")
SCRIPT = Path(sys.executable).parent / "mom-policy"


class Run(NamedTuple):
    status: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Run]:
    """Run ``mom-policy ARGS`` in-process; ``stdin`` is piped text."""

    def run(*argv: str, stdin: str = "") -> Run:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        try:
            status = main(list(argv))
        except SystemExit as stop:  # argparse: --help, --version, usage errors
            status = int(stop.code or 0)
        captured = capsys.readouterr()
        return Run(status, captured.out, captured.err)

    return run


def run_script(*argv: str, stdin: str = "") -> Run:
    """Run the installed console script as a user would."""
    assert SCRIPT.exists(), f"{SCRIPT} is not installed (make setup)"
    done = subprocess.run(
        [str(SCRIPT), *argv], input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=120, check=False
    )
    return Run(done.returncode, done.stdout, done.stderr)
