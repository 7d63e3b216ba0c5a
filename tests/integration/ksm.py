"""KSM for tests on real guests: its knobs, and setting them for a while.

Every test that writes /sys/kernel/mm/ksm holds the project's KSM lock while it runs and
restores every tunable it changed: :func:`tests.helpers.ksm_sysfs_guard` does both, and
``ksm_tuning`` is that guard plus the writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mom.plugins import ksm_sysfs
from tests.helpers import ksm_settings, ksm_sysfs_guard

__all__ = ["KSM_DIR", "ksm_settings", "ksm_tuning", "read_ksm"]

KSM_DIR = Path(ksm_sysfs.KSM_DIR)


def read_ksm(knob: str) -> str:
    """The text of /sys/kernel/mm/ksm/KNOB."""
    return (KSM_DIR / knob).read_text().strip()


@contextmanager
def ksm_tuning(lock: bool = True, lock_timeout: float = 300.0, **values: int) -> Iterator[dict[str, str]]:
    """Set KSM knobs (e.g. run=1, pages_to_scan=5000) and restore every tunable on exit.

    Holds the project's KSM lock unless LOCK is false (the caller holds it then). Yields
    the tunables as they were. The advisor, if any, is set to "none" meanwhile: it
    rewrites pages_to_scan by itself and refuses manual values. If KSM was off, it
    unmerges on exit (see ``ksm_sysfs_guard``), so no merged pages are left behind.
    """
    with ksm_sysfs_guard(lock=lock, timeout=lock_timeout) as sysfs:
        saved = ksm_settings(sysfs)
        if sysfs.advisor_active():
            sysfs.write("advisor_mode", "none")
        # run last, so the scan starts with the new rate
        for knob, value in sorted(values.items(), key=lambda item: item[0] == "run"):
            sysfs.write(knob, value)
        yield saved
