"""The test helpers (tests/helpers.py) behave as the tests rely on: polling, momd's lifetime, the KSM guard."""

from __future__ import annotations

import configparser

import pytest

from mom.rpc.client import UnixXmlRpcClient
from tests.helpers import INTERVAL_KEYS, MomdProcess, ksm_sysfs_guard, libvirt_test_host, momd_config, wait_for


def test_wait_for_names_what_it_waited_for():
    assert wait_for(lambda: 42, timeout=0) == 42
    with pytest.raises(AssertionError, match=r"^the answer: not met within 0.1 s$"):
        wait_for(lambda: 0, timeout=0.1, step=0.02, what="the answer")
    with pytest.raises(AssertionError, match=r"^late, said the callable: not met"):
        wait_for(lambda: None, timeout=0, what=lambda: "late, said the callable")


def test_momd_config_sets_every_interval_and_takes_sections(tmp_path):
    path = tmp_path / "momd.conf"
    momd_config(
        "test:///default",
        path,
        interval="0.5",
        main={"controllers": "Balloon"},
        sections={"host": {"collectors": "HostMemory"}, "Collector: GuestNetworkDaemon": {"port": "1"}},
    )
    written = configparser.ConfigParser(interpolation=None)
    written.read(path)
    assert {key: written.get("main", key) for key in INTERVAL_KEYS} == dict.fromkeys(INTERVAL_KEYS, "0.5")
    assert written.get("main", "libvirt-hypervisor-uri") == "test:///default"
    assert written.get("main", "rpc-port") == "-1" and written.get("main", "controllers") == "Balloon"
    assert written.get("host", "collectors") == "HostMemory"
    assert written.get("guest", "collectors") == "GuestMemory, GuestBalloon"
    assert written.get("Collector: GuestNetworkDaemon", "port") == "1"
    assert not momd_config("test:///default", interval=None, verbosity=None).has_section("logging")


def test_momd_process_is_stopped_when_its_block_fails(tmp_path):
    host = tmp_path / "host.xml"
    libvirt_test_host(str(host), 1)
    sock = str(tmp_path / "momd.sock")
    momd_config(f"test://{host}", tmp_path / "momd.conf", rpc_port=sock)
    with pytest.raises(RuntimeError, match="the test failed"):
        with MomdProcess(str(tmp_path / "momd.conf"), str(tmp_path / "momd.log")) as momd:
            assert momd.wait_answering(lambda: UnixXmlRpcClient(sock, 2).ping()) is True
            raise RuntimeError("the test failed")
    assert not momd.alive() and momd.process.returncode == 0
    assert "MOM ending" in momd.log()


def test_wait_answering_shows_the_log_of_a_momd_that_exited(tmp_path):
    momd_config("test:///default", tmp_path / "momd.conf", main={"policy-engine-interval": "soon"})
    with MomdProcess(str(tmp_path / "momd.conf"), str(tmp_path / "momd.log")) as momd:
        with pytest.raises(AssertionError, match=r"(?s)momd exited \(status 1\) before it answered.*'soon'"):
            momd.wait_answering(lambda: None)  # never answers: momd exits first


def fake_ksm(root, **values):
    """A KSM sysfs directory of plain files, written without the newline KsmSysfs.write adds."""
    for key, value in values.items():
        (root / key).write_text(value)


def test_ksm_guard_restores_what_changed_and_leaves_the_rest(tmp_path):
    fake_ksm(tmp_path, run="1", pages_to_scan="100", sleep_millisecs="20", advisor_mode="[none] scan-time")
    with ksm_sysfs_guard(str(tmp_path), lock=False) as sysfs:
        sysfs.write("pages_to_scan", 5000)
        sysfs.write("advisor_mode", "scan-time")
        (tmp_path / "advisor_mode").write_text("none [scan-time]")  # as the kernel shows it
    assert (tmp_path / "pages_to_scan").read_text() == "100\n"
    assert (tmp_path / "advisor_mode").read_text() == "none\n"  # (the kernel would show "[none] scan-time")
    # untouched knobs are not written at all
    assert (tmp_path / "run").read_text() == "1" and (tmp_path / "sleep_millisecs").read_text() == "20"


def test_ksm_guard_unmerges_when_ksm_was_off(tmp_path):
    fake_ksm(tmp_path, run="0", pages_shared="0")
    with ksm_sysfs_guard(str(tmp_path), lock=False) as sysfs:
        assert sysfs.read("run") == "0"
    assert (tmp_path / "run").read_text() == "0"  # nothing ran: nothing written
    with ksm_sysfs_guard(str(tmp_path), lock=False) as sysfs:
        sysfs.write("run", 1)
        (tmp_path / "pages_shared").write_text("7")
        sysfs.write("run", 0)  # stopped, but pages stay merged
    # KsmSysfs writes run=2 (unmerge) and then 0; a plain file keeps the last
    assert (tmp_path / "run").read_text() == "0\n"
