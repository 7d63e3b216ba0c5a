"""``mom-policy eval``: load policy files as named policies, evaluate once, report controls.

This is the job of vdsm's offline policy validator: the files go into a
:class:`~mom.runtime.policy_store.PolicyStore` under upstream's policy-dir names, so the
concatenation, its order and vdsm's ``setNamedPolicy("01-parameters", ...)`` behave
as in the daemon; then one evaluation runs on entities built from JSON.  Errors are
reported against the file they come from, not the concatenation.
"""

from __future__ import annotations

import logging
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any, Sequence

from mom.dsl.lint import read_unit
from mom.dsl.reader import Source
from mom.errors import MomError, describe_error
from mom.plugins.controllers.io_tune import changed_disks
from mom.policy_files import policy_name, read_text
from mom.runtime.entity import Entity
from mom.runtime.policy_store import PolicyStore

__all__ = ["PolicyFile", "PolicyLoadError", "read_policy_files", "evaluate_policies"]

#: the policy vdsm replaces with setNamedPolicy
PARAMETERS_POLICY = "01-parameters"


@dataclass(frozen=True)
class PolicyFile:
    """A policy text and where it came from."""

    path: str
    name: str
    text: str


class PolicyLoadError(MomError):
    """The policies do not load (a parse error, or two files with one policy name)."""


def read_policy_files(paths: Sequence[str]) -> list[PolicyFile]:
    """Read policy files as text; UnreadableFileError for a file that cannot be read."""
    files = []
    for path in paths:
        files.append(PolicyFile(path, policy_name(path), read_text(path)))
    return files


def _quiet_logger() -> logging.Logger:
    """A logger for the store that emits nothing: this tool reports the store's errors
    and warnings itself, placed in their files (see ``PolicyStore.last_error``)."""
    logger = logging.Logger("mom-policy eval")  # not in the logging tree: no handlers, no parent
    logger.disabled = True
    return logger


class _Locator:
    """Maps a (line, column) of the store's concatenated text back to a file."""

    def __init__(self, store: PolicyStore, origins: dict[str, str]) -> None:
        self.starts: list[int] = []
        self.origins: list[str] = []
        line = 1
        for name in sorted(store.policy_strings):
            self.starts.append(line)
            self.origins.append(origins.get(name, name))
            line += store.policy_strings[name].count("\n") + 1

    def __call__(self, position: tuple[int, int]) -> str | None:
        line, column = position
        index = bisect_right(self.starts, line) - 1
        if index < 0:
            return None
        return f"{self.origins[index]}:{line - self.starts[index] + 1}:{column}"


def describe_located(error: BaseException, locate: _Locator) -> str:
    """``describe_error`` with the position given as FILE:LINE:COL of the right file."""
    position = getattr(error, "position", None)
    where = locate(position) if position is not None else None
    if where is None:
        return describe_error(error)
    error.position = None  # type: ignore[attr-defined]
    try:
        return f"{where}: {describe_error(error)}"
    finally:
        error.position = position  # type: ignore[attr-defined]


def load_store(files: Sequence[PolicyFile], parameters: str | None = None) -> tuple[PolicyStore, _Locator, list[str]]:
    """A store holding the files (and the parameters policy); also warnings to show.

    Raises PolicyLoadError, with every file's parse error, if something does not load.
    """
    origins: dict[str, str] = {}
    problems: list[str] = []
    warnings: list[str] = []
    sources = [(f.path, f.name, f.text) for f in files]
    if parameters is not None:
        sources.append(("--parameters", PARAMETERS_POLICY, parameters))
    for path, name, text in sources:
        if name in origins and path != "--parameters":
            problems.append(f"{path}: policy name {name!r} is also the name of {origins[name]}")
            continue
        origins[name] = path
        result, diagnostics = read_unit(text)
        source = result.source if result is not None else Source(text)
        for diagnostic in diagnostics:
            line, column = source.position(diagnostic.offset)
            message = f"{path}:{line}:{column}: {diagnostic.severity}: {diagnostic.message}"
            (problems if diagnostic.severity == "error" else warnings).append(message)
    if problems:
        raise PolicyLoadError("\n".join(problems))
    store = PolicyStore(logger=_quiet_logger())
    for path, name, text in sources:
        if not store.set_policy(name, text):
            raise PolicyLoadError(f"{path}: does not load: {describe_error(store.last_error)}")  # type: ignore[arg-type]
    return store, _Locator(store, origins), warnings


def evaluate_policies(
    files: Sequence[PolicyFile], host: Entity, guests: Sequence[Entity], parameters: str | None = None
) -> tuple[dict[str, Any], list[str]]:
    """Load, evaluate once, and return the JSON-ready result and warnings to show.

    The result is ``{"ok", "host": controls, "guests": {name: controls}, "io_tune":
    {name: [changed disks]}}``, plus ``"error"`` when the evaluation failed (controls
    set before the failure are kept, as upstream keeps them on the entities).
    """
    store, locate, warnings = load_store(files, parameters)
    result: dict[str, Any] = {"ok": store.evaluate(host, guests)}
    if not result["ok"]:
        result["error"] = describe_located(store.last_error, locate)  # type: ignore[arg-type]
    result["host"] = dict(host.controls)
    result["guests"] = {guest.properties["name"]: dict(guest.controls) for guest in guests}
    changes = {}
    for guest in guests:
        changed = changed_disks(guest)
        if changed is not None:
            changes[guest.properties["name"]] = changed
    result["io_tune"] = changes
    return result, warnings
