"""Plot files: one tab-separated ``.dat`` file per monitor (upstream ``mom.Plotter``).

With ``[main] plot-dir`` set, each run gets a ``<plot-dir>/momplot-NNN`` directory
(NNN one above the highest existing, three digits) and every monitor appends its
samples to ``<name>.dat`` there.  The header line is written when the field set is
first known or changes (upstream rewrites it before every sample).
"""

from __future__ import annotations

import logging
import os
import re
import time
from typing import Any, Iterable, Mapping

__all__ = ["Plotter", "make_plot_subdir"]

_SUBDIR = re.compile(r"^momplot-(\d{3})$")


def make_plot_subdir(plot_dir: str) -> tuple[str, str | None]:
    """Create this run's ``momplot-NNN`` directory: ``(path, None)`` or ``("", warning)``."""
    if not plot_dir:
        return "", None
    try:
        entries = os.listdir(plot_dir)
    except OSError as error:
        return "", f"Cannot read plot-basedir {plot_dir}: {error.strerror}"
    numbers = [int(match.group(1)) for match in map(_SUBDIR.match, entries) if match]
    number = max(numbers, default=0) + 1
    if number > 999:
        return "", f"Reached maximum number of plot subdirectories in {plot_dir}"
    path = os.path.join(plot_dir, "momplot-%03d" % number)
    try:
        os.mkdir(path)
    except OSError as error:
        return "", f"Cannot create plot-dir {path}: {error.strerror}"
    return path, None


class Plotter:
    """Appends samples of one monitor to ``<plot_dir>/<name>.dat``."""

    def __init__(self, plot_dir: str, name: str) -> None:
        self.logger = logging.getLogger("mom.Plotter")
        self.path = os.path.join(plot_dir, f"{name}.dat")
        self.fields: list[str] = []
        self._header_for: list[str] | None = None
        #: the last write failed (a full or read-only filesystem): said once, not every sample
        self._failing = False

    def setFields(self, fields: Iterable[str]) -> None:
        """Declare the columns (sorted by name, as upstream)."""
        self.fields = sorted(fields)

    def plot(self, data: Mapping[str, Any]) -> None:
        """Append one sample; a missing field writes an 'Incomplete data set' comment."""
        now = str(time.time())
        try:
            values = [str(data[name]) for name in self.fields]
        except KeyError:
            line = f"# {now} Incomplete data set\n"
        else:
            line = now + "\t" + "\t".join(values) + "\n"
        try:
            with open(self.path, "a", encoding="utf-8") as handle:
                if self._header_for != self.fields:
                    handle.write("# time\t " + "\t ".join(self.fields) + "\n")
                    self._header_for = list(self.fields)
                handle.write(line)
        except OSError as error:
            if not self._failing:
                self.logger.warning(
                    "Cannot write plot file %s: %s (samples are not plotted until it can be written again)",
                    self.path,
                    error.strerror,
                )
                self._failing = True
            return
        if self._failing:
            self.logger.warning("Writing plot file %s again", self.path)
            self._failing = False
