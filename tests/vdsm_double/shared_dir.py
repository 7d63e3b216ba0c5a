"""A vdsm double inside another process (a momd under test), steered through a directory.

The test writes ``scenario.json`` (a :meth:`VdsmDouble.snapshot`: VMs, up/down,
recovering, generation, delays, forced errors); the double inside momd reloads it
whenever the file changes, before each connection and request, and appends every
request it receives to ``calls.jsonl`` (one JSON object per line: verb, params,
outcome, time).  The test side is :class:`SharedDir`; momd finds the directory in
``$MOM_VDSM_DOUBLE_DIR``.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

from tests.vdsm_double.server import Call, VdsmDouble

__all__ = ["SharedDir", "SharedDirDouble", "SCENARIO", "JOURNAL"]

#: the source tree this double is imported from (``tests`` is a package at its top)
CHECKOUT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SCENARIO = "scenario.json"
JOURNAL = "calls.jsonl"


class SharedDirDouble(VdsmDouble):
    """The double in momd's process: state from ``scenario.json``, requests to ``calls.jsonl``."""

    def __init__(self, directory: str) -> None:
        super().__init__()
        self.directory = directory
        self._stamp: tuple[int, int, int] | None = None
        self._before()

    def _before(self) -> None:
        path = os.path.join(self.directory, SCENARIO)
        try:
            info = os.stat(path)
        except FileNotFoundError:
            return
        stamp = (info.st_ino, info.st_mtime_ns, info.st_size)
        with self.lock:
            if stamp == self._stamp:
                return
            with open(path, encoding="utf-8") as handle:
                self.load(json.load(handle))
            self._stamp = stamp

    def _record(self, call: Call) -> None:
        super()._record(call)
        line = json.dumps(call.to_json(), default=repr) + "\n"
        with self.lock, open(os.path.join(self.directory, JOURNAL), "a", encoding="utf-8") as handle:
            handle.write(line)


class SharedDir:
    """The test's side: write scenarios, read the requests the double in momd received."""

    def __init__(self, directory: str) -> None:
        self.directory = str(directory)
        os.makedirs(self.directory, exist_ok=True)

    def write(self, double: VdsmDouble) -> None:
        """Publish ``double``'s state (atomically: the reader never sees half a file)."""
        fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=".scenario-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(double.snapshot(), handle)
        os.replace(temporary, os.path.join(self.directory, SCENARIO))

    def calls(self, verb: str | None = None, outcome: str | None = "ok") -> list[dict[str, Any]]:
        """The requests received so far (of one verb, with one outcome; None: all)."""
        path = os.path.join(self.directory, JOURNAL)
        try:
            with open(path, encoding="utf-8") as handle:
                lines = handle.readlines()
        except FileNotFoundError:
            return []
        calls = [json.loads(line) for line in lines if line.endswith("\n")]
        return [
            call
            for call in calls
            if (verb is None or call["verb"] == verb) and (outcome is None or call["outcome"] == outcome)
        ]

    def environment(self) -> dict[str, str]:
        """What a momd child needs in its environment to use this double (its configuration
        says ``[vdsm] client-module = tests.vdsm_double.client``): the directory, and the
        source tree on its path, since the double is not installed with the package."""
        from tests.vdsm_double.client import DOUBLE_DIR_ENV

        path = [CHECKOUT, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
        return {DOUBLE_DIR_ENV: self.directory, "PYTHONPATH": os.pathsep.join(path)}
