"""``mom-sim`` as a user runs it: outputs where it says, a table, clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from mom.policy_sets import DEFAULT_SET, shipped_set_dir, shipped_sets


def mom_sim(*args: str, cwd: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mom.cli.sim", *args], capture_output=True, text=True, timeout=300, cwd=cwd
    )


SHORT = """
name = "short"
seed = 3
duration = 900
load = [[0, 0.5], [300, 1.4], [600, 0.4]]

[host]
memory = "48G"
swap = "8G"
page-cache = "4G"
page-cache-max = "8G"

[daemon]
parameters = "(set balloonEnabled True)"

[[group]]
name = "web"
count = 40
memory = "1G"
min-memory = "512M"

[[group]]
name = "batch"
count = 16
memory = "2G"
workload = "bursty"
"""


def small_scenario(tmp_path) -> str:
    path = tmp_path / "short.toml"
    path.write_text(SHORT)
    return str(path)


def test_a_run_leaves_summary_data_and_plots(tmp_path):
    out = tmp_path / "out"
    done = mom_sim(small_scenario(tmp_path), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "time under pressure" in done.stdout and "guests below their floor" in done.stdout
    assert f"outputs in {out}/" in done.stdout
    assert "100%" in done.stderr  # the progress bar got to the end
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scenario"] == "short" and summary["policy_cycles"] == 60
    assert (out / "summary.txt").read_text() in done.stdout
    for name in ("model-host.dat", "model-groups.dat", "actions.dat", "HostMonitor.dat"):
        lines = (out / "data" / name).read_text().splitlines()
        assert lines[0].startswith("# time\t ")
        assert len(lines) > 10
    for name in ("overview.png", "host-memory.png", "guests.png", "balloons.png", "swap.png", "ksm.png", "actions.png"):
        png = (out / "plots" / name).read_bytes()
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000, name
    assert (out / "momd.log").exists()


def test_overrides_and_quiet(tmp_path):
    out = tmp_path / "o"
    done = mom_sim(small_scenario(tmp_path), "-o", str(out), "--seed", "9", "--duration", "300", "--no-plots", "-q")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seed"] == 9 and summary["simulated_seconds"] == 300
    assert not (out / "plots").exists()


def test_a_policy_set_by_name_or_a_directory(tmp_path):
    runs = {}
    for name, policies in (("named", DEFAULT_SET), ("path", shipped_set_dir(DEFAULT_SET))):
        done = mom_sim(small_scenario(tmp_path), "-o", str(tmp_path / name), "--duration", "300", "--no-plots", "-P", policies)
        assert done.returncode == 0, done.stderr
        assert f"policies {shipped_set_dir(DEFAULT_SET)}" in done.stderr
        runs[name] = (tmp_path / name / "data" / "actions.dat").read_text()
    assert runs["named"] == runs["path"]
    done = mom_sim(small_scenario(tmp_path), "-o", str(tmp_path / "x"), "-P", "vdms")
    assert done.returncode == 2
    assert done.stderr == f"mom-sim: -P 'vdms' is neither a directory nor a shipped policy set (shipped: {', '.join(shipped_sets())})\n"


def test_verbosity_reaches_the_daemon_log(tmp_path):
    """-v info logs the daemon's INFO records (every balloon call) into momd.log; the default does not."""
    scenario = small_scenario(tmp_path)
    for verbosity, out in (("info", tmp_path / "info"), (None, tmp_path / "default")):
        extra = ("-v", verbosity) if verbosity else ()
        done = mom_sim(scenario, "-o", str(out), "--duration", "300", "--no-plots", "-q", *extra)
        assert done.returncode == 0, done.stderr
    log = (tmp_path / "info" / "momd.log").read_text()
    assert " mom.HostMonitor INFO HostMonitor is ready" in log
    assert " mom.Controllers.Balloon INFO " in log
    assert " INFO " not in (tmp_path / "default" / "momd.log").read_text()
    done = mom_sim(scenario, "-v", "loud")
    assert done.returncode == 2 and "invalid choice: 'loud'" in done.stderr


def test_default_output_directory(tmp_path):
    done = mom_sim(small_scenario(tmp_path), "--duration", "60", "--no-plots", "-q", cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "short" / "summary.txt").exists()


def test_scenario_errors_exit_2(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[group]]\nname = "a"\nmemory = "lots"\n')
    done = mom_sim(str(bad), "--out", str(tmp_path / "x"))
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        == f"mom-sim: {bad}: group[0].memory = 'lots': expected a size: KiB or text like '512M', '2G'"
    )
    done = mom_sim(str(tmp_path / "missing.toml"))
    assert done.returncode == 2 and "cannot read" in done.stderr


def test_simulation_errors_exit_1(tmp_path):
    done = mom_sim(small_scenario(tmp_path), "--out", str(tmp_path / "x"), "--parameters", "(set", "--no-plots")
    assert done.returncode == 1
    assert "mom-sim: the daemon cannot start" in done.stderr and "Unable to load policy" in done.stderr


def test_the_readme_shows_a_plot_of_make_run():
    root = os.path.join(os.path.dirname(__file__), "..", "..")
    with open(os.path.join(root, "README.md"), encoding="utf-8") as handle:
        readme = handle.read()
    assert "## Simulator" in readme and "## Metrics" in readme
    assert "](docs/sim-overview.png)" in readme
    with open(os.path.join(root, "docs", "sim-overview.png"), "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    with open(os.path.join(root, "Makefile"), encoding="utf-8") as handle:
        assert "mom-sim scenarios/dense-host.toml --out out/dense-host" in handle.read()


def test_a_run_with_the_lifecycle_controller_leaves_its_audit_as_momctl_shows_it(tmp_path):
    # make run's last step: the SLA host with the Lifecycle controller (vapor powered off)
    scenario = os.path.join(os.path.dirname(__file__), "..", "..", "scenarios", "sla-lifecycle-host.toml")
    out = tmp_path / "out"
    done = mom_sim(scenario, "-P", "sla", "--out", str(out), "--no-plots")
    assert done.returncode == 0, done.stderr
    assert f"actions   {out}/actions.txt" in done.stdout
    lines = (out / "actions.txt").read_text().splitlines()
    assert lines[2] == "lifecycle-actions: on"
    done_lines = [line for line in lines if "power-off (shutdown)  done" in line]
    assert done_lines and all("  scratch-" in line for line in done_lines)  # vapor guests only
    assert any("restore (shutdown)  done" in line for line in lines)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["vapor_power_offs"] == len(done_lines)


def test_a_run_without_the_lifecycle_controller_has_no_audit(tmp_path):
    out = tmp_path / "out"
    assert mom_sim(small_scenario(tmp_path), "--out", str(out), "--no-plots").returncode == 0
    assert not (out / "actions.txt").exists()
