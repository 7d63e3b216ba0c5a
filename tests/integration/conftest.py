"""Fixtures for tests against real components: ``realstack`` boots real QEMU guests.

``MOM_REALSTACK`` chooses: unset/``auto`` runs them where possible and skips (with the
reason, shown by ``pytest -rs``) where QEMU cannot run; ``0`` skips them; ``1`` turns
"cannot run here" into a failure.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration import realstack as rs

#: the session's guests: 3 x 256 MiB, TCG on this machine (~180 MiB of host RSS each)
GUESTS = tuple(
    rs.GuestSpec(f"{rs.DEFAULT_PREFIX}g{i}", memory_mib=256, stats_period=2, fill_mib=32, mem_period=1)
    for i in (1, 2, 3)
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "realstack: boots real QEMU guests under libvirtd (MOM_REALSTACK=0 skips)")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if rs.TIMINGS:
        terminalreporter.section("real guests: timings")
        for step, seconds in rs.TIMINGS:
            terminalreporter.write_line(f"{seconds:7.1f} s  {step}")


def _mode() -> str:
    value = os.environ.get("MOM_REALSTACK", "auto").strip().lower()
    if value in ("", "auto"):
        return "auto"
    if value in ("0", "no", "off", "false"):
        return "off"
    if value in ("1", "yes", "on", "true", "require"):
        return "require"
    raise pytest.UsageError(f"MOM_REALSTACK must be auto, 0 or 1, not {value!r}")


class _Terminated(KeyboardInterrupt):
    """SIGTERM during the session: unwind like Ctrl-C so the guests are torn down."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise _Terminated(f"signal {signum}")


@pytest.fixture(scope="session")
def realstack() -> Iterator[rs.RealStack]:
    """libvirtd plus GUESTS, booted to GUEST-READY; always torn down after the session.

    Yields the RealStack: ``.uri`` (qemu:///system), ``.guests`` (names), ``.specs``,
    ``.virt_type``, ``latest_mem(name)``, ``wait_mem(...)``, ``qemu_pid(name)``, ``serial_log(name)``.
    """
    mode = _mode()
    if mode == "off":
        pytest.skip("real QEMU guests disabled by MOM_REALSTACK=0")
    import libvirt  # noqa: F401  (a declared test dependency: fail loudly if missing)

    previous_term = None
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        previous_term = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        with rs.exclusive_lock(rs.SESSION_LOCK, 600.0, "test session using real guests"):
            stack = rs.RealStack()
            try:
                stack.provision()
            except rs.StackUnavailable as why:
                stack.close()
                if mode == "require":
                    pytest.fail(f"MOM_REALSTACK=1 but real QEMU guests cannot run here: {why}")
                pytest.skip(f"real QEMU guests cannot run here: {why}")
            try:
                stack.reap_after(rs.SESSION_LOCK)
                stack.start_libvirtd()
                stack.start_guests(GUESTS)
                yield stack
            finally:
                stack.close()
    finally:
        if previous_term is not None:
            signal.signal(signal.SIGTERM, previous_term)


@pytest.fixture
def conn(realstack: rs.RealStack) -> Any:
    """A libvirt connection to the stack's daemon (qemu:///system), reopened if libvirtd restarted."""
    return realstack.connection()
