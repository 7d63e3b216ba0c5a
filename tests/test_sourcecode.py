"""The sources pass their linters: ruff for Python, cython-lint for the fast path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(*command: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PATH=f"{BIN}:{os.environ.get('PATH', '')}")
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env, timeout=300, check=False)


def test_ruff():
    done = run(str(BIN / "ruff"), "check", "mom", "tests", "bench", "conftest.py", "setup.py")
    assert done.returncode == 0, done.stdout + done.stderr


def test_cython_lint():
    sources = sorted(str(path) for path in (ROOT / "mom" / "_fastpath").glob("*.p[yx]*") if path.suffix in (".pyx", ".pxd"))
    done = run(str(BIN / "cython-lint"), "--max-line-length", "130", *sources)
    assert done.returncode == 0, done.stdout + done.stderr
