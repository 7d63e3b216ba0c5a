"""momctl against real momd processes, over the UNIX socket and over TCP with a token."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mom.cli.momctl import format_stats
from mom.rpc.client import tcp_client
from tests.helpers import MomdProcess, free_tcp_port, wait_for


def momctl(*args, stdin=None, env=None):
    import os

    environment = dict(os.environ)
    environment.pop("MOM_RPC_TOKEN", None)
    environment.update(env or {})
    result = subprocess.run(
        [sys.executable, "-m", "mom.cli.momctl", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=60,
        env=environment,
    )
    return result.returncode, result.stdout, result.stderr


@pytest.fixture
def unix_daemon(momd_conf, start_momd, tmp_path):
    sock = str(tmp_path / "m.sock")
    conf = momd_conf(sock)
    process = start_momd(conf, sock=sock)
    yield conf, sock
    assert process.stop() == 0, process.log()


def test_ping_and_stats_via_the_config(unix_daemon):
    conf, _ = unix_daemon
    assert momctl("-c", conf, "ping") == (0, "OK\n", "")
    wait_for(lambda: "Guest vm0001" in momctl("-c", conf, "stats")[1])
    code, out, _ = momctl("-c", conf, "stats")
    assert code == 0
    assert out.startswith("Host:\n=====\n")
    assert "\nGuest vm0000:\n" in out and "balloon_cur:" in out
    code, out, _ = momctl("-c", conf, "stats", "--json")
    assert code == 0 and '"host": {' in out
    assert momctl("-c", conf, "guests")[1].split() == ["vm0000", "vm0001"]


def test_policies_via_the_socket(unix_daemon, tmp_path):
    _, sock = unix_daemon
    good = tmp_path / "good.policy"
    good.write_text("(defvar x 1)")
    assert momctl("-s", sock, "set-policy", str(good)) == (0, "OK\n", "")
    assert momctl("-s", sock, "get-policy")[1] == "(defvar x 1)\n"
    bad = tmp_path / "bad.policy"
    bad.write_text("(((")
    assert momctl("-s", sock, "set-policy", str(bad)) == (1, "Failed to set policy! Check the syntax.\n", "")
    assert momctl("-s", sock, "set-named-policy", "01-params", "-", stdin="(defvar y 2)")[0] == 0
    assert "### 01-params\n(defvar y 2)" in momctl("-s", sock, "named-policies")[1]
    assert momctl("-s", sock, "set-named-policy", "01-params", "--delete")[0] == 0
    assert "01-params" not in momctl("-s", sock, "named-policies")[1]
    assert momctl("-s", sock, "reset-policies") == (0, "OK\n", "")


def test_verbosity(unix_daemon):
    _, sock = unix_daemon
    assert momctl("-s", sock, "verbosity", "warn") == (0, "OK\n", "")
    assert momctl("-s", sock, "verbosity", "chatty") == (1, "Invalid level specified!\n", "")


def test_failures_are_reported(tmp_path):
    code, out, _ = momctl("-s", str(tmp_path / "none.sock"), "ping")
    assert code == 1 and out.startswith("Command 'ping' failed: ")
    code, _, err = momctl("-c", str(tmp_path / "missing.conf"), "ping")
    assert code == 2 and "does not exist" in err
    disabled = tmp_path / "off.conf"
    disabled.write_text("[main]\nrpc-port: -1\n")
    code, _, err = momctl("-c", str(disabled), "ping")
    assert code == 2 and "RPC is disabled" in err


def test_an_unreadable_policy_file_is_a_usage_error(tmp_path):
    """No traceback for a binary file (momctl set-policy /bin/ls) or a missing one."""
    binary = tmp_path / "ls"
    binary.write_bytes(b"\x7fELF\x02\x01\x01\x00\xff")
    sock = str(tmp_path / "none.sock")  # the file is read before momd is asked
    assert momctl("-s", sock, "set-policy", str(binary)) == (
        2, "", f"momctl: {binary}: not UTF-8 text: invalid start byte at byte 8\n"
    )
    code, out, err = momctl("-s", sock, "set-named-policy", "x", str(tmp_path / "none.policy"))
    assert (code, out) == (2, "") and err == f"momctl: {tmp_path / 'none.policy'}: cannot read: No such file or directory\n"


def test_tcp_with_token(momd_conf, tmp_path):
    port = free_tcp_port()
    token = tmp_path / "token"
    token.write_text("t0ken\n")
    conf = momd_conf(str(port), main={"rpc-token-file": str(token)})
    with MomdProcess(conf, str(tmp_path / "momd.log")) as process:
        process.wait_answering(lambda: tcp_client(port, token="t0ken", timeout=2).ping())
        # the config names the port and the token file
        assert momctl("-c", conf, "ping") == (0, "OK\n", "")
        assert momctl("-p", str(port), "ping", env={"MOM_RPC_TOKEN": "t0ken"})[0] == 0
        assert momctl("-p", str(port), "--token-file", str(token), "ping")[0] == 0
        # with --port the configuration still gives the token
        assert momctl("-c", conf, "-p", str(port), "ping") == (0, "OK\n", "")
        code, _, err = momctl("-p", str(port), "--token-file", str(tmp_path / "none"), "ping")
        assert code == 2 and err == f"momctl: {tmp_path / 'none'}: cannot read: No such file or directory\n"
        code, out, _ = momctl("-p", str(port), "ping")
        assert code == 1 and out == "Command 'ping' failed: HTTP 401 Unauthorized\n"
        assert process.stop() == 0, process.log()


def test_format_stats_layout():
    text = format_stats({"host": {"mem_free": 10, "ksm_run": 0}, "guests": {"g": {"rss": 1}}})
    assert text == "Host:\n=====\nksm_run:  0\nmem_free: 10\n\nGuest g:\n========\nrss: 1"
