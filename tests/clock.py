"""The instant the suite lives at, so no test depends on the day or the hour it runs.

Every test runs at 10:00 on Wednesday 18 November 2026 in Chicago (16:00 UTC), with the clock
ticking from there: mid-shift for the factories' 08:00-17:00 runs, outside every recipient's quiet
hours, a weekday, and weeks from a daylight-saving change. The root conftest moves the clock there
for each test; a test about another moment (the night, a weekend, a DST change) travels there itself.

Tests where another process or a browser takes part cannot share a moved clock. They are marked
``wall_clock`` and run at the real time, so they derive every date and time from now.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
TODAY = dt.date(2026, 11, 18)  # a Wednesday


def local(hour: int, minute: int = 0, day: dt.date = TODAY) -> dt.datetime:
    """``hour:minute`` on ``day`` in Chicago."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=CHICAGO)


NOW = local(10, 0)
