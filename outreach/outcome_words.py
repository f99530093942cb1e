"""What a recipient reads when their case ends: what happens to the parcel, when and where, in their language.

Each outcome has its own text (``MessageTemplate.Key.OUTCOME_*``); this module fills in its specifics: the
place it was left, the day and window it comes back, the pickup point with its address and opening hours.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import dateformat, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from dispatch.models import Depot, PickupPoint
from outreach.readback import hour_words, when_words

_EVERY_DAY = _("every day")
_DAYS = pgettext_lazy("the days a place is open: the first and last of a run, e.g. Mon-Sat", "{first}-{last}")
_OPEN = pgettext_lazy("a pickup point's opening hours", "open {days}, {opens}-{closes}")
_PLACE = pgettext_lazy("a pickup point: name, address and opening hours", "{name}, {address} ({hours})")
_DEPOT = pgettext_lazy("collecting at the depot when no pickup point is set up", "our depot, {address}")
_DEPOT_BARE = _("our depot")
# A Monday: the day names come from Django's calendar in the active language.
_MONDAY = dt.date(2024, 1, 1)


def _weekday(day: int) -> str:
    return dateformat.format(_MONDAY + dt.timedelta(days=day), "D")


def opening_words(point: PickupPoint, language: str) -> str:
    """A pickup point's hours as a person reads them: "open Mon-Sat, 9 am-9 pm", "open every day, 8 am-10 pm"."""
    days = sorted({int(day) for day in point.open_days})
    with translation.override(language):
        if len(days) == 7:
            named = str(_EVERY_DAY)
        elif days == list(range(days[0], days[-1] + 1)) and len(days) > 2:
            named = str(_DAYS).format(first=_weekday(days[0]), last=_weekday(days[-1]))
        else:
            named = ", ".join(_weekday(day) for day in days)
        opens, closes = dt.datetime.combine(_MONDAY, point.opens), dt.datetime.combine(_MONDAY, point.closes)
        same_half = (opens.hour < 12) == (closes.hour < 12)
        return str(_OPEN).format(
            days=named, opens=hour_words(opens, meridiem=not same_half), closes=hour_words(closes, meridiem=True)
        )


def pickup_words(point: PickupPoint | None, depot: Depot, language: str) -> str:
    """Where to collect the parcel: the pickup point with its address and hours, else the depot."""
    if point is not None:
        with translation.override(language):
            template = str(_PLACE)
        return template.format(name=point.name, address=point.address, hours=opening_words(point, language))
    with translation.override(language):
        return str(_DEPOT).format(address=depot.address) if depot.address else str(_DEPOT_BARE)


def _moment(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(value) if value else None


def slot_words(
    *, detail: dict[str, Any], arrival: dt.datetime | None, now: dt.datetime, zone: Any, language: str
) -> str:
    """When the parcel comes back, as the case settled it: the window the recipient asked for, else two hours
    around the new stop's planned arrival, else the day it goes out again, else as soon as we can."""
    start, end = _moment(detail.get("window_start")), _moment(detail.get("window_end"))
    if start is None and arrival is not None:
        local = arrival.astimezone(zone)
        start = local.replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=1 if local.minute < 30 else 0)
        end = start + dt.timedelta(hours=2)
    if start is None and detail.get("planned_day"):
        day = dt.date.fromisoformat(detail["planned_day"])
        start = dt.datetime.combine(day, dt.time(8), tzinfo=zone)
        end = dt.datetime.combine(day, dt.time(20), tzinfo=zone)
    return when_words(start=start, end=end, now=now, zone=zone, language=language, on=True)


def eta_words(*, arrival: dt.datetime | None, hours: int, now: dt.datetime, zone: Any, language: str) -> str:
    """When the driver should come, as a window of ``hours`` around the planned arrival, to the quarter hour:
    "today between 2:15 and 3:15 pm"; "as soon as we can" with no plan."""
    if arrival is None:
        return when_words(start=None, end=None, now=now, zone=zone, language=language)
    local = arrival.astimezone(zone)
    start = local - dt.timedelta(minutes=30 * hours)
    start = start.replace(minute=start.minute - start.minute % 15, second=0, microsecond=0)
    return when_words(start=start, end=start + dt.timedelta(hours=hours), now=now, zone=zone, language=language)
