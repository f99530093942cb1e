"""What the desk understood, in the recipient's words: read back after it acts, asked before it acts when unsure.

A read-back names what was heard, specifically ("gate code 4417", "tomorrow (Thu 19 Nov) between 3 and
5 pm", "leave it at the back porch") and what happens next; a question to confirm names the reading and
how to answer it. Times are in the recipient's zone, in words a person reads. The wording around these
phrases is an admin's (``MessageTemplate``); the phrases themselves are built here, in English and Spanish.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import dateformat, translation

from outreach.models import MessageTemplate
from outreach.understanding.meaning import ReplyIntent, Understanding, place_words

ENGLISH, SPANISH = "en", "es"

# A day as the read-back names it, in Django's own day and month names: "Thu 19 Nov", "jue 19 nov".
_SHORT = {ENGLISH: "D j M", SPANISH: "D j b"}
_LONG = {ENGLISH: "l j M", SPANISH: "l j b"}

# What was heard, per reading; ``{code}``, ``{place}``, ``{neighbour}``, ``{when}`` are filled in.
HEARD = {
    ENGLISH: {
        ReplyIntent.ACCESS_CODE: "code {code}",
        ReplyIntent.AVAILABLE_NOW: "you're there now",
        ReplyIntent.SAFE_DROP: "leave it {place}",
        ReplyIntent.NEIGHBOR: "leave it with {neighbour}",
        ReplyIntent.RESCHEDULE: "{when}",
        ReplyIntent.PICKUP_POINT: "you'll collect it {place}",
        ReplyIntent.DIRECTIONS: "your directions to the door",
    },
    SPANISH: {
        ReplyIntent.ACCESS_CODE: "código {code}",
        ReplyIntent.AVAILABLE_NOW: "usted está ahí ahora",
        ReplyIntent.SAFE_DROP: "dejarlo {place}",
        ReplyIntent.NEIGHBOR: "dejarlo con {neighbour}",
        ReplyIntent.RESCHEDULE: "{when}",
        ReplyIntent.PICKUP_POINT: "lo recogerá {place}",
        ReplyIntent.DIRECTIONS: "sus indicaciones para llegar a la puerta",
    },
}
PICKUP_DEFAULT = {ENGLISH: "pickup point", SPANISH: "un punto de recogida"}

# What happens next: the driver acts on it, routing finds the time, or the case ended with it.
NEXT = {
    ENGLISH: {
        "driver": "The driver will be back to try again.",
        "slot": "We'll text you the time.",
        "pickup_point": "It will wait for you there.",
        "done": "Thank you.",
    },
    SPANISH: {
        "driver": "El repartidor volverá a intentarlo.",
        "slot": "Le escribiremos con la hora.",
        "pickup_point": "Le estará esperando allí.",
        "done": "Gracias.",
    },
}

# The question before an unsure reading is acted on, per reading.
CONFIRM_KEYS = {
    ReplyIntent.ACCESS_CODE: MessageTemplate.Key.CONFIRM_CODE,
    ReplyIntent.SAFE_DROP: MessageTemplate.Key.CONFIRM_PLACE,
    ReplyIntent.NEIGHBOR: MessageTemplate.Key.CONFIRM_NEIGHBOUR,
    ReplyIntent.OPT_OUT: MessageTemplate.Key.CONFIRM_OPT_OUT,
}


def _language(language: str) -> str:
    return language if language in HEARD else ENGLISH


def _hour(moment: dt.datetime, *, meridiem: bool) -> str:
    hour = moment.hour % 12 or 12
    text = f"{hour}:{moment.minute:02d}" if moment.minute else str(hour)
    return f"{text} {'am' if moment.hour < 12 else 'pm'}" if meridiem else text


def _dated(day: dt.date, formats: dict[str, str], language: str) -> str:
    with translation.override(language):
        return dateformat.format(day, formats[language])


def _day(day: dt.date, today: dt.date, language: str) -> str:
    if day == today:
        return "hoy" if language == SPANISH else "today"
    if day == today + dt.timedelta(days=1):
        short = _dated(day, _SHORT, language)
        return f"mañana ({short})" if language == SPANISH else f"tomorrow ({short})"
    named = _dated(day, _LONG, language)
    return f"el {named}" if language == SPANISH else named


def when_words(
    *, start: dt.datetime | None, end: dt.datetime | None, now: dt.datetime, zone: Any, language: str
) -> str:
    """A window as a person says it, in ``zone``: "tomorrow (Thu 19 Nov) between 3 and 5 pm", "Friday 20 Nov"."""
    language = _language(language)
    if start is None:
        return "lo antes posible" if language == SPANISH else "as soon as we can"
    start, today = start.astimezone(zone), now.astimezone(zone).date()
    day = _day(start.date(), today, language)
    local_end = end.astimezone(zone) if end is not None else None
    if local_end is not None and local_end.date() != start.date():
        local_end = None
    # A whole working day ("friday" reads as 08:00-20:00) is just the day.
    if local_end is not None and start.hour <= 8 and local_end.hour >= 20:
        return day
    if local_end is None:
        joined = "desde las" if language == SPANISH else "from"
        return f"{day} {joined} {_hour(start, meridiem=True)}"
    same_half = (start.hour < 12) == (local_end.hour < 12)
    first, last = _hour(start, meridiem=not same_half), _hour(local_end, meridiem=True)
    if language == SPANISH:
        return f"{day} entre las {first} y las {last}"
    return f"{day} between {first} and {last}"


def heard_words(*, heard: Understanding, now: dt.datetime, zone: Any, language: str) -> str:
    """What the desk acts on, as the read-back names it; an access code in full (the caller masks what it keeps)."""
    language = _language(language)
    phrase = HEARD[language].get(ReplyIntent(heard.intent), "")
    place = place_words(
        heard.detail or (PICKUP_DEFAULT[language] if heard.intent == ReplyIntent.PICKUP_POINT else ""), language
    )
    when = when_words(start=heard.window_start, end=heard.window_end, now=now, zone=zone, language=language)
    return phrase.format(code=heard.code, place=place, neighbour=heard.detail, when=when)


def next_words(*, what: str, language: str) -> str:
    """What happens next: ``driver``, ``slot``, ``pickup_point`` or ``done``."""
    words = NEXT[_language(language)]
    return words.get(what, words["done"])
