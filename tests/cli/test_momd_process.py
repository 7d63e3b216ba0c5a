"""momd as vdsm and systemd run it: flags, signals, exit status, daemon mode, plugins that raise."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from mom.policy_files import policy_dir_files, policy_name, read_text
from mom.policy_sets import DEFAULT_SET, shipped_set_dir
from mom.rpc.client import UnixXmlRpcClient
from tests.helpers import wait_for


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_clean_stop_on_signal_exits_zero(momd_conf, start_momd, tmp_path, signum):
    sock = str(tmp_path / "m.sock")
    process = start_momd(momd_conf(sock), sock=sock)
    assert process.stop(signum) == 0
    log = process.log()
    assert "MOM starting" in log and "MOM ending" in log
    assert "policy engine:" in log  # mom._impl.describe() at startup
    assert "Traceback" not in log
    assert not os.path.exists(sock)  # removed at shutdown


def test_command_line_overrides(momd_conf, start_momd, tmp_path):
    sock = str(tmp_path / "m.sock")
    rules = tmp_path / "rules.policy"
    rules.write_text("(+ 40 2)")
    plots = tmp_path / "plots"
    plots.mkdir()
    log = tmp_path / "momd-file.log"
    process = start_momd(
        momd_conf(sock, main={"policy": "/nonexistent.policy"}),
        "-r",
        str(rules),
        "-p",
        str(plots),
        "-l",
        str(log),
        "-v",
        "error",
        sock=sock,
    )
    client = UnixXmlRpcClient(sock, 2)
    assert client.getPolicy() == "(+ 40 2)"
    wait_for(lambda: (plots / "momplot-001" / "HostMonitor.dat").exists())
    wait_for(lambda: (plots / "momplot-001" / "vm0000.dat").exists())
    header = (plots / "momplot-001" / "HostMonitor.dat").read_text().splitlines()[0]
    assert header.startswith("# time\t ") and "\t mem_free\t " in header
    assert process.stop() == 0
    # -l: the log went to the file; -v error: INFO lines are not there
    text = log.read_text()
    assert "MOM starting" not in text
    assert process.log() == ""  # nothing on stdout/stderr


def test_policy_dir_flag(momd_conf, start_momd, tmp_path):
    sock = str(tmp_path / "m.sock")
    policies = tmp_path / "mom.d"
    policies.mkdir()
    (policies / "10-a.policy").write_text("(defvar a 1)")
    process = start_momd(momd_conf(sock), "-P", str(policies), sock=sock)
    assert UnixXmlRpcClient(sock, 2).getNamedPolicies() == {"10-a": "(defvar a 1)"}
    assert process.stop() == 0


def test_policy_dir_flag_names_a_shipped_set(momd_conf, start_momd, tmp_path):
    sock = str(tmp_path / "m.sock")
    process = start_momd(momd_conf(sock), "-P", DEFAULT_SET, sock=sock)
    expected = {policy_name(path): read_text(path) for path in policy_dir_files(shipped_set_dir(DEFAULT_SET))}
    assert UnixXmlRpcClient(sock, 2).getNamedPolicies() == expected and len(expected) == 6
    assert process.stop() == 0


def test_bad_configuration_is_reported(momd_conf, tmp_path):
    conf = momd_conf("-1", main={"policy-engine-interval": "soon"})
    result = subprocess.run(
        [sys.executable, "-m", "mom.cli.momd", "-c", conf], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert (
        f"momd: {conf}: [main] policy-engine-interval = 'soon': expected a positive number of seconds" in result.stderr
    )


def test_unknown_key_is_a_warning(momd_conf, start_momd, tmp_path):
    sock = str(tmp_path / "m.sock")
    conf = momd_conf(sock, main={"polcy-dir": "/etc"})
    process = start_momd(conf, sock=sock)
    assert process.stop() == 0
    assert f"WARNING - unknown option 'polcy-dir' in section 'main' of '{conf}' (ignored)" in process.log()


def test_daemon_mode_and_pid_file(momd_conf, tmp_path):
    sock = str(tmp_path / "m.sock")
    pid_file = tmp_path / "momd.pid"
    log = tmp_path / "daemon.log"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mom.cli.momd",
            "-c",
            momd_conf(sock),
            "-d",
            "--pid-file",
            str(pid_file),
            "-l",
            str(log),
        ],
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0  # the parent returns at once
    pid = int(wait_for(lambda: pid_file.exists() and pid_file.read_text().strip()))
    try:
        wait_for(lambda: os.path.exists(sock))
        assert UnixXmlRpcClient(sock, 2).ping() is True
        assert os.getsid(pid) != os.getsid(0)  # a new session, not ours
        assert os.readlink(f"/proc/{pid}/cwd") == "/"
    finally:
        os.kill(pid, signal.SIGTERM)
    wait_for(lambda: not pid_file.exists())  # removed at exit
    assert "MOM ending" in log.read_text()


def test_raising_collector_and_controller_keep_the_daemon_ticking(momd_conf, start_momd, tmp_path):
    """Site-local plugins registered the upstream way (a module) and by entry point."""
    site = tmp_path / "site"
    (site / "mom" / "Collectors").mkdir(parents=True)
    (site / "mom" / "Collectors" / "SiteBoom.py").write_text(
        textwrap.dedent("""
        from mom.Collectors.Collector import *

        class SiteBoom(Collector):
            def __init__(self, properties):
                self.count = 0
            def collect(self):
                self.count += 1
                if self.count % 2:
                    raise KeyError('boom %d' % self.count)
                raise CollectionError('soft boom %d' % self.count)
            def getFields(self):
                return set()
    """)
    )
    (site / "boomctl.py").write_text(
        textwrap.dedent("""
        class BoomController:
            def __init__(self, properties):
                pass
            def process(self, host, guests):
                raise RuntimeError('controller boom')
    """)
    )
    dist = site / "boomctl-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: boomctl\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[mom.controllers]\nBoomController = boomctl:BoomController\n")
    policy = tmp_path / "shrink.policy"
    policy.write_text('(with Guests guest (guest.Control "balloon_target" (- guest.balloon_cur 1024)))')
    sock = str(tmp_path / "m.sock")
    conf = momd_conf(
        sock,
        main={"controllers": "BoomController, Balloon", "policy": str(policy)},
        sections={"host": {"collectors": "HostMemory, SiteBoom, HostKSM, HostTime"}},
    )
    process = start_momd(conf, env={"PYTHONPATH": str(site)}, sock=sock)
    client = UnixXmlRpcClient(sock, 2)
    first = client.getStatistics()["host"]["time_microsecond"]
    # the Balloon controller after the broken one keeps shrinking the guests, cycle after cycle
    wait_for(
        lambda: client.getStatistics()["guests"].get("vm0000", {}).get("balloon_cur", 2097152) <= 2097152 - 4 * 1024
    )
    assert client.getStatistics()["host"]["time_microsecond"] != first  # the host monitor still ticks
    assert process.alive()
    assert process.stop() == 0
    log = process.log()
    assert log.count("Controller BoomController failed: RuntimeError: controller boom") >= 3
    assert "HostMonitor: Unexpected collection error in SiteBoom" in log
    assert "HostMonitor: Collection error: soft boom" in log
    assert "has exited" not in log
