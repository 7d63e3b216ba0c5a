"""KSM for tests: the project's lock on /sys/kernel/mm/ksm, its tunables, and setting them for a while.

Every test that writes /sys/kernel/mm/ksm holds ``KSM_LOCK`` (an flock) while it runs and
restores every value it changed; ``ksm_tuning`` does both.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from tests.integration.realstack import exclusive_lock

__all__ = ["KSM_DIR", "KSM_LOCK", "KSM_SETTINGS", "ksm_settings", "ksm_tuning", "read_ksm"]

#: the project-wide lock for anything that writes /sys/kernel/mm/ksm
KSM_LOCK = Path("/tmp/mom-test-ksm.lock")
KSM_DIR = Path("/sys/kernel/mm/ksm")


def read_ksm(knob: str) -> str:
    """The text of /sys/kernel/mm/ksm/KNOB."""
    return (KSM_DIR / knob).read_text().strip()


#: KSM's tunables (not its counters): what a test must leave as it found it
KSM_SETTINGS = (
    "run",
    "pages_to_scan",
    "sleep_millisecs",
    "max_page_sharing",
    "merge_across_nodes",
    "use_zero_pages",
    "stable_node_chains_prune_millisecs",
    "smart_scan",
    "advisor_mode",
    "advisor_max_cpu",
    "advisor_min_pages_to_scan",
    "advisor_max_pages_to_scan",
    "advisor_target_scan_time",
)


def ksm_settings() -> dict[str, str]:
    """Every KSM tunable this kernel has, as text."""
    return {knob: read_ksm(knob) for knob in KSM_SETTINGS if (KSM_DIR / knob).exists()}


def _advisor_mode() -> str | None:
    """The selected KSM advisor ("none", "scan-time"), or None on kernels without one."""
    if not (KSM_DIR / "advisor_mode").exists():
        return None
    text = read_ksm("advisor_mode")
    match = re.search(r"\[(\S+)\]", text)
    return match.group(1) if match else text


@contextmanager
def ksm_tuning(lock: bool = True, lock_timeout: float = 300.0, **values: int) -> Iterator[dict[str, str]]:
    """Set KSM knobs (e.g. run=1, pages_to_scan=5000) and restore them on exit.

    Holds the project's KSM lock unless LOCK is false (the caller holds it then). Yields
    the original values of the knobs written. If KSM was off (run=0) it is first told to
    unmerge (run=2), so no merged pages are left behind. The advisor, if any, is set to
    "none" meanwhile: it rewrites pages_to_scan by itself and refuses manual values.
    """
    with exclusive_lock(KSM_LOCK, lock_timeout, "KSM user") if lock else nullcontext():
        saved = {knob: read_ksm(knob) for knob in ("run", *values)}
        advisor = _advisor_mode()
        try:
            if advisor not in (None, "none"):
                (KSM_DIR / "advisor_mode").write_text("none")
            # run last, so the scan starts with the new rate
            for knob, value in sorted(values.items(), key=lambda item: item[0] == "run"):
                (KSM_DIR / knob).write_text(str(value))
            yield dict(saved)
        finally:
            if saved["run"] == "0":
                (KSM_DIR / "run").write_text("2")  # returns once everything is unmerged
            for knob, value in saved.items():
                if knob != "run":
                    (KSM_DIR / knob).write_text(value)
            if advisor not in (None, "none"):
                (KSM_DIR / "advisor_mode").write_text(advisor)
            (KSM_DIR / "run").write_text(saved["run"])
