"""Fixtures for the command-line tests: mom-policy in-process or as the real console
script, and momd configurations on libvirt's test driver (no VMs)."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from pathlib import Path
from typing import Callable, NamedTuple

import pytest

from mom.cli.policy import main
from mom.policy_sets import DEFAULT_SET, shipped_set_dir
from mom.rpc.client import UnixXmlRpcClient
from tests.helpers import MomdProcess, libvirt_test_host, momd_config
from tests.shared_data import shared_files

ROOT = Path(__file__).resolve().parents[2]
POLICIES = sorted(str(p) for p in Path(shipped_set_dir(DEFAULT_SET)).glob("*.policy"))
VDSM_POLICIES = [str(p) for p in shared_files("*.policy", "data", "vdsm")]
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


@pytest.fixture
def momd_conf(tmp_path):
    """``momd_conf(rpc_port, main={...}, sections={...})``: the path of a fresh configuration
    on a test-driver host of two guests (the host and guest collectors replaceable by ``sections``)."""

    def write(rpc_port: str, main: dict | None = None, sections: dict | None = None) -> str:
        host_xml = tmp_path / "host.xml"
        libvirt_test_host(str(host_xml), 2)
        path = tmp_path / "mom.conf"
        momd_config(
            f"test://{host_xml}",
            path,
            rpc_port=rpc_port,
            host="HostMemory, HostKSM, HostTime",
            main=main,
            sections=sections,
        )
        return str(path)

    return write


@pytest.fixture
def start_momd(tmp_path):
    """``start_momd(conf, *args, env=None, sock=None)``: a running momd (answering on the
    UNIX socket ``sock``, if given), its output in ``momd.log``; stopped at teardown."""
    with contextlib.ExitStack() as running:

        def start(conf: str, *args: str, env: dict | None = None, sock: str | None = None) -> MomdProcess:
            process = running.enter_context(MomdProcess(conf, str(tmp_path / "momd.log"), args, env))
            if sock is not None:
                process.wait_answering(lambda: UnixXmlRpcClient(sock, 2).ping())
            return process

        yield start
