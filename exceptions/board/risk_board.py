"""The board's risky stops: a depot's day ahead, ranked by risk, with what was asked and learned before the driver came.

A stop is on the list when its risk (``exceptions.prevention.risk``) is at or above the
prevention threshold, or when its recipient was contacted ahead of the driver
(``exceptions.prevention.prearrival``) whatever its score is now: an answer often lowers
the score, and the dispatcher still wants to see what it brought. Stops already
delivered, failed or moved stay on the list, marked done, so the day reads as a
whole.

"Today" and "tomorrow" are each depot's own, in its time zone. The read is a
fixed number of queries whatever the day's size: the prevention settings, one
``.values()`` row per stop with its risk, its pre-arrival contact, order,
recipient, address and driver, and a count only when the list is full. What
was learned is put into words here, never with a code: the vault has it.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypedDict

from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from dispatch.models import Depot, Run, Stop
from exceptions.board import payloads
from exceptions.models import PreArrivalContact, ReplyIntent, StopRisk
from exceptions.prevention import prearrival_daily_share, prearrival_share_cutoff, prevention_settings

Day = Literal["today", "tomorrow"]
DAYS: tuple[Day, ...] = ("today", "tomorrow")
# The most a dispatcher can read through in one sitting; the total says how many more there are.
RISKY_STOPS_LIMIT = 200
# No longer ahead of the driver: the attempt happened or the stop left the run.
DONE_STATUSES = frozenset(
    {
        Stop.Status.DELIVERED,
        Stop.Status.FAILED,
        Stop.Status.RESCHEDULED,
        Stop.Status.SKIPPED,
        Stop.Status.CANCELLED,
    }
)

STOP_STATUS_LABELS: dict[str, str] = {str(value): str(label) for value, label in Stop.Status.choices}
MISSING_LABELS: dict[str, str] = {str(value): str(label) for value, label in StopRisk.Missing.choices}
CONTACT_STATUS_LABELS: dict[str, str] = {str(value): str(label) for value, label in PreArrivalContact.Status.choices}
INTENT_LABELS: dict[str, str] = {str(value): str(label) for value, label in ReplyIntent.choices}

ROW_VALUES = (
    "id",
    "run_id",
    "run__depot_id",
    "run__service_date",
    "run__driver_id",
    "run__driver__user__username",
    "run__driver__user__first_name",
    "run__driver__user__last_name",
    "order__reference",
    "order__recipient__name",
    "order__address__line1",
    "order__address__unit",
    "order__address__city",
    "planned_arrival",
    "status",
    "risk__score",
    "risk__reasons",
    "risk__missing",
    "prearrival__status",
    "prearrival__skip_reason",
    "prearrival__asked",
    "prearrival__learned",
    "prearrival__created_at",
    "prearrival__answered_at",
)


class Labelled(TypedDict):
    code: str
    label: str


class PrearrivalSummary(TypedDict):
    """The one text ahead of the driver: what it asked for, and what the answer gave us, in words."""

    status: str
    status_label: str
    skip_reason: str
    asked: list[Labelled]
    learned: list[str]
    asked_at: str | None
    answered_at: str | None


class RiskyStop(TypedDict):
    stop_id: int
    run_id: int
    depot_id: int
    service_date: str
    order_reference: str
    recipient_name: str
    address: str
    driver_id: int
    driver_name: str
    planned_arrival: str | None
    window_start: str | None
    window_end: str | None
    status: str
    status_label: str
    done: bool
    score: float | None
    reasons: list[str]
    missing: list[Labelled]
    prearrival: PrearrivalSummary | None


class TextsAhead(TypedDict):
    allowed: int
    used: int
    cutoff: float | None  # the lowest score within the share; null: every scored stop is within it


class RiskyStops(TypedDict):
    day: Day
    dates: dict[str, str]
    threshold: float
    daily_share: float
    texts_ahead: dict[str, TextsAhead]  # by depot id: the day's share of texts ahead, and how many were sent
    total: int
    limit: int
    offset: int
    stops: list[RiskyStop]


def risky_stop_dates(*, depots: Sequence[Depot], day: Day, now: dt.datetime) -> dict[int, dt.date]:
    """Each depot's service date for "today" or "tomorrow", in the depot's own time zone."""
    ahead = dt.timedelta(days=DAYS.index(day))
    return {depot.pk: timezone.localdate(now, depot.time_zone) + ahead for depot in depots}


def risky_stops_scope(*, dates: Mapping[int, dt.date], threshold: float) -> QuerySet[Stop]:
    """The stops of these depots' days that are risky now or whose recipient was contacted ahead."""
    on_day = Q(pk__in=[])
    for depot_id, date in dates.items():
        on_day |= Q(run__depot_id=depot_id, run__service_date=date)
    return (
        Stop.objects.filter(on_day)
        .exclude(run__status=Run.Status.CANCELLED)
        .filter(Q(risk__score__gte=threshold) | Q(prearrival__isnull=False))
    )


SORTS = ("risk", "time")


def risky_stops(
    *,
    depots: Sequence[Depot],
    day: Day,
    now: dt.datetime | None = None,
    driver_id: int | None = None,
    sort: str = "risk",
    offset: int = 0,
) -> RiskyStops:
    """The depots' risky stops of the day, riskiest first (then by planned arrival) or by planned arrival, one
    driver's or all, ``RISKY_STOPS_LIMIT`` at a time from ``offset``."""
    now = now or timezone.now()
    settings = prevention_settings()
    threshold = settings.risk_threshold
    dates = risky_stop_dates(depots=depots, day=day, now=now)
    zones = {depot.pk: depot.time_zone for depot in depots}
    result: RiskyStops = {
        "day": day,
        "dates": {str(depot_id): date.isoformat() for depot_id, date in dates.items()},
        "threshold": threshold,
        "daily_share": settings.daily_share,
        "texts_ahead": {
            str(depot_id): _texts_ahead(depot_id=depot_id, day=date, share=settings.daily_share)
            for depot_id, date in dates.items()
        },
        "total": 0,
        "limit": RISKY_STOPS_LIMIT,
        "offset": offset,
        "stops": [],
    }
    if not dates:
        return result
    scope = risky_stops_scope(dates=dates, threshold=threshold)
    if driver_id is not None:
        scope = scope.filter(run__driver_id=driver_id)
    riskiest, soonest = F("risk__score").desc(nulls_last=True), F("planned_arrival").asc(nulls_last=True)
    order = (soonest, riskiest, "id") if sort == "time" else (riskiest, soonest, "id")
    rows = scope.order_by(*order).values(
        *ROW_VALUES,
        start=Coalesce("window_start", "order__window_start"),
        end=Coalesce("window_end", "order__window_end"),
    )[offset : offset + RISKY_STOPS_LIMIT]
    result["stops"] = [risky_stop_row(row, zone=zones[row["run__depot_id"]]) for row in rows]
    result["total"] = offset + len(result["stops"])
    if len(result["stops"]) == RISKY_STOPS_LIMIT or (offset and not result["stops"]):
        result["total"] = scope.count()
    return result


def _texts_ahead(*, depot_id: int, day: dt.date, share: float) -> TextsAhead:
    """The depot's day's share of texts ahead, how many were sent, and the lowest score within the share."""
    allowed, used = prearrival_daily_share(depot_id=depot_id, day=day, share=share)
    cutoff = None if share >= 1.0 else prearrival_share_cutoff(depot_id=depot_id, day=day, allowed=allowed)
    # None within the share: its cutoff is above any score (JSON has no infinity).
    return {"allowed": allowed, "used": used, "cutoff": None if cutoff is None else min(cutoff, 1.0)}


def risky_stop_row(values: Mapping[str, Any], *, zone: zoneinfo.ZoneInfo) -> RiskyStop:
    """One stop on the list, from its ``ROW_VALUES`` (plus the ``start`` and ``end`` of its window)."""
    status = values["status"]
    unit = values["order__address__unit"]
    return {
        "stop_id": values["id"],
        "run_id": values["run_id"],
        "depot_id": values["run__depot_id"],
        "service_date": values["run__service_date"].isoformat(),
        "order_reference": values["order__reference"],
        "recipient_name": values["order__recipient__name"],
        "address": f"{values['order__address__line1']}{f' #{unit}' if unit else ''}, {values['order__address__city']}",
        "driver_id": values["run__driver_id"],
        "driver_name": payloads.person_name(
            values["run__driver__user__username"],
            values["run__driver__user__first_name"],
            values["run__driver__user__last_name"],
        ),
        "planned_arrival": payloads.iso(values["planned_arrival"]),
        "window_start": payloads.iso(values["start"]),
        "window_end": payloads.iso(values["end"]),
        "status": status,
        "status_label": STOP_STATUS_LABELS.get(status, status),
        "done": status in DONE_STATUSES,
        "score": values["risk__score"],
        "reasons": [str(reason.get("label", "")) for reason in values["risk__reasons"] or [] if reason.get("label")],
        "missing": _labelled(values["risk__missing"]),
        "prearrival": _prearrival(values, zone=zone),
    }


def _labelled(codes: Sequence[str] | None) -> list[Labelled]:
    return [{"code": code, "label": MISSING_LABELS.get(code, code.replace("_", " "))} for code in codes or []]


def _prearrival(values: Mapping[str, Any], *, zone: zoneinfo.ZoneInfo) -> PrearrivalSummary | None:
    status = values["prearrival__status"]
    if status is None:
        return None
    return {
        "status": status,
        "status_label": CONTACT_STATUS_LABELS.get(status, status),
        "skip_reason": values["prearrival__skip_reason"] or "",
        "asked": _labelled(values["prearrival__asked"]),
        "learned": learned_words(values["prearrival__learned"] or {}, zone=zone, day=values["run__service_date"]),
        "asked_at": payloads.iso(values["prearrival__created_at"]),
        "answered_at": payloads.iso(values["prearrival__answered_at"]),
    }


# --- What was learned, in words --------------------------------------------------------------------------------------


def learned_words(learned: Mapping[str, Any], *, zone: zoneinfo.ZoneInfo, day: dt.date) -> list[str]:
    """What a pre-arrival answer gave us, as a dispatcher reads it: that a code came, never the code.

    ``learned`` holds what ``prevention.prearrival_reply_apply`` writes: ``access_code`` (true), ``window``
    ({start, end} in ISO 8601), ``safe_place`` and ``neighbour`` (whether the order allows it, or the
    recipient's words), ``home`` (true) and ``other`` (the reply's intent).
    """
    words: list[str] = []
    if learned.get("access_code"):
        words.append("access code received")
    window = learned.get("window")
    if isinstance(window, Mapping) and window.get("start"):
        words.append(_window_words(window, zone=zone, day=day))
    for key, noun in (("safe_place", "safe place"), ("neighbour", "neighbour")):
        if key not in learned:
            continue
        value = learned[key]
        if isinstance(value, str) and value.strip():
            # The recipient's own words: anything that could be a code or a number is masked.
            words.append(f"{noun}: {payloads.text_masked(value.strip())[:120]}")
        elif value:
            words.append("safe place given" if key == "safe_place" else "a neighbour can take it")
        else:
            words.append(f"{noun} offered, but the order does not allow it")
    if learned.get("home"):
        words.append("someone will be home")
    other = learned.get("other")
    if isinstance(other, str) and other:
        label = INTENT_LABELS.get(other.upper(), other.replace("_", " "))
        words.append(f"replied: {label[:1].lower()}{label[1:]}")
    return words


def _window_words(window: Mapping[str, Any], *, zone: zoneinfo.ZoneInfo, day: dt.date) -> str:
    try:
        start = dt.datetime.fromisoformat(str(window["start"])).astimezone(zone)
        end = dt.datetime.fromisoformat(str(window["end"])).astimezone(zone) if window.get("end") else None
    except ValueError:
        return "a delivery window"
    on = "" if start.date() == day else f"{start:%a %d %b} "
    if end is None:
        return f"delivery window from {on}{start:%H:%M}"
    until = f"{end:%H:%M}" if end.date() == start.date() else f"{end:%a %d %b %H:%M}"
    return f"delivery window {on}{start:%H:%M} to {until}"
