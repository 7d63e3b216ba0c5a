"""How long each fuzz target runs: a short deterministic run by default, a time budget on demand.

By default (``make test``) every target runs once under the ``mom-fuzz-ci`` profile:
derandomized, so the same examples every time, and no deadline (no timing in the
suite).  ``make fuzz FUZZ_SECONDS=300`` sets ``MOM_FUZZ_SECONDS``: the targets share
that time, each running rounds of the ``mom-fuzz`` profile (random, with the example
database, so a failure found once is tried first next time) until its share is spent.

Hangs: a watchdog (:func:`faulthandler.dump_traceback_later`) dumps every thread's
stack and ends the run if one example takes longer than :data:`HANG_SECONDS`, in both
modes: a hang is a finding, never a stuck suite.
"""

from __future__ import annotations

import faulthandler
import os
import time
from typing import Any, Callable

from hypothesis import HealthCheck, settings

__all__ = ["fuzz_settings", "run_budgeted", "watchdog", "HANG_SECONDS", "TOTAL_SECONDS"]

#: no example of a healthy build comes near this (they take milliseconds)
HANG_SECONDS = 120.0
#: the whole fuzz run's time, from ``make fuzz``; 0: the short deterministic run
TOTAL_SECONDS = float(os.environ.get("MOM_FUZZ_SECONDS", "0") or 0)

_QUIET = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large]

settings.register_profile(
    "mom-fuzz-ci", max_examples=120, derandomize=True, deadline=None, database=None, suppress_health_check=_QUIET
)
settings.register_profile("mom-fuzz", max_examples=2000, deadline=None, suppress_health_check=_QUIET)


def fuzz_settings(examples: int | None = None) -> settings:
    """The profile of this run, optionally with another number of examples (per round)."""
    profile = settings.get_profile("mom-fuzz" if TOTAL_SECONDS else "mom-fuzz-ci")
    return settings(profile, max_examples=examples) if examples else profile


def run_budgeted(target: Callable[[], Any], share: float) -> int:
    """Run the Hypothesis test ``target`` once, or in rounds for ``share`` seconds; the rounds run."""
    ends = time.monotonic() + share
    rounds = 0
    while True:
        target()
        rounds += 1
        if not share or time.monotonic() >= ends:
            return rounds


class watchdog:  # noqa: N801  (used as a context manager, like a function)
    """``with watchdog():`` around one example: a hang dumps the stacks and exits."""

    def __enter__(self) -> None:
        faulthandler.dump_traceback_later(HANG_SECONDS, exit=True)

    def __exit__(self, *exc: Any) -> None:
        faulthandler.cancel_dump_traceback_later()
