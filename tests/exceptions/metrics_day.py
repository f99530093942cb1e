"""The day the metrics tests build, with known answers; the ``day`` fixture (tests/exceptions/conftest.py) builds it.

The day (Chicago, 2026-06-10, CDT = UTC-5), with a cost model of its own
(0.50 a driver minute, 1.00 a km, 10.00 a redelivery):

    order  first attempt           later that day
    A      delivered 09:15
    B      delivered 09:40
    C      failed 10:40 (4 min)    case 10:40-11:00 access code, untouched; delivered 11:05
    D      delivered 14:05
    E      failed the day before   failed 12:30 (5 min), case 12:30-14:30 rescheduled later, touched;
                                   failed again 12:50 on the same stop (no case of its own);
                                   the address is 0.1 degree north of the depot
    G      failed the day before   failed 15:00, case escalated 15:10, resolved 15:40 safe drop, untouched
    K      failed the day before   failed 16:00, case closed 16:30 without a resolution, untouched
    L      failed the day before   failed 23:30 local (04:30 UTC the next day), case still open
    M      failed the day before   case opened and escalated the day before, still open
    Z      delivered 00:30 the next day (outside)

Milwaukee (same zone, default cost model) delivers W at 10:00 and fails X at
10:30 (a case resolved in 15 minutes, returned to sender, touched).

``Day`` builds stops, scans and cases on a driver's runs by their local times; ``at`` is a local time;
``hour`` is the key of a local hour in the metrics' "hour" grouping.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from dispatch.models import Run, ScanEvent, Stop
from exceptions.analytics.figures import ENDINGS
from exceptions.models import ExceptionCase
from tests.factories import ExceptionCaseFactory, OrderFactory, RunFactory, ScanEventFactory, StopFactory, reason
from tests.helpers import METRICS_DAY

DAY = METRICS_DAY
BEFORE = DAY - dt.timedelta(days=1)
CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
LOS_ANGELES = zoneinfo.ZoneInfo("America/Los_Angeles")
OUTCOME = ExceptionCase.Outcome
STATE = ExceptionCase.State


def at(hour: int, minute: int = 0, day: dt.date = DAY, zone: dt.tzinfo = CHICAGO) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)


def endings(**counts: int) -> dict[str, int]:
    """A count for each ending of a failed parcel: the ones named, and zero for the others."""
    return {ending: counts.get(ending, 0) for ending in ENDINGS}


class Day:
    """Builds stops, scans and cases on runs by their local times."""

    def __init__(self, driver: Any, day: dt.date = DAY) -> None:
        self.driver = driver
        self.runs: dict[dt.date, Run] = {}
        self.day = day

    def run(self, day: dt.date) -> Run:
        if day not in self.runs:
            self.runs[day] = RunFactory(driver=self.driver, service_date=day)
        return self.runs[day]

    def stop(self, order: Any = None, *, day: dt.date | None = None, minutes: int = 3, **order_fields: Any) -> Stop:
        run = self.run(day or self.day)
        order = order or OrderFactory(depot=run.depot, **order_fields)
        return StopFactory(run=run, order=order, service_minutes=minutes)

    def scan(self, stop: Stop, when: dt.datetime, *, code: str | None = "ACCESS_DENIED") -> ScanEvent:
        outcome = ScanEvent.Outcome.FAILED if code else ScanEvent.Outcome.DELIVERED
        return ScanEventFactory(
            stop=stop, outcome=outcome, reason_code=reason(code) if code else None, received_at=when, device_time=when
        )

    def case(self, scan: ScanEvent, **fields: Any) -> ExceptionCase:
        fields.setdefault("opened_at", scan.received_at)
        return ExceptionCaseFactory(scan=scan, **fields)


def hour(clock: int, day: dt.date = DAY) -> str:
    """The key of a local hour in the "hour" grouping."""
    return f"{day.isoformat()}T{clock:02d}:00"
