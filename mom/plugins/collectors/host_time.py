"""HostTime: the host's local date and time, for time-of-day policies."""

from __future__ import annotations

import datetime
from typing import Any

from mom.plugins.collectors.base import Collector

__all__ = ["HostTime"]


class HostTime(Collector):
    """Local time of the sample.

    - ``time_year``, ``time_month``, ``time_day``, ``time_hour``, ``time_minute``,
      ``time_second``, ``time_microsecond``
    """

    fields = frozenset(
        {"time_year", "time_month", "time_day", "time_hour", "time_minute", "time_second", "time_microsecond"}
    )

    def collect(self) -> dict[str, Any]:
        now = datetime.datetime.now()
        return {
            "time_year": now.year,
            "time_month": now.month,
            "time_day": now.day,
            "time_hour": now.hour,
            "time_minute": now.minute,
            "time_second": now.second,
            "time_microsecond": now.microsecond,
        }
