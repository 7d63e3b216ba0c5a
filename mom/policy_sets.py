"""Shipped policy sets, and how a policy-directory value names a set or a directory.

A policy set is a directory of ``.policy`` files shipped inside the package
(``mom/policies/<name>/``, package data found through :mod:`importlib.resources`).
Wherever a policy directory is taken (``momd -P``, ``[main] policy-dir``, ``mom-sim -P``,
a scenario's ``policy-dir``, ``mom-policy check``/``eval``/``repl``), the value is read
by one rule, :func:`resolve_policy_dir`:

1. a value naming an existing directory is that directory, exactly as given (upstream's
   ``policy-dir`` is a path, and every path keeps working unchanged);
2. else a bare name (no ``/``) of a shipped set is that set's directory;
3. else it is a path, and reading it fails as it always did; :func:`missing_reason`
   then says why, listing the shipped sets for a bare name.
"""

from __future__ import annotations

import os
import pathlib
from importlib import resources

from mom.errors import MomError

__all__ = [
    "DEFAULT_SET",
    "PolicySetError",
    "shipped_sets",
    "shipped_set_dir",
    "resolve_policy_dir",
    "missing_reason",
]

#: the set equivalent to vdsm's six policies: mom-sim's default.  (momd's own
#: ``policy-dir`` default stays empty, as upstream's: no policy unless configured.)
DEFAULT_SET = "vdsm"

#: where the sets live: ``<package>/<directory>/<set name>/*.policy``
_PACKAGE, _DIRECTORY = "mom", "policies"


class PolicySetError(MomError):
    """No shipped policy set of that name (the message lists the shipped ones)."""


def _sets_root() -> str:
    root = resources.files(_PACKAGE) / _DIRECTORY
    # momd lists and re-reads a policy directory (resetPolicies), so a set must be a
    # real directory; pip always installs a package as plain files, never zipped
    if not isinstance(root, pathlib.Path):
        raise PolicySetError(f"the shipped policy sets are not plain files ({root}): install mom unzipped")
    return str(root)


def shipped_sets() -> tuple[str, ...]:
    """The names of the shipped policy sets, sorted."""
    root = _sets_root()
    try:
        entries = sorted(os.listdir(root))
    except OSError:
        return ()
    return tuple(
        entry for entry in entries if not entry.startswith((".", "_")) and os.path.isdir(os.path.join(root, entry))
    )


def _is_bare_name(value: str) -> bool:
    return bool(value) and "/" not in value and os.sep not in value and value not in (".", "..")


def shipped_set_dir(name: str) -> str:
    """The directory of the shipped set ``name``; PolicySetError if there is none."""
    sets = shipped_sets()
    if not _is_bare_name(name) or name not in sets:
        raise PolicySetError(f"no shipped policy set {name!r} (shipped: {', '.join(sets) or 'none'})")
    return os.path.join(_sets_root(), name)


def resolve_policy_dir(value: str, base: str = "") -> str:
    """The directory a policy-directory value stands for (the rule in the module docstring).

    ``base`` is what a relative path is relative to (a scenario file's directory); by
    default the current directory, and the path is returned as given.  ``''`` stays
    ``''`` (no policy directory).
    """
    if not value:
        return value
    path = os.path.join(base, value) if base else value
    if os.path.isdir(path) or not _is_bare_name(value) or value not in shipped_sets():
        return path
    return os.path.join(_sets_root(), value)


def missing_reason(value: str, base: str = "") -> str | None:
    """Why a bare ``value`` names no policy directory, listing the shipped sets; else None.

    None too for a value with a ``/``: that is a path, and reading it says what is wrong.
    """
    if not _is_bare_name(value) or os.path.isdir(resolve_policy_dir(value, base)):
        return None
    return f"{value!r} is neither a directory nor a shipped policy set (shipped: {', '.join(shipped_sets()) or 'none'})"
