"""The workplace's shared material: ``../shared`` from the project root.

Tests read the spec's policies, configurations and golden outputs from there.  A missing
file fails loudly at collection, never as an empty list of cases that silently passes.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["SHARED", "shared_files", "shared_path"]

SHARED = Path(__file__).resolve().parents[2] / "shared"


def shared_path(*parts: str) -> Path:
    """``../shared/<parts>``; FileNotFoundError if it is not there."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"shared material not found: {path} (the project expects ../shared beside it)")
    return path


def shared_files(pattern: str, *parts: str) -> list[Path]:
    """The files in ``../shared/<parts>`` that match ``pattern``, sorted; FileNotFoundError if none."""
    directory = shared_path(*parts)
    found = sorted(directory.glob(pattern))
    if not found:
        raise FileNotFoundError(f"no shared material matches {directory / pattern}")
    return found
