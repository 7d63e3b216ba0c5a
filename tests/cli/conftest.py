"""Fixtures for the command-line tests: mom-policy in-process or as the real console
script, and momd configurations on libvirt's test driver (no VMs)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Callable, NamedTuple

import pytest

from mom.cli.policy import main
from mom.testing import libvirt_test_host
from tests.shared_data import shared_path

ROOT = Path(__file__).resolve().parents[2]
VDSM = shared_path("data", "vdsm")
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



@pytest.fixture
def momd_conf(tmp_path):
    """``momd_conf(rpc_port, main={...}, extra='')``: the path of a fresh configuration."""

    def write(rpc_port: str, main: dict | None = None, extra: str = "") -> str:
        host_xml = tmp_path / "host.xml"
        libvirt_test_host(str(host_xml), 2)
        values = {
            "main-loop-interval": "0.3",
            "host-monitor-interval": "0.2",
            "guest-manager-interval": "0.2",
            "guest-monitor-interval": "0.2",
            "policy-engine-interval": "0.2",
            "libvirt-hypervisor-uri": f"test://{host_xml}",
            "rpc-port": rpc_port,
        }
        values.update(main or {})
        text = "[main]\n" + "".join(f"{key}: {value}\n" for key, value in values.items())
        text += "[logging]\nverbosity: debug\n[host]\ncollectors: HostMemory, HostKSM, HostTime\n"
        text += "[guest]\ncollectors: GuestMemory, GuestBalloon\n" + extra
        path = tmp_path / "mom.conf"
        path.write_text(text)
        return str(path)

    return write
