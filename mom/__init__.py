"""mom: a fast, safe drop-in replacement for oVirt's Memory Overcommitment Manager.

``import mom`` makes the upstream submodules reachable as attributes, as upstream's
package does (vdsm's policy validator uses ``mom.Entity.Entity``,
``mom.Monitor.Monitor`` and ``mom.Policy.Policy.Policy`` after ``import mom``).
"""

import logging
import logging.handlers  # upstream scripts use logging.handlers without importing it

from mom import Entity, Monitor, Policy

__version__ = "0.1.0"

__all__ = ["Entity", "Monitor", "Policy", "__version__", "logging"]
