"""The wheel: product code only, the shipped policy sets inside, and it works installed.

A copy of the source tree is built into a wheel (``pip wheel --no-build-isolation``:
offline, with this virtualenv's setuptools, Cython and NumPy; the fast path is built or
not as ``MOM_PUREPYTHON`` / ``MOM_REQUIRE_FASTPATH`` say, so each mode of ``make test``
checks its own wheel).  The wheel goes into a fresh virtualenv made without pip, whose
only view of this environment is a ``.pth`` line naming its site-packages, for the
dependencies (NumPy, matplotlib...): a path line is not a site directory, so the
editable install's finder there stays inactive and the checkout is not on the path.
The console scripts then run from a directory outside the checkout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from mom.policy_sets import DEFAULT_SET, shipped_set_dir, shipped_sets

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
#: what the copy of the tree leaves out: build products, caches, environments
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", ".stamps", ".realstack", "build", "dist", "out", "run", "*.egg-info",
    "__pycache__", "*.so", ".pytest_cache", ".hypothesis", ".benchmarks",
)

TINY_HOST = """
name = "tiny"
duration = 300

[host]
memory = "8G"
swap = "1G"
page-cache = "1G"
page-cache-max = "2G"

[daemon]
parameters = "(set balloonEnabled True)"

[[group]]
name = "web"
count = 4
memory = "1G"
"""


class Installed:
    """The wheel and the virtualenv it is installed in."""

    def __init__(self, wheel: Path, venv: Path, cwd: Path) -> None:
        self.wheel = wheel
        self.venv = venv
        self.cwd = cwd

    def run(self, program: str, *args: str) -> subprocess.CompletedProcess[str]:
        env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
        return subprocess.run(
            [str(self.venv / "bin" / program), *args],
            cwd=self.cwd, env=env, capture_output=True, text=True, timeout=300, check=False,
        )


def _check(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("packaging")
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    dist = base / "dist"
    _check(subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "--no-index",
         "-q", "-w", str(dist)],
        capture_output=True, text=True, timeout=600, check=False,
    ))
    (wheel,) = dist.glob("mom-*.whl")
    venv = base / "venv"
    _check(subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], capture_output=True, text=True))
    (site,) = venv.glob("lib/python*/site-packages")
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _check(subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q", "--no-deps",
         "--no-index", str(wheel)],
        capture_output=True, text=True, timeout=300, check=False,
    ))
    cwd = base / "elsewhere"
    cwd.mkdir()
    return Installed(wheel, venv, cwd)


def test_the_wheel_holds_the_package_and_its_policy_sets_only(installed: Installed) -> None:
    names = zipfile.ZipFile(installed.wheel).namelist()
    assert {name.split("/")[0] for name in names} == {"mom", "mom-0.1.0.dist-info"}
    assert [name for name in names if "vdsm_double" in name] == []
    shipped = sorted(
        f"mom/policies/{name}/{path.name}" for name in shipped_sets() for path in Path(shipped_set_dir(name)).iterdir()
    )
    assert shipped and sorted(name for name in names if name.startswith("mom/policies/")) == shipped
    extensions = [name for name in names if name.endswith(".so")]
    if os.environ.get("MOM_REQUIRE_FASTPATH") == "1":
        assert extensions and all(name.startswith("mom/_fastpath/") for name in extensions)
    if os.environ.get("MOM_PUREPYTHON") == "1":
        assert extensions == []


def test_the_installed_package_is_the_wheels(installed: Installed) -> None:
    code = (
        "import json, sys, mom, mom.policy_sets as sets\n"
        "print(json.dumps([mom.__file__, sets.shipped_set_dir(sets.DEFAULT_SET), sys.path]))\n"
    )
    package, policies, path = json.loads(_check(installed.run("python", "-c", code)).stdout)
    venv = str(installed.venv)
    assert package.startswith(venv) and policies.startswith(venv)
    assert str(ROOT) not in [entry.rstrip("/") for entry in path]
    done = installed.run("python", "-c", "import tests.vdsm_double")
    assert done.returncode == 1 and "ModuleNotFoundError" in done.stderr


def test_mom_sim_runs_the_shipped_policies(installed: Installed) -> None:
    (installed.cwd / "tiny.toml").write_text(TINY_HOST)
    done = _check(installed.run("mom-sim", "tiny.toml", "--no-plots", "-o", "out"))
    assert f"policies {installed.venv}" in done.stderr
    summary = json.loads((installed.cwd / "out" / "summary.json").read_text())
    assert summary["policy_cycles"] == 20 and summary["policy_failures"] == 0
    assert summary["balloon_inflations"] > 0  # the shipped 02-balloon policy acted
    named = _check(installed.run("mom-sim", "tiny.toml", "--no-plots", "-q", "-P", DEFAULT_SET, "-o", "named"))
    assert named.stdout == ""
    assert json.loads((installed.cwd / "named" / "summary.json").read_text())["balloon_inflations"] == (
        summary["balloon_inflations"]
    )


def test_mom_policy_checks_and_evaluates_the_shipped_set_by_name(installed: Installed) -> None:
    done = _check(installed.run("mom-policy", "check", "--strict", DEFAULT_SET))
    assert (done.stdout, done.stderr) == ("", "")
    host, guests = str(ROOT / "examples" / "host.json"), str(ROOT / "examples" / "guests.json")
    result = json.loads(_check(installed.run("mom-policy", "eval", "--host", host, "--guests", guests, DEFAULT_SET)).stdout)
    assert result["ok"] is True and result["host"]["ksm_run"] in (0, 1) and result["guests"]
    unknown = installed.run("mom-policy", "check", "no-such-set")
    assert unknown.returncode == 2 and f"(shipped: {', '.join(shipped_sets())})" in unknown.stderr


def test_momd_starts_its_command_line(installed: Installed) -> None:
    done = _check(installed.run("momd", "--help"))
    assert done.stdout.startswith("usage: momd") and "shipped policy set" in done.stdout
    version = _check(installed.run("mom-policy", "--version")).stdout
    if os.environ.get("MOM_REQUIRE_FASTPATH") == "1":
        assert "cython fast path" in version
