"""oVirt MOM import path ``mom.Collectors.Collector``. Implementation: :mod:`mom.plugins.collectors.base`.

Upstream-style collectors do ``from mom.Collectors.Collector import *`` and expect
``logging``, ``re`` and ``sys`` from it as well.
"""

import logging
import re
import sys

from mom.plugins.collectors.base import (
    CollectionError,
    Collector,
    FatalError,
    count_occurrences,
    get_collectors,
    open_datafile,
    parse_int,
)

__all__ = [
    "Collector",
    "CollectionError",
    "FatalError",
    "open_datafile",
    "parse_int",
    "count_occurrences",
    "get_collectors",
    "logging",
    "re",
    "sys",
]
