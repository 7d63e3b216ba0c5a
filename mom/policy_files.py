"""Policy files: reading one as text, and the policy name a file gives (spec 5.6).

Shared by the daemon's policy engine (``policy`` and ``policy-dir``), ``momctl`` and
``mom-policy``, so that a file that cannot be read is reported the same way
everywhere: a clear reason, never a traceback, and the other files still load.
"""

from __future__ import annotations

import os

from mom.errors import MomError

__all__ = ["UnreadableFileError", "read_text", "policy_name", "policy_name_from_file", "policy_dir_files"]


class UnreadableFileError(MomError, OSError):
    """A file cannot be read as text: missing, not readable, or not UTF-8.

    An OSError, so that callers which handle read errors handle this one too.
    """


def read_text(path: str) -> str:
    """A file's UTF-8 text; UnreadableFileError says why it cannot be read."""
    try:
        with open(path, encoding="utf-8") as stream:
            return stream.read()
    except OSError as error:
        raise UnreadableFileError(f"{path}: cannot read: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise UnreadableFileError(f"{path}: not UTF-8 text: {error.reason} at byte {error.start}") from None


def policy_name(path: str) -> str:
    """The name a policy file is stored under: its file name before the first ``.policy``.

    ``01-parameters.policy`` gives ``01-parameters``, ``a.policy.policy`` gives ``a``;
    a name without ``.policy`` is kept whole.
    """
    base = os.path.basename(path)
    index = base.find(".policy")
    return base[:index] if index >= 0 else base


def policy_name_from_file(filename: str) -> str | None:
    """The policy name of a ``policy-dir`` entry; None for a file the daemon skips
    (one not ending in ``.policy``, or hidden)."""
    if not filename.endswith(".policy") or filename.startswith("."):
        return None
    return policy_name(filename)


def policy_dir_files(directory: str) -> list[str]:
    """The paths of a ``policy-dir``'s policy files, in sorted file-name order (the
    daemon's load order); OSError if the directory cannot be listed."""
    return [
        os.path.join(directory, filename)
        for filename in sorted(os.listdir(directory))
        if policy_name_from_file(filename) is not None
    ]
