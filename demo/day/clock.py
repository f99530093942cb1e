"""When the demo's day is: a working morning now, whatever the hour on the machine.

Started at 21:00 in Chicago, a Chicago day would be over: every shift ended, recipients in their
quiet hours, no slot left today, nothing due to be texted ahead. So a demo day starting now keeps
Chicago's streets and people but takes the clock of a place where the working day is beginning:
Chicago itself when its morning is now, else the zone below whose local time is nearest to 10:00.
Every clock stays real (the web, the worker, Postgres, the browser): only the depot's zone moves.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from typing import Final

from demo.day.depot import LOADING_MINUTES

HOME_ZONE: Final = "America/Chicago"
# A demo day may start in these local hours: every recipient's quiet hours are over (the latest end at
# 09:00), and its nine-hour shifts end before 20:00, when the earliest begin.
MORNING_FROM: Final = dt.time(9, 0)
MORNING_UNTIL: Final = dt.time(11, 0)
IDEAL_MINUTES: Final = 10 * 60
# One zone without daylight saving for each whole hour from UTC-11 to UTC+12: some zone is always
# in its morning.
ZONES: Final = (
    "Pacific/Pago_Pago",
    "Pacific/Honolulu",
    "Pacific/Gambier",
    "Pacific/Pitcairn",
    "America/Phoenix",
    "America/Mexico_City",
    "America/Bogota",
    "America/Caracas",
    "America/Sao_Paulo",
    "Atlantic/South_Georgia",
    "Atlantic/Cape_Verde",
    "Africa/Abidjan",
    "Africa/Lagos",
    "Africa/Johannesburg",
    "Europe/Istanbul",
    "Asia/Dubai",
    "Asia/Karachi",
    "Asia/Dhaka",
    "Asia/Bangkok",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Brisbane",
    "Pacific/Noumea",
    "Pacific/Fiji",
)


@dataclass(frozen=True)
class DemoMorning:
    time_zone: str
    service_date: dt.date
    shift_start: dt.time  # most drivers' shift start: they leave the depot now
    local_now: dt.datetime
    home_now: dt.datetime  # the time in Chicago

    @property
    def moved(self) -> bool:
        """The depot's zone is not Chicago's."""
        return self.time_zone != HOME_ZONE


def _in_morning(local: dt.datetime) -> bool:
    return MORNING_FROM <= local.time() < MORNING_UNTIL


def demo_morning(now: dt.datetime) -> DemoMorning:
    """The zone, date and shift start of a demo day whose drivers leave the depot at ``now``."""
    home = now.astimezone(zoneinfo.ZoneInfo(HOME_ZONE))
    if _in_morning(home):
        zone, local = HOME_ZONE, home
    else:
        mornings = [(name, now.astimezone(zoneinfo.ZoneInfo(name))) for name in ZONES]
        zone, local = min(
            ((name, local) for name, local in mornings if _in_morning(local)),
            key=lambda pair: abs(pair[1].hour * 60 + pair[1].minute - IDEAL_MINUTES),
        )
    leave = local - dt.timedelta(minutes=LOADING_MINUTES)
    start = leave.replace(minute=leave.minute - leave.minute % 5, second=0, microsecond=0)
    return DemoMorning(
        time_zone=zone, service_date=local.date(), shift_start=start.time(), local_now=local, home_now=home
    )
