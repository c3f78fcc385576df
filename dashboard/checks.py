"""System checks of the dashboard's assumptions about configuration."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django.conf import settings
from django.core import checks
from django.utils import timezone

from firelater.aggregates import QUARTER_HOUR_SECONDS

# The years whose midnights the dashboard reads: trends go back 365 days from today.
_LAST_CHECKED_YEAR = 2050


def odd_offsets(zone: zoneinfo.ZoneInfo, years: range) -> list[dt.timedelta]:
    """The zone's UTC offsets in these years that are not whole quarter hours."""
    # Wall-clock dates in the zone itself: the offset at each local midnight and noon.
    day = dt.date(years.start, 1, 1)
    end = dt.date(years.stop, 1, 1)
    found: set[dt.timedelta] = set()
    while day < end:
        for hour in (0, 12):  # a change is at most a day apart from one of these
            offset = dt.datetime.combine(day, dt.time(hour), tzinfo=zone).utcoffset()
            if offset is not None:
                found.add(offset)
        day += dt.timedelta(days=1)
    return sorted(o for o in found if o.total_seconds() % QUARTER_HOUR_SECONDS)


def time_zone_errors(zone_name: str, years: range) -> list[checks.CheckMessage]:
    """E001 if the zone's midnights in these years are not all UTC quarter hours."""
    odd = odd_offsets(zoneinfo.ZoneInfo(zone_name), years)
    if not odd:
        return []
    return [
        checks.Error(
            f"TIME_ZONE {zone_name!r} has UTC offsets that are not whole quarter "
            f"hours ({', '.join(str(o) for o in odd)}): its midnights fall inside the "
            "dashboard's quarter-hour summaries, so day counts would be wrong.",
            hint="Use a time zone whose offsets are multiples of 15 minutes (all current "
            "zones are; some historical ones are not).",
            id="dashboard.E001",
        )
    ]


@checks.register()
def time_zone_midnight_on_a_quarter_hour(**kwargs: Any) -> list[checks.CheckMessage]:
    """The day figures (trends, resolved today, this week) sum UTC quarter-hour summaries:
    right only if every local midnight of TIME_ZONE is a UTC quarter hour (checked from
    two years back, the trends' reach, to _LAST_CHECKED_YEAR)."""
    years = range(timezone.now().year - 2, _LAST_CHECKED_YEAR + 1)
    return time_zone_errors(settings.TIME_ZONE, years)
