"""Prevent the exception: ask the recipient of a risky stop for what is missing before the driver arrives.

The sweep (beat, every minute) picks the stops whose risk (``exceptions.prevention.risk``)
is at or above the admin's threshold and whose time has come: the morning of,
or when the planned arrival is ``lead_minutes`` away or the stop is among the
driver's next ``lead_stops``. Each gets one text, ever (``PreArrivalContact``
is one row per stop, taken before the text is queued), asking for what the
risk says is missing and whether someone will be in at the driver's time
(``prearrival_asks``). At most the admin's daily share of a depot's parcels
is asked, the riskiest of the day first, so a low threshold cannot flood
recipients. Opt-outs, quiet hours and the recipient's language
are the outreach module's rules, as for any text.

A reply is understood like any other and lands where the driver will find it:
a code in the vault with an instruction on the stop, a time window through
routing (the stop moves before the attempt is wasted), a safe place or a
neighbour as a note on the stop when the order allows it.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections import defaultdict
from typing import Any, NamedTuple

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.text import format_lazy

from dispatch import driver_words
from dispatch.models import DriverInstruction, Run, ScanEvent, Stop
from dispatch.services.instructions import instruction_push
from dispatch.services.vault import access_credential_record
from exceptions import ports
from exceptions.models import ExceptionCase, PreArrivalContact, PreventionSettings, StopRisk
from exceptions.ports import ReplyIntent, Understanding

logger = logging.getLogger(__name__)

SWEEP_LIMIT = 500


def prevention_settings() -> PreventionSettings:
    return PreventionSettings.current()


def prearrival_asks(missing: list[str]) -> list[str]:
    """What the text ahead asks for: what the stop's risk says is missing, and always whether someone will be in.

    Nobody home is the commonest failure, and the one a recipient foresees best: a text that names the
    driver's time lets someone who will be out say so (a later time, a safe place, a neighbour) in the
    same reply that carries a gate code.
    """
    asks = {*missing, StopRisk.Missing.AVAILABILITY}
    return [choice for choice in StopRisk.Missing.values if choice in asks]


# --- Who is asked, and when -------------------------------------------------------------------------------------


def _candidates(settings: PreventionSettings, now: dt.datetime) -> QuerySet[StopRisk]:
    # Ahead of an attempt, not after one: a stop already tried, or a parcel whose exception is open or was
    # worked in the last day, has had the recipient's attention through its case.
    attempted = ScanEvent.objects.filter(stop_id=OuterRef("stop_id"))
    worked = ExceptionCase.objects.filter(order_id=OuterRef("stop__order_id")).filter(
        Q(state__in=ExceptionCase.OPEN_STATES) | Q(opened_at__gte=now - dt.timedelta(days=1))
    )
    return (
        StopRisk.objects.filter(~Exists(attempted), ~Exists(worked))
        .filter(
            score__gte=settings.risk_threshold,
            stop__status=Stop.Status.PENDING,
            stop__prearrival__isnull=True,
            stop__planned_arrival__gt=now,
            stop__run__status__in=(Run.Status.PLANNED, Run.Status.IN_PROGRESS),
            stop__run__service_date__gte=(now - dt.timedelta(days=1)).date(),
            stop__run__service_date__lte=(now + dt.timedelta(days=1)).date(),
        )
        .select_related("stop__run__depot", "stop__order__recipient")
        .order_by("stop__planned_arrival")
    )


def prearrival_due(*, now: dt.datetime | None = None) -> list[StopRisk]:
    """The risky stops whose pre-arrival text is due now, soonest arrival first (in a few queries)."""
    now = now or timezone.now()
    settings = prevention_settings()
    if not settings.enabled:
        return []
    risks = [
        risk
        for risk in _candidates(settings, now)[: SWEEP_LIMIT * 4]
        # Today at the stop's own depot.
        if risk.stop.run.service_date == now.astimezone(risk.stop.run.depot.time_zone).date()
    ]
    if settings.lead == PreventionSettings.Lead.MORNING:
        morning = [
            risk for risk in risks if now.astimezone(risk.stop.run.depot.time_zone).time() >= settings.morning_at
        ]
        return _within_budget(settings, morning)[:SWEEP_LIMIT]
    # Ahead of the driver: minutes to the planned arrival, or the stop's place among the run's pending stops.
    runs = {risk.stop.run_id for risk in risks}
    place: dict[int, int] = {}
    counters: defaultdict[int, int] = defaultdict(int)
    pending = Stop.objects.filter(run_id__in=runs, status=Stop.Status.PENDING).order_by("run_id", "sequence")
    for stop_id, run_id in pending.values_list("pk", "run_id"):
        counters[run_id] += 1
        place[stop_id] = counters[run_id]
    soon = now + dt.timedelta(minutes=settings.lead_minutes)
    due = [
        risk
        for risk in risks
        if (risk.stop.planned_arrival and risk.stop.planned_arrival <= soon)
        or place.get(risk.stop_id, settings.lead_stops + 1) <= settings.lead_stops
    ]
    return _within_budget(settings, due)[:SWEEP_LIMIT]


class DailyShare(NamedTuple):
    allowed: int  # texts ahead the day may have: the admin's share of its parcels
    used: int  # texts ahead sent (asked or answered)


def _day_stops(depot_id: int, day: dt.date) -> QuerySet[Stop]:
    return Stop.objects.filter(run__depot_id=depot_id, run__service_date=day).exclude(run__status=Run.Status.CANCELLED)


def prearrival_daily_share(*, depot_id: int, day: dt.date, share: float) -> DailyShare:
    """How many texts ahead the depot's day may have (``share`` of its parcels), and how many it has had."""
    stops = _day_stops(depot_id, day)
    # Per parcel: a stop put back later in the day is the same delivery, not a new one to ask about.
    parcels = stops.values("order_id").distinct().count()
    used = PreArrivalContact.objects.filter(
        stop__in=stops, status__in=(PreArrivalContact.Status.ASKED, PreArrivalContact.Status.ANSWERED)
    ).count()
    return DailyShare(allowed=math.floor(share * parcels), used=used)


def prearrival_share_cutoff(*, depot_id: int, day: dt.date, allowed: int) -> float | None:
    """The lowest score within the day's share: the ``allowed``-th riskiest stop's. None when the day has fewer
    scored stops than that (every one is within it); ``allowed`` 0 leaves none within it."""
    if allowed <= 0:
        return math.inf
    # A stop that could not be asked (opted out, quiet hours, undelivered) leaves its place to the next.
    ranked = (
        StopRisk.objects.filter(stop__in=_day_stops(depot_id, day))
        .exclude(stop__prearrival__status=PreArrivalContact.Status.SKIPPED)
        .order_by("-score")
        .values_list("score", flat=True)
    )
    return next(iter(ranked[allowed - 1 : allowed]), None)


def _within_budget(settings: PreventionSettings, due: list[StopRisk]) -> list[StopRisk]:
    """At most ``daily_share`` of a depot's day is asked ahead, and those the riskiest of the day.

    A due stop is asked only if its score ranks it within that share of the whole day's stops (however early
    or late it comes), and only while the day has texts left: the riskiest of those due first. Three
    queries per depot and day.
    """
    if settings.daily_share >= 1.0 or not due:
        return due
    kept: list[StopRisk] = []
    for depot_id, day in {(risk.stop.run.depot_id, risk.stop.run.service_date) for risk in due}:
        allowed, used = prearrival_daily_share(depot_id=depot_id, day=day, share=settings.daily_share)
        if allowed - used <= 0:
            continue
        cutoff = prearrival_share_cutoff(depot_id=depot_id, day=day, allowed=allowed) or 0.0
        mine = [
            risk
            for risk in due
            if (risk.stop.run.depot_id, risk.stop.run.service_date) == (depot_id, day) and risk.score >= cutoff
        ]
        mine.sort(key=lambda risk: -risk.score)
        kept += mine[: allowed - used]
    return sorted(kept, key=lambda risk: risk.stop.planned_arrival or risk.computed_at)


def prearrival_sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Ask every stop that is due, once each. Returns how many were asked and how many could not be."""
    now = now or timezone.now()
    asked = skipped = 0
    for risk in prearrival_due(now=now):
        result, _ = prearrival_ask(stop=risk.stop, score=risk.score, missing=list(risk.missing), now=now)
        asked += result == "asked"
        skipped += result == "skipped"
    return {"asked": asked, "skipped": skipped}


def prearrival_ask(*, stop: Stop, score: float, missing: list[str], now: dt.datetime) -> tuple[str, str]:
    """Text the stop's recipient ahead of the driver, once ever: ("asked", ""), ("skipped", why nobody can be
    reached), or ("taken", "") when the stop was asked already (another sweep, a dispatcher)."""
    asks = prearrival_asks(missing)
    with transaction.atomic():
        contact, created = PreArrivalContact.objects.get_or_create(
            stop=stop, defaults={"score": score, "asked": asks, "created_at": now}
        )
        if not created:
            return "taken", ""
        sent = ports.outreach().ask_ahead(stop=stop, asks=asks, now=now)
        if not sent.reachable:
            contact.status, contact.skip_reason = PreArrivalContact.Status.SKIPPED, sent.reason[:200]
            contact.save(update_fields=["status", "skip_reason"])
            return "skipped", sent.reason
    return "asked", ""


def prearrival_undelivered(*, stop_id: int, reason: str) -> bool:
    """The text ahead never reached the recipient (refused, undelivered): it counts as not asked, with why.

    An answer already in stays: it reached them. Returns whether the contact changed.
    """
    return bool(
        PreArrivalContact.objects.filter(stop_id=stop_id, status=PreArrivalContact.Status.ASKED).update(
            status=PreArrivalContact.Status.SKIPPED, skip_reason=reason[:200]
        )
    )


# --- What the reply gives us ------------------------------------------------------------------------------------


def prearrival_reply_apply(
    *, stop_id: int, understood: Understanding, now: dt.datetime | None = None
) -> PreArrivalContact | None:
    """Put what the recipient told us ahead of time where the driver and the plan will find it.

    What was learned is kept on the stop's contact: the risky question's, or one made now for an answer to a
    notice or a choice on the recipient's page (so the question is not asked after it). The recipient is told what
    their answer changed (``read_back_ahead``); a time is told once routing has placed it, or could not.
    """
    now = now or timezone.now()
    contact = PreArrivalContact.objects.select_for_update().filter(stop_id=stop_id).first()
    stop = (
        Stop.objects.select_related("order__address", "order__recipient", "run__driver", "run__depot")
        .filter(pk=stop_id)
        .first()
    )
    if stop is None:
        return None
    if contact is None:
        score = StopRisk.objects.filter(stop_id=stop_id).values_list("score", flat=True).first() or 0.0
        contact = PreArrivalContact.objects.create(stop=stop, score=score, asked=[], created_at=now)
    learned: dict[str, Any] = dict(contact.learned) if contact is not None else {}
    intent = understood.intent
    active = stop.status == Stop.Status.PENDING
    if intent == ReplyIntent.ACCESS_CODE and understood.code:
        access_credential_record(address_id=stop.order.address_id, secret=understood.code, source="recipient")
        learned["access_code"] = True
        if active:
            instruction_push(
                driver=stop.run.driver,
                kind=DriverInstruction.Kind.ACCESS_CODE,
                text=driver_words.CODE_AHEAD_RECIPIENT,
                stop=stop,
                payload={"prearrival": True},
            )
            ports.outreach().read_back_ahead(stop=stop, heard=understood, what="ahead", now=now)
    elif intent == ReplyIntent.RESCHEDULE and understood.window_start is not None:
        learned["window"] = {"start": understood.window_start.isoformat(), "end": _iso(understood.window_end)}
        if active:
            ports.routing().stop_window(
                stop_id=stop_id, window_start=understood.window_start, window_end=understood.window_end
            )
    elif intent in (ReplyIntent.SAFE_DROP, ReplyIntent.NEIGHBOR):
        allowed = not stop.order.drop_refusal(neighbour=intent == ReplyIntent.NEIGHBOR)
        key = "safe_place" if intent == ReplyIntent.SAFE_DROP else "neighbour"
        learned[key] = bool(allowed)
        if allowed and active:
            where = understood.detail or driver_words.AS_DESCRIBED
            if intent == ReplyIntent.SAFE_DROP:
                told = format_lazy(driver_words.SAFE_PLACE_AHEAD, place=where)
            else:
                told = format_lazy(driver_words.NEIGHBOUR_AHEAD, neighbour=where)
            instruction_push(
                driver=stop.run.driver,
                kind=DriverInstruction.Kind.NOTE,
                text=told,
                stop=stop,
                payload={"prearrival": True},
            )
            ports.outreach().read_back_ahead(stop=stop, heard=understood, what="ahead", now=now)
    elif intent == ReplyIntent.AVAILABLE_NOW:
        learned["home"] = True
    else:
        learned["other"] = intent.lower()
    contact.learned = learned
    contact.status = PreArrivalContact.Status.ANSWERED
    contact.answered_at = contact.answered_at or now
    contact.save(update_fields=["learned", "status", "answered_at"])
    return contact


def prearrival_window_answered(
    *,
    stop_id: int,
    placed: bool,
    window_start: dt.datetime,
    window_end: dt.datetime | None,
    now: dt.datetime | None = None,
) -> None:
    """Routing placed the visit in the window the recipient gave ahead of the driver (``stop_id``: where it is now),
    or could not: the recipient is told which."""
    stop = Stop.objects.select_related("order__recipient", "run__depot").filter(pk=stop_id).first()
    if stop is None:
        return
    heard = Understanding(intent=ReplyIntent.RESCHEDULE, window_start=window_start, window_end=window_end)
    what = "moved" if placed else "full"
    ports.outreach().read_back_ahead(stop=stop, heard=heard, what=what, now=now or timezone.now())


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None
