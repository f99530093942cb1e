"""What the desk understood, in the recipient's words: read back after it acts, asked before it acts when unsure.

A read-back names what was heard, specifically ("gate code 4417", "tomorrow (Thu 19 Nov) between 3 and
5 pm", "leave it at the back porch") and what happens next; a question to confirm names the reading and
how to answer it. Times are in the recipient's zone, in words a person reads. The wording around these
phrases is ``outreach.wording``'s (an admin may write their own); the phrases are built here, in English,
and translated by the catalogues.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import dateformat, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from outreach.models import MessageTemplate
from outreach.understanding.meaning import ReplyIntent, Understanding, place_words

# A day as the read-back names it, in Django's own day and month names: "Thu 19 Nov", "jue 19 nov".
_SHORT = pgettext_lazy("a date format (Django's): a short day, e.g. Thu 19 Nov", "D j M")
_LONG = pgettext_lazy("a date format (Django's): a day further ahead, e.g. Friday 20 Nov", "l j M")
_TODAY = _("today")
_TOMORROW = pgettext_lazy("tomorrow, with its short date", "tomorrow ({date})")
_NAMED = pgettext_lazy("a day further ahead than tomorrow, alone", "{date}")
_ON_NAMED = pgettext_lazy("a day further ahead than tomorrow, after we'll bring it", "on {date}")
_SOON = _("as soon as we can")
_FROM = pgettext_lazy("a time window with only a start", "{day} from {start}")
_BETWEEN = pgettext_lazy("a time window", "{day} between {start} and {end}")
_HOURS = pgettext_lazy("a time window within a day, e.g. 3 to 5 pm", "{start} to {end}")
_AM, _PM = pgettext_lazy("before noon, after an hour", "am"), pgettext_lazy("after noon, after an hour", "pm")

# What was heard, per reading; ``{code}``, ``{place}``, ``{neighbour}``, ``{when}`` are filled in.
HEARD: dict[str, Promise] = {
    ReplyIntent.ACCESS_CODE: _("code {code}"),
    ReplyIntent.AVAILABLE_NOW: _("you're there now"),
    ReplyIntent.SAFE_DROP: _("leave it {place}"),
    ReplyIntent.NEIGHBOR: _("leave it with {neighbour}"),
    ReplyIntent.RESCHEDULE: pgettext_lazy("what was heard: a time", "{when}"),
    ReplyIntent.PICKUP_POINT: _("you'll collect it {place}"),
    ReplyIntent.DIRECTIONS: _("your directions to the door"),
}
PICKUP_DEFAULT = _("pickup point")

# What happens next: the driver acts on it, routing finds the time, or the case ended with it.
NEXT: dict[str, Promise] = {
    "driver": _("The driver will be back to try again."),
    "slot": _("We'll text you the time."),
    "pickup_point": _("It will wait for you there."),
    "done": _("Thank you."),
    # Ahead of the driver: what the answer changed for the visit still to come.
    "ahead": _("The driver will have it when they come."),
    "moved": _("The driver will come then."),
    "full": _("We couldn't fit the driver in then, so they will come as planned. To choose another time: {link}"),
}

# The question before an unsure reading is acted on, per reading.
CONFIRM_KEYS = {
    ReplyIntent.ACCESS_CODE: MessageTemplate.Key.CONFIRM_CODE,
    ReplyIntent.SAFE_DROP: MessageTemplate.Key.CONFIRM_PLACE,
    ReplyIntent.NEIGHBOR: MessageTemplate.Key.CONFIRM_NEIGHBOUR,
    ReplyIntent.OPT_OUT: MessageTemplate.Key.CONFIRM_OPT_OUT,
}


def hour_words(moment: dt.datetime, *, meridiem: bool) -> str:
    """An hour as a person writes it: "3", "3:30", with "pm" when ``meridiem`` (in the active language)."""
    hour = moment.hour % 12 or 12
    text = f"{hour}:{moment.minute:02d}" if moment.minute else str(hour)
    return f"{text} {_AM if moment.hour < 12 else _PM}" if meridiem else text


def _day(day: dt.date, today: dt.date, *, on: bool) -> str:
    if day == today:
        return str(_TODAY)
    if day == today + dt.timedelta(days=1):
        return str(_TOMORROW).format(date=dateformat.format(day, str(_SHORT)))
    return str(_ON_NAMED if on else _NAMED).format(date=dateformat.format(day, str(_LONG)))


def day_heading(day: dt.date, *, today: dt.date, language: str) -> str:
    """A day as a heading: "Today", "Tomorrow (Thu 19 Nov)", "Friday 20 Nov"."""
    with translation.override(language):
        words = (
            _day(day, today, on=False) if day <= today + dt.timedelta(days=1) else dateformat.format(day, str(_LONG))
        )
    return words[:1].upper() + words[1:]


def hours_words(start: dt.datetime, end: dt.datetime, *, language: str) -> str:
    """The hours of a window within its day: "3 to 5 pm", "8 am to 12 pm"."""
    with translation.override(language):
        same_half = (start.hour < 12) == (end.hour < 12)
        first, last = hour_words(start, meridiem=not same_half), hour_words(end, meridiem=True)
        return str(_HOURS).format(start=first, end=last)


def when_words(
    *, start: dt.datetime | None, end: dt.datetime | None, now: dt.datetime, zone: Any, language: str, on: bool = False
) -> str:
    """A window as a person says it, in ``zone``: "tomorrow (Thu 19 Nov) between 3 and 5 pm", "Friday 20 Nov"
    ("on Friday 20 Nov" with ``on``, after "we'll bring it")."""
    with translation.override(language):
        if start is None:
            return str(_SOON)
        start, today = start.astimezone(zone), now.astimezone(zone).date()
        day = _day(start.date(), today, on=on)
        local_end = end.astimezone(zone) if end is not None else None
        if local_end is not None and local_end.date() != start.date():
            local_end = None
        # A whole working day ("friday" reads as 08:00-20:00) is just the day.
        if local_end is not None and start.hour <= 8 and local_end.hour >= 20:
            return day
        if local_end is None:
            return str(_FROM).format(day=day, start=hour_words(start, meridiem=True))
        same_half = (start.hour < 12) == (local_end.hour < 12)
        first, last = hour_words(start, meridiem=not same_half), hour_words(local_end, meridiem=True)
        return str(_BETWEEN).format(day=day, start=first, end=last)


def heard_words(*, heard: Understanding, now: dt.datetime, zone: Any, language: str) -> str:
    """What the desk acts on, as the read-back names it; an access code in full (the caller masks what it keeps)."""
    when = when_words(start=heard.window_start, end=heard.window_end, now=now, zone=zone, language=language)
    with translation.override(language):
        phrase = str(HEARD.get(ReplyIntent(heard.intent), ""))
        default = str(PICKUP_DEFAULT) if heard.intent == ReplyIntent.PICKUP_POINT else ""
    place = place_words(heard.detail or default, language)
    return phrase.format(code=heard.code, place=place, neighbour=heard.detail, when=when)


def next_words(*, what: str, language: str) -> str:
    """What happens next: ``driver``, ``slot``, ``pickup_point`` or ``done``."""
    with translation.override(language):
        return str(NEXT.get(what, NEXT["done"]))
