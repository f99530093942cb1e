"""What a recipient reads, written once in English and translated by the catalogues in ``locale/``.

Each purpose (``MessageTemplate.Key``) has a default wording here; an admin may write their own for a language
in admin (a ``MessageTemplate`` row), which then wins. A language with a catalogue and no rows reads the
catalogue's translation; adding a language is a catalogue, never code. Everything a text says is a phrase a
person understands (what, when, where), never a label the desk uses among its own.
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Mapping
from typing import Any

from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy

from dispatch.models import ReasonCode
from outreach.models import MessageTemplate
from outreach.readback import hour_words

HOUR = dt.timedelta(hours=1)

Key = MessageTemplate.Key

# --- The default wording of each text -----------------------------------------------------------------------------

DEFAULTS: dict[str, Promise] = {
    Key.ASK_ACCESS_CODE: _(
        "Hi {first_name}, we tried to deliver your parcel {order} but {problem}. Reply with the gate or door code, "
        "a time you'll be home, where to leave it safely, or a neighbour's name and unit. Reply CALL to talk to us, or "
        "choose here: {link}"
    ),
    Key.ASK_WINDOW: _(
        "Hi {first_name}, we tried to deliver {order} but {problem}. When can we come back? Reply with a time or a "
        "day, or reply CALL to talk to us. Or choose here: {link}"
    ),
    Key.ASK_ALTERNATIVES: _(
        "Hi {first_name}, we tried to deliver {order} but {problem}. Reply with a time you'll be home, where to "
        "leave it safely, a neighbour's name and unit, or LOCKER to collect it. Reply CALL to talk to us, or choose "
        "here: {link}"
    ),
    Key.ASK_DIRECTIONS: _(
        "Hi {first_name}, we tried to deliver {order} but {problem}. How do we find your door? Reply with directions "
        "(which building, which entrance, a landmark), or CALL to talk to us."
    ),
    Key.REPROMPT: _(
        "Hi {first_name}, we still need your answer about {order} ({problem}). Reply CALL to talk to us, or choose "
        "here: {link}"
    ),
    Key.HELP: _(
        "Delivery updates about your parcel. Reply with what helps us deliver, CALL to talk to us, STOP to stop texts."
    ),
    Key.PREARRIVAL: _(
        "Hi {first_name}, your parcel {order} is on its way today. To get it to you first time, could you tell us "
        "{ask}? Just reply to this text."
    ),
    Key.NOTICE_OUT_FOR_DELIVERY: _(
        "Hi {first_name}, your parcel {order} is out for delivery and should arrive {when}. {ask}Not in? Choose "
        "what suits you: {link}"
    ),
    Key.NOTICE_ARRIVING: _(
        "Hi {first_name}, the driver is {stops} away with your parcel {order}, arriving {when}. {ask}Not in? "
        "Choose what suits you: {link}"
    ),
    Key.NOTICE_DELAYED: _(
        "Hi {first_name}, sorry: your parcel {order} is running late and should now arrive {when}. If that doesn't "
        "suit you, choose another time: {link}"
    ),
    Key.READ_BACK: _("Got it: {heard}. {next}"),
    Key.CONFIRM_CODE: _("Just to check: is the code {code}? Reply OK if so, or send the right one."),
    Key.CONFIRM_PLACE: _("Just to check: leave it {place}? Reply OK if so, or tell us where."),
    Key.CONFIRM_NEIGHBOUR: _("Just to check: leave it with {neighbour}? Reply OK if so, or tell us who."),
    Key.CONFIRM_OPT_OUT: _("Do you want no more texts from us? Reply STOP and we won't text again."),
    Key.OUTCOME_DELIVERED: _("Hi {first_name}, your parcel {order} has been delivered."),
    Key.OUTCOME_LEFT: _("Hi {first_name}, your parcel {order} has been delivered: it was left {place}."),
    Key.OUTCOME_NEIGHBOUR: _("Hi {first_name}, your parcel {order} has been delivered: it was left with {neighbour}."),
    Key.OUTCOME_RESCHEDULED: _("Hi {first_name}, we'll bring your parcel {order} {when}. {change}"),
    Key.OUTCOME_PICKUP_POINT: _("Hi {first_name}, your parcel {order} is going to {pickup}, where you can collect it."),
    Key.OUTCOME_RETURNED: _(
        "Hi {first_name}, your parcel {order} is going back to the sender. Please contact them about it."
    ),
    Key.OUTCOME_CANCELLED: _("Hi {first_name}, the delivery of your parcel {order} has been cancelled."),
}

# What each text may say: an admin's wording is checked against these before it is saved.
_GREETING = {"first_name", "order"}
PLACEHOLDERS: dict[str, set[str]] = {
    Key.ASK_ACCESS_CODE: {*_GREETING, "problem", "link"},
    Key.ASK_WINDOW: {*_GREETING, "problem", "link"},
    Key.ASK_ALTERNATIVES: {*_GREETING, "problem", "link"},
    Key.ASK_DIRECTIONS: {*_GREETING, "problem", "link"},
    Key.REPROMPT: {*_GREETING, "problem", "link"},
    Key.HELP: set(),
    Key.PREARRIVAL: {*_GREETING, "ask"},
    Key.NOTICE_OUT_FOR_DELIVERY: {*_GREETING, "when", "ask", "link"},
    Key.NOTICE_ARRIVING: {*_GREETING, "when", "stops", "ask", "link"},
    Key.NOTICE_DELAYED: {*_GREETING, "when", "link"},
    Key.READ_BACK: {*_GREETING, "heard", "next"},
    Key.CONFIRM_CODE: {*_GREETING, "code"},
    Key.CONFIRM_PLACE: {*_GREETING, "place"},
    Key.CONFIRM_NEIGHBOUR: {*_GREETING, "neighbour"},
    Key.CONFIRM_OPT_OUT: set(_GREETING),
    Key.OUTCOME_DELIVERED: set(_GREETING),
    Key.OUTCOME_LEFT: {*_GREETING, "place"},
    Key.OUTCOME_NEIGHBOUR: {*_GREETING, "neighbour"},
    Key.OUTCOME_RESCHEDULED: {*_GREETING, "when", "change"},
    Key.OUTCOME_PICKUP_POINT: {*_GREETING, "pickup"},
    Key.OUTCOME_RETURNED: set(_GREETING),
    Key.OUTCOME_CANCELLED: set(_GREETING),
}


def placeholders(body: str) -> set[str]:
    """The ``{names}`` a wording uses; ValueError when a brace is not closed."""
    return {name for _, name, _, _ in string.Formatter().parse(body) if name is not None}


def text(key: str, language: str, context: Mapping[str, Any]) -> tuple[str, str]:
    """The text for a purpose in the recipient's language, placeholders filled in, and the language it is in.

    An admin's wording for that language wins; else the catalogue's. A placeholder with no value reads as
    nothing rather than failing the send."""
    row = MessageTemplate.objects.filter(key=key, language=language).first()
    with translation.override(language):
        body = row.body if row is not None else str(DEFAULTS[key])
    return body.format_map(_Blank({name: str(value) for name, value in context.items()})).strip(), language


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


# --- Why we could not deliver, in the recipient's words -------------------------------------------------------------

# The reason codes every install has; an admin's own code carries its wording per language in admin.
PROBLEMS: dict[str, Promise] = {
    "ACCESS_DENIED": _("the driver could not get in"),
    "WRONG_ACCESS_CODE": _("the access code did not work"),
    "GATE_CLOSED": _("the gate was closed"),
    "RECIPIENT_ABSENT": _("nobody was home"),
    "ADDRESS_NOT_FOUND": _("the driver could not find the address"),
    "BUSINESS_CLOSED": _("the business was closed"),
    "UNSAFE_LOCATION": _("there was no safe place to leave it"),
    "DAMAGED": _("the parcel was damaged on the way"),
    "REFUSED": _("the parcel was refused at the door"),
}
PROBLEM_ANY = _("the driver could not complete the delivery")
# Asking when someone will be in, after offering a drop the sender forbids: the problem is the parcel's rule.
PROBLEM_IN_PERSON = _("the sender asks that it be handed to someone, so we cannot leave it")


def problem_words(reason: ReasonCode, language: str) -> str:
    """Why the stop failed, as the recipient reads it: the admin's wording for the code and language, else the
    catalogue's for a standard code, else a general phrase. Never the code's label, which is the desk's."""
    own = reason.wordings.filter(language=language).values_list("problem", flat=True).first()
    if own:
        return own
    with translation.override(language):
        return str(PROBLEMS.get(reason.code, PROBLEM_ANY))


def in_person_words(language: str) -> str:
    with translation.override(language):
        return str(PROBLEM_IN_PERSON)


# --- What a text ahead of the driver asks for -----------------------------------------------------------------------

ASKS: dict[str, Promise] = {
    "access_code": _("the gate or door code"),
    "availability": _("whether someone will be home between {start} and {end}"),
    "safe_place": _("where we can leave it safely if nobody is in"),
}
ASKS_JOINED = pgettext_lazy("the last of a list of things asked for", "{asks} and {last}")


def asks_words(asks: list[str], *, language: str, arrival: dt.datetime | None, zone: Any) -> str:
    """What a text ahead asks for, in the recipient's words: only what is missing; the hours are the planned
    arrival's, an hour either side, in the recipient's zone ("whether someone will be home between 2 and 4 pm")."""
    hour = arrival.astimezone(zone) if arrival is not None else None
    wanted = [item for item in asks if item in ASKS and (item != "availability" or hour is not None)] or [
        "availability" if hour is not None else "safe_place"
    ]
    with translation.override(language):
        times = {"start": "", "end": ""}
        if hour is not None:
            start, end = hour - HOUR, hour + HOUR
            same_half = (start.hour < 12) == (end.hour < 12)
            times = {"start": hour_words(start, meridiem=not same_half), "end": hour_words(end, meridiem=True)}
        parts = [str(ASKS[item]).format(**times) for item in wanted]
        if len(parts) == 1:
            return parts[0]
        return str(ASKS_JOINED).format(asks=", ".join(parts[:-1]), last=parts[-1])


# A risky stop's question, when it goes in a notice: a sentence of its own before the link.
ASK_IN_NOTICE = _("To get it to you first time, could you tell us {ask}? Just reply to this text.")


def ask_in_notice(asks: list[str], *, language: str, arrival: dt.datetime | None, zone: Any) -> str:
    """The question a notice carries, ending in a space to sit before what follows; '' when there is none."""
    if not asks:
        return ""
    words = asks_words(asks, language=language, arrival=arrival, zone=zone)
    with translation.override(language):
        return str(ASK_IN_NOTICE).format(ask=words) + " "


def stops_words(count: int, language: str) -> str:
    with translation.override(language):
        return ngettext("{count} stop", "{count} stops", count).format(count=count)


CHANGE = _("To change it: {link}")


def change_words(link: str, language: str) -> str:
    """How to change what was settled, when there is still a page to do it on."""
    with translation.override(language):
        return str(CHANGE).format(link=link)
