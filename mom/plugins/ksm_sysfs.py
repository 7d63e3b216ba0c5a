"""The kernel's KSM knobs in ``/sys/kernel/mm/ksm`` (read by HostKSM, written by ksmTune).

Values are integers (``run``: 0 stop, 1 run, 2 unmerge; ``pages_to_scan`` pages per
wake-up; ``sleep_millisecs`` ms between wake-ups).  ``advisor_mode`` is text
(``[none] scan-time``): when the kernel's advisor is on, it rewrites ``pages_to_scan``
itself.
"""

from __future__ import annotations

import os

__all__ = ["KSM_DIR", "KsmSysfs"]

KSM_DIR = "/sys/kernel/mm/ksm"


class KsmSysfs:
    """Read and write one KSM sysfs directory (the real one by default)."""

    def __init__(self, root: str = KSM_DIR) -> None:
        self.root = root

    def path(self, key: str) -> str:
        if "/" in key or key.startswith("."):
            raise ValueError(f"invalid KSM key {key!r}")
        return os.path.join(self.root, key)

    def read(self, key: str) -> str:
        with open(self.path(key), encoding="ascii") as handle:
            return handle.read().strip()

    def read_int(self, key: str) -> int:
        return int(self.read(key))

    def write(self, key: str, value: int | str) -> None:
        """Write one knob; OSError (EBUSY, EINVAL, EACCES...) propagates."""
        with open(self.path(key), "w", encoding="ascii") as handle:
            handle.write(f"{value}\n")

    def advisor_mode(self) -> str | None:
        """The selected advisor (``none``, ``scan-time``), or None on kernels without one."""
        try:
            text = self.read("advisor_mode")
        except OSError:
            return None
        for word in text.split():
            if word.startswith("[") and word.endswith("]"):
                return word[1:-1]
        return text or None

    def advisor_active(self) -> bool:
        """True when the kernel's advisor owns ``pages_to_scan``."""
        mode = self.advisor_mode()
        return mode not in (None, "none")
