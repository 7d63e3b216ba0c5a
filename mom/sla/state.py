"""The state file (``[main] state-file``): the SLAs set over RPC, kept across restarts.

JSON, ``{"version": 1, "guests": {uuid: {"name": ..., "class": ..., ...}}}`` (plus one
key per other part that keeps state there: ``"lifecycle"``, see :meth:`StateFile.save_section`), written
atomically: a temporary file in the same directory, fsync, rename, fsync of the
directory.  A file that cannot be read or parsed is an error the caller logs: the
daemon then starts without RPC-set SLAs, and the bad file is moved aside (``.corrupt``)
before the next write, never silently overwritten.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from typing import Any

from mom.errors import MomError

__all__ = ["StateError", "StateFile", "STATE_VERSION"]

STATE_VERSION = 1


class StateError(MomError, OSError):
    """The state file cannot be read, parsed or written (the message says which and why)."""


class StateFile:
    """Reads and writes the RPC-set SLAs; ``path`` '' keeps them in memory only."""

    def __init__(self, path: str) -> None:
        self.path = path
        #: the file on disk could not be used: move it aside before writing over it
        self._unusable = False
        #: what the file holds, so that each part's save keeps the others' (one writer at a time)
        self._guests: dict[str, dict[str, Any]] = {}
        self._sections: dict[str, Any] = {}
        self._lock = threading.Lock()

    def load(self) -> dict[str, dict[str, Any]]:
        """uuid -> the values set for it; {} if there is no file yet.

        :raises StateError: unreadable or not a state file (the daemon goes on without)
        """
        if not self.path:
            return {}
        try:
            with open(self.path, encoding="utf-8") as handle:
                text = handle.read()
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError) as error:
            self._unusable = True
            reason = error.strerror if isinstance(error, OSError) else str(error)
            raise StateError(f"cannot read the state file {self.path!r}: {reason}") from None
        try:
            data = json.loads(text)
        except ValueError as error:
            self._unusable = True
            raise StateError(f"state file {self.path!r} is not JSON: {error}") from None
        guests = data.get("guests") if isinstance(data, dict) else None
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION or not isinstance(guests, dict):
            self._unusable = True
            raise StateError(f"state file {self.path!r} is not a version {STATE_VERSION} mom state file")
        self._sections = {key: value for key, value in data.items() if key not in ("version", "guests")}
        self._guests = {str(uuid): values for uuid, values in guests.items() if isinstance(values, dict)}
        return dict(self._guests)

    def section(self, name: str) -> Any:
        """What another part keeps under ``name`` (None if nothing), as last loaded or saved."""
        with self._lock:
            return self._sections.get(name)

    def save_section(self, name: str, value: Any) -> None:
        """Replace one part's key (JSON-able); the guests' SLAs stay as they are.

        :raises StateError: as :meth:`save`
        """
        with self._lock:
            self._sections[name] = value
            self._write()

    def save(self, guests: dict[str, dict[str, Any]]) -> None:
        """Replace the guests' SLAs, atomically (the other parts' keys are kept).

        :raises StateError: the file or its directory cannot be written
        """
        with self._lock:
            self._guests = guests
            self._write()

    def _write(self) -> None:
        if not self.path:
            return
        directory = os.path.dirname(os.path.abspath(self.path))
        content = {**self._sections, "version": STATE_VERSION, "guests": self._guests}
        text = json.dumps(content, indent=1, sort_keys=True)
        try:
            os.makedirs(directory, mode=0o755, exist_ok=True)
            if self._unusable and os.path.isfile(self.path):
                os.replace(self.path, self.path + ".corrupt")
            self._unusable = False
            fd, temporary = tempfile.mkstemp(prefix=".state-", dir=directory)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(text + "\n")
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temporary, self.path)
            except BaseException:
                try:
                    os.unlink(temporary)
                except OSError:
                    pass
                raise
            # the rename itself is durable only once the directory is
            directory_fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(directory_fd)
            finally:
                os.close(directory_fd)
        except OSError as error:
            raise StateError(f"cannot write the state file {self.path!r}: {error.strerror or error}") from None
