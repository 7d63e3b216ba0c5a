"""The shipped configuration examples and the systemd unit, and `make daemon`'s configuration for real."""

from __future__ import annotations

import configparser
import os
import shutil

from mom.config import OPTIONS, load_config
from mom.rpc.client import UnixXmlRpcClient
from tests.helpers import MomdProcess, wait_for

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def test_contrib_config_shows_every_option_with_its_default():
    path = os.path.join(ROOT, "contrib", "momd.conf")
    loaded = load_config(path)
    assert loaded.warnings == []
    raw = configparser.ConfigParser(interpolation=None)
    raw.read(path)
    for (section, key), opt in OPTIONS.items():
        assert raw.has_option(section, key), (section, key)
        assert raw.get(section, key) == opt.default, (section, key)


def test_systemd_unit():
    unit = configparser.ConfigParser(strict=False)
    unit.optionxform = str  # type: ignore[assignment]
    unit.read(os.path.join(ROOT, "contrib", "momd.service"))
    assert unit.get("Service", "ExecStart") == "/usr/bin/momd -c /etc/momd.conf"
    assert "mom-vdsm.service" in unit.get("Unit", "Conflicts")
    assert unit.get("Install", "WantedBy") == "multi-user.target"


def test_make_daemon_configuration_answers_momctl(tmp_path):
    """examples/momd.conf as `make daemon` runs it (from the repository root; here a copy)."""
    shutil.copytree(os.path.join(ROOT, "examples"), tmp_path / "examples")
    (tmp_path / "run").mkdir()
    loaded = load_config(str(tmp_path / "examples" / "momd.conf"))
    assert loaded.warnings == []
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        process = MomdProcess("examples/momd.conf", str(tmp_path / "momd.log")).start()
    finally:
        os.chdir(cwd)
    sock = str(tmp_path / "run" / "momd.sock")
    with process:
        process.wait_answering(lambda: UnixXmlRpcClient(sock, 2).ping())
        client = UnixXmlRpcClient(sock, 2)
        assert sorted(client.getNamedPolicies()) == ["00-settings", "10-balloon"]
        stats = wait_for(lambda: client.getStatistics()["guests"].get("test"), timeout=30)
        assert stats["balloon_max"] == 8388608
        assert process.stop() == 0, process.log()
    assert "Unable to" not in process.log() and "Traceback" not in process.log()
