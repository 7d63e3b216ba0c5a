"""Faults on real components around a real momd: each gives a clear error, and momd goes on.

- plot-dir on a filesystem that fills up while momd writes, and on a read-only one
  (a tmpfs mounted here: these tests need root, and say so when they cannot mount);
- a guest destroyed between collection and control (libvirt's test driver, the guest
  destroyed by a controller that runs before Balloon);
- vdsm unreachable for a while and back: tests/vdsm/test_momd_on_vdsm.py
  (``test_vdsm_down_restarting_vanishing_and_slow_never_stop_momd``).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import textwrap
from pathlib import Path
from typing import Iterator

import pytest

from mom.rpc.client import UnixXmlRpcClient
from tests.helpers import MomdProcess, libvirt_test_host, momd_config, wait_for

SHRINK = '(with Guests guest (guest.Control "balloon_target" (- guest.balloon_cur 1024)))\n'


def start(tmp_path: Path, main: dict[str, str], env: dict[str, str] | None = None, guests: int = 2) -> MomdProcess:
    host_xml = tmp_path / "host.xml"
    libvirt_test_host(str(host_xml), guests)
    (tmp_path / "shrink.policy").write_text(SHRINK)
    sock = str(tmp_path / "mom.sock")
    momd_config(
        f"test://{host_xml}",
        tmp_path / "mom.conf",
        interval="0.2",
        rpc_port=sock,
        host="HostMemory, HostTime",
        guest="GuestMemory, GuestBalloon",
        main={"controllers": "Balloon", "policy": str(tmp_path / "shrink.policy"), **main},
    )
    process = MomdProcess(str(tmp_path / "mom.conf"), str(tmp_path / "momd.log"), env=env).start()
    process.wait_answering(UnixXmlRpcClient(sock, 5).ping)
    return process


def client(tmp_path: Path) -> UnixXmlRpcClient:
    return UnixXmlRpcClient(str(tmp_path / "mom.sock"), 5)


def still_managing(tmp_path: Path, process: MomdProcess) -> None:
    """momd answers, its threads live, and the policy keeps shrinking the balloons."""
    rpc = client(tmp_path)
    first = rpc.getStatistics()["host"]["time_microsecond"]
    start_balloon = {name: g["balloon_cur"] for name, g in rpc.getStatistics()["guests"].items()}
    wait_for(
        lambda: any(
            g["balloon_cur"] < start_balloon.get(name, 0) for name, g in rpc.getStatistics()["guests"].items()
        ),
        20,
        what=lambda: process.log()[-2000:],
    )
    wait_for(lambda: rpc.getStatistics()["host"]["time_microsecond"] != first, 20)  # the host monitor ticks
    assert process.alive() and "has exited" not in process.log()


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted on ``path`` (root only)."""
    path.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root: run as root to test plot-dir on a full or read-only filesystem")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(directory: Path) -> Path:
    """Fill the filesystem of ``directory``; the file that filled it."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass  # full
    finally:
        os.close(fd)
    return filler


def test_plot_dir_filling_up_and_freed(tmp_path):
    with tmpfs(tmp_path / "plots", "256k") as plots:
        process = start(tmp_path, {"plot-dir": str(plots)})
        with process:
            subdir = plots / "momplot-001"
            wait_for(lambda: (subdir / "HostMonitor.dat").exists() and (subdir / "HostMonitor.dat").stat().st_size > 0)
            filler = fill(plots)
            wait_for(lambda: "No space left on device" in process.log(), 20, what=lambda: process.log()[-2000:])
            still_managing(tmp_path, process)
            full_log = process.log()
            # one warning per plot file when writing starts to fail, not one per sample
            failures = [line for line in full_log.splitlines() if "Cannot write plot file" in line]
            assert failures and len(failures) <= 3, failures[:10]
            assert all(" - WARNING - " in line and "No space left on device" in line for line in failures)
            # (which files fail depends on the moment: an append within a page tmpfs has
            # already given the file needs no new space)
            failed_files = [line.split("Cannot write plot file ")[1].split(":")[0] for line in failures]
            assert len(set(failed_files)) == len(failed_files), failures
            size = (subdir / "HostMonitor.dat").stat().st_size
            filler.unlink()
            wait_for(lambda: (subdir / "HostMonitor.dat").stat().st_size > size, 20)  # writing again
            wait_for(lambda: "Writing plot file" in process.log(), 10)
            assert process.stop() == 0


def test_plot_dir_on_a_read_only_filesystem(tmp_path):
    with tmpfs(tmp_path / "plots", "64k") as plots:
        subprocess.run(["mount", "-o", "remount,ro", str(plots)], check=True)
        process = start(tmp_path, {"plot-dir": str(plots)})
        with process:
            still_managing(tmp_path, process)
            log = process.log()
            assert f"Cannot create plot-dir {plots}/momplot-001: Read-only file system" in log
            assert "Cannot write plot file" not in log  # no plotting at all, said once
            assert process.stop() == 0


DESTROYER = """
    import logging

    class SiteDestroyFirstGuest:
        '''Destroys vm0000 once, after collection and before the Balloon controller runs.'''
        def __init__(self, properties):
            self.iface = properties['hypervisor_iface']
            self.done = False
        def process(self, host, guests):
            if not self.done and any(g.Prop('name') == 'vm0000' for g in guests):
                self.iface.conn.lookupByName('vm0000').destroy()
                self.done = True
                logging.getLogger('mom.SiteDestroy').warning('destroyed vm0000 between collection and control')
"""


def test_a_guest_destroyed_between_collection_and_control(tmp_path):
    site = tmp_path / "site" / "mom" / "Controllers"
    site.mkdir(parents=True)
    (site / "SiteDestroyFirstGuest.py").write_text(textwrap.dedent(DESTROYER))
    process = start(
        tmp_path, {"controllers": "SiteDestroyFirstGuest, Balloon"}, env={"PYTHONPATH": str(tmp_path / "site")}
    )
    with process:
        rpc = client(tmp_path)
        wait_for(lambda: "destroyed vm0000" in process.log(), 20, what=lambda: process.log()[-2000:])
        # the guest goes from the active list; the other one is still managed
        wait_for(lambda: rpc.getActiveGuests() == ["vm0001"], 20, what=lambda: process.log()[-2000:])
        before = rpc.getStatistics()["guests"]["vm0001"]["balloon_cur"]
        wait_for(lambda: rpc.getStatistics()["guests"]["vm0001"]["balloon_cur"] < before, 20)
        assert process.alive() and "has exited" not in process.log()
        assert process.stop() == 0
    log = process.log()
    balloon_errors = [line for line in log.splitlines() if "vm0000" in line and " - ERROR - " in line]
    assert all("Traceback" not in line for line in balloon_errors)
    assert "Policy error" not in log
