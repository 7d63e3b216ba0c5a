"""Site-local plugin directories: ``<dir>/mom/Collectors`` for every ``<dir>`` on ``sys.path``.

Upstream found site-local plugins only inside its own package directory.  Here the
upstream plugin packages (``mom.Collectors``, ``mom.Controllers``,
``mom.HypervisorInterfaces``) also search the same sub-directory of every
``sys.path`` entry, after their own, so a drop-in written for upstream can live
outside the installed package (e.g. ``PYTHONPATH=/etc/mom/site``).
"""

from __future__ import annotations

import os
import sys

__all__ = ["extend_plugin_path"]


def extend_plugin_path(path: list[str], subpackage: str) -> list[str]:
    """``path`` plus ``<entry>/mom/<subpackage>`` for each ``sys.path`` entry that has one."""
    result = list(path)
    own = {os.path.realpath(entry) for entry in result}
    for entry in sys.path:
        candidate = os.path.join(entry or os.getcwd(), "mom", subpackage)
        if os.path.isdir(candidate) and os.path.realpath(candidate) not in own:
            own.add(os.path.realpath(candidate))
            result.append(candidate)
    return result
