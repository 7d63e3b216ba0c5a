"""The real-guest plumbing without booting anything: scripts' exit protocol, serial-log parsing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import ksm_lock
from tests.integration import ksm
from tests.integration import realstack as rs


def as_nobody(*command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run a script as an unprivileged user")
    return subprocess.run(
        [
            "setpriv",
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            "env",
            *(f"{k}={v}" for k, v in env.items()),
            *command,
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_provision_reports_cannot_run_with_the_skip_status(tmp_path: Path) -> None:
    tmp_path.chmod(0o777)
    proc = as_nobody("bash", str(rs.SCRIPTS / "provision.sh"), env={"MOM_REALSTACK_DIR": str(tmp_path / "stack")})
    assert proc.returncode == rs.SKIP_STATUS
    assert "realstack: SKIP: needs root" in proc.stderr
    assert not (tmp_path / "stack").exists()  # nothing was attempted


def test_script_failures_raise_stack_error_with_the_reason() -> None:
    with pytest.raises(rs.StackError, match="MOM_REALSTACK_VIRT must be auto, kvm or qemu, not 'xen'"):
        rs.run_script("detect-virt.sh", env={"MOM_REALSTACK_VIRT": "xen"})


@pytest.mark.parametrize("forced", ["kvm", "qemu"])
def test_domain_type_can_be_forced(forced: str) -> None:
    assert rs.run_script("detect-virt.sh", env={"MOM_REALSTACK_VIRT": forced}).strip() == forced


def test_latest_mem_is_the_last_complete_line(tmp_path: Path) -> None:
    stack = rs.RealStack(directory=tmp_path)
    stack.run_dir.mkdir()
    assert stack.latest_mem("mom-rs-x") is None  # no log yet
    stack.serial_log("mom-rs-x").write_bytes(
        b"[    0.000000] Linux version 6.1.0\r\nFILLED 32 MiB\r\nGUEST-READY 6.17\r\n"
        b"MEM 6.18 210732 150748 153896\r\nMEM 7.22 145196 85228 88376\r\n"
        b"MEM 8.2"  # being written: not a sample yet
    )
    assert stack.latest_mem("mom-rs-x") == rs.MemSample(7.22, 145196, 85228, 88376)
    stack.close()


def test_balloon_unload_outcome_is_read_from_the_serial_log(tmp_path: Path) -> None:
    stack = rs.RealStack(directory=tmp_path)
    stack.run_dir.mkdir()
    with pytest.raises(rs.StackError, match="did not unload its balloon driver within 0 s"):
        stack.wait_balloon_unloaded("mom-rs-x", timeout=0)
    stack.serial_log("mom-rs-x").write_bytes(b"GUEST-READY 3.1\r\nMEM 44.9 1 1 1\r\nBALLOON-UNLOADED 45.02\r\n")
    assert stack.wait_balloon_unloaded("mom-rs-x", timeout=0) == 45.02
    stack.serial_log("mom-rs-y").write_bytes(
        b"GUEST-READY 3.1\r\nBALLOON-UNLOAD-FAILED rmmod: can't unload module 'virtio_balloon': busy\r\n"
    )
    with pytest.raises(rs.StackError, match="mom-rs-y could not unload its balloon driver: rmmod: can't unload"):
        stack.wait_balloon_unloaded("mom-rs-y", timeout=0)
    stack.close()


def test_guest_names_must_carry_the_prefix(tmp_path: Path) -> None:
    stack = rs.RealStack(directory=tmp_path)
    with pytest.raises(ValueError, match="must start with 'mom-rs-'"):
        stack.start_guests([rs.GuestSpec("other-g1")])
    stack.close()


def test_domain_xml_for_tcg_caps_the_translation_cache(tmp_path: Path) -> None:
    spec = rs.GuestSpec("mom-rs-a&b", memory_mib=192, stats_period=5, fill_mib=8, mem_period=3, unload_balloon_at=40)
    tcg = rs.domain_xml(spec, "qemu", tmp_path / "guest", tmp_path / "run")
    kvm = rs.domain_xml(spec, "kvm", tmp_path / "guest", tmp_path / "run")
    assert '<domain type="qemu">' in tcg and "<tb-cache unit='MiB'>32</tb-cache>" in tcg
    assert '<domain type="kvm">' in kvm and "tb-cache" not in kvm
    assert "<name>mom-rs-a&amp;b</name>" in tcg
    assert "<memory unit='MiB'>192</memory>" in tcg and "<stats period='5'/>" in tcg
    assert "mom_fill_mib=8 mom_mem_period=3 mom_unload_balloon=40" in tcg and "no_timer_check panic=-1" in tcg
    assert "<on_reboot>destroy</on_reboot>" in tcg
    assert f'<source file="{tmp_path / "run" / "mom-rs-a&amp;b.img"}"/>' in tcg


def test_ksm_tuning_restores_every_tunable_even_on_error() -> None:
    if not os.access(ksm.KSM_DIR / "pages_to_scan", os.W_OK):
        pytest.skip(f"{ksm.KSM_DIR} is not writable here")
    with ksm_lock():
        before = ksm.ksm_settings()
        with (
            pytest.raises(RuntimeError, match="boom"),
            ksm.ksm_tuning(lock=False, pages_to_scan=1234, sleep_millisecs=7),
        ):
            assert (ksm.read_ksm("pages_to_scan"), ksm.read_ksm("sleep_millisecs")) == ("1234", "7")
            raise RuntimeError("boom")
        assert ksm.ksm_settings() == before
