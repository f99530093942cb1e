"""What a driver reads from dispatch: each instruction's sentence, with its specifics (where, when, which stop).

Sentences are written here in English and translated by the catalogue (``locale/``) into the driver's language
when the instruction is pushed (``instruction_push``); the desk's own record of what a driver was told is written
out in English (``written``). Nothing here holds an access code: a driver reveals one in the app.
"""

from __future__ import annotations

import datetime as dt

from django.utils import formats, timezone, translation
from django.utils.functional import Promise, lazy
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy, pgettext_lazy

from dispatch.models import AccessCredential, Stop

Words = str | Promise
ENGLISH = "en"  # what a driver who has not chosen reads, and the desk's own record

RETRY_NOW = _("The recipient is coming: go back and retry now.")
RETRY = _("Retry this stop.")
COMING_DOWN = _("The recipient is coming down: wait up to {minutes} min at this stop.")
CODE_NEW = _("A new access code is on file: reveal it in the app and retry.")
CODE_VERIFIED = _("A verified {kind} is on file: reveal it in the app and retry.")
CODE_KINDS: dict[str, Words] = {
    AccessCredential.Kind.GATE: pgettext_lazy("a verified ... is on file", "gate code"),
    AccessCredential.Kind.DOOR: pgettext_lazy("a verified ... is on file", "door code"),
    AccessCredential.Kind.LOCKBOX: pgettext_lazy("a verified ... is on file", "lockbox code"),
    AccessCredential.Kind.CONCIERGE: pgettext_lazy("a verified ... is on file", "concierge code"),
}
SAFE_DROP = _("Safe drop approved: {place}. Leave it there and take a photo.")
SAFE_DROP_ANYWHERE = _("Safe drop approved: leave it out of sight and take a photo.")
NEIGHBOUR = _("Leave it with the neighbour: {neighbour}. Get a name and signature.")
DIRECTIONS = _("Directions from the recipient: {directions}")
BACK_TO_DEPOT = _("Do not retry this stop: bring the parcel back to the depot.")
RETURN_TO_SENDER = _("Do not retry: bring the parcel back to the depot for return to sender.")
COLLECTS_AT = _("Do not retry: the recipient collects it at {point}. Bring it back to the depot.")
COLLECTS_AT_DEPOT = _("Do not retry: the recipient collects it at the depot. Bring it back to the depot.")
SKIP_MOVED = _("Skip this stop: it moved to another run.")
SKIP_LATER_DAY = _("Skip this stop: it goes out again on {day}.")
SKIP_BACK_LATER = _("Skip this stop for now: it is back on your route around {time}.")
SKIP_OTHER_DRIVER = _("Skip this stop: another driver takes it around {time}.")
STOP_NEW = _("New stop on your route: {order}, stop {position} of {count}, around {time}.")
STOP_NEW_ON_DAY = _("New stop on your route for {day}: {order}, stop {position} of {count}.")
STOP_BACK = _("{order} is back on your route: stop {position} of {count}, around {time}.")
REORDERED = ngettext_lazy(
    "Your stops were re-ordered: {count} stop left. Follow the new order.",
    "Your stops were re-ordered: {count} stops left. Follow the new order.",
    "count",
)
ROUTE_FROM_DISPATCH = _("Dispatch updated your route: check the new stop order.")
CODE_AHEAD_RECIPIENT = _("The recipient sent the access code ahead of your visit: reveal it at the door.")
CODE_AHEAD_DISPATCHER = _("A dispatcher added the access code ahead of your visit: reveal it at the door.")
SAFE_PLACE_AHEAD = _("Safe place from the recipient, ahead of your visit: {place}")
NEIGHBOUR_AHEAD = _("Leave it with a neighbour, the recipient says, ahead of your visit: {neighbour}")
AS_DESCRIBED = _("as the recipient described")
# How a driver reads a time of day (Django's date format letters): "2:05 PM" in English.
CLOCK = pgettext_lazy("a time of day a driver reads, in Django's date format letters", "g:i A")


def _day_words(day: dt.date) -> str:
    return formats.date_format(day, "D j M")


def _time_words(moment: dt.datetime) -> str:
    return formats.time_format(moment, str(CLOCK))


# Days and times are written out when the sentence is, in the language it is written in.
day_words = lazy(_day_words, str)
time_words = lazy(_time_words, str)


def written(text: Words, language: str) -> str:
    """The sentence in ``language`` (a catalogue's code; English where there is none)."""
    with translation.override(language):
        return str(text)


def verified_code(kind: str) -> Words:
    return format_lazy(CODE_VERIFIED, kind=CODE_KINDS.get(kind, CODE_KINDS[AccessCredential.Kind.DOOR]))


def safe_drop(place: str) -> Words:
    return format_lazy(SAFE_DROP, place=place) if place.strip() else SAFE_DROP_ANYWHERE


def collects_at(point: object | None) -> Words:
    return format_lazy(COLLECTS_AT, point=str(point)) if point else COLLECTS_AT_DEPOT


def skip_moved(*, stop: Stop, to: Stop | None) -> Words:
    """The driver of ``stop`` skips it: where the parcel went (``to``, its stop on a run now) in the driver's terms."""
    if to is None or to.pk == stop.pk:
        return SKIP_MOVED
    if to.run.service_date != stop.run.service_date:
        return format_lazy(SKIP_LATER_DAY, day=day_words(to.run.service_date))
    if to.planned_arrival is None:
        return SKIP_MOVED
    when = time_words(timezone.localtime(to.planned_arrival, to.run.depot.time_zone))
    if to.run.driver_id == stop.run.driver_id:
        return format_lazy(SKIP_BACK_LATER, time=when)
    return format_lazy(SKIP_OTHER_DRIVER, time=when)


def route_changed(*, stop: Stop | None, order: list[int]) -> Words:
    """A run's new plan told to its driver: the stop it is about and where it is now (back, for a stop tried on
    this run before; else new to it); without one, how many stops are left. ``order``: the run's remaining stops in
    their new order."""
    if stop is None or stop.pk not in order:
        return format_lazy(REORDERED, count=len(order))
    run = stop.run
    position, count = order.index(stop.pk) + 1, len(order)
    reference = stop.order.reference
    today = timezone.localdate(timezone.now(), run.depot.time_zone)
    if run.service_date != today:
        return format_lazy(
            STOP_NEW_ON_DAY, day=day_words(run.service_date), order=reference, position=position, count=count
        )
    eta = stop.planned_arrival
    if eta is None:
        return format_lazy(REORDERED, count=count)
    when = time_words(timezone.localtime(eta, run.depot.time_zone))
    back = stop.attempt_count > 0
    return format_lazy(STOP_BACK if back else STOP_NEW, order=reference, position=position, count=count, time=when)
