"""Reads for the live exception board: who may see which depots, the snapshot, and one case's panel.

The snapshot reads each depot's event number *before* its rows. An event is
numbered after its transaction commits, so every event numbered up to the
snapshot's number is already in its rows, and a client that applies only the
events numbered after it misses nothing and applies nothing twice (a row it
already has comes again with the same or a newer ``version``).

Each read is a fixed number of queries, however many cases are open: the queue
is one ``.values()`` query (the newest timeline line is a correlated subquery on
the timeline's index), the counters one aggregate, the drivers one query.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import import_module
from types import SimpleNamespace
from typing import Any, TypedDict, cast

from django.conf import settings
from django.contrib import auth
from django.contrib.sessions.backends.base import SessionBase
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest
from django.utils import timezone

from dispatch import realtime, roles
from dispatch.masking import phone_masked
from dispatch.models import Depot, Driver, Order, Stop, User
from dispatch.selectors import driver_run_current, user_depots
from exceptions import ports
from exceptions.board import payloads
from exceptions.board.evidence import case_approval, case_evidence, case_loaded
from exceptions.board.payloads import CaseDetail, CaseRow
from exceptions.models import CaseEvent, ExceptionCase

State = ExceptionCase.State

# The queue: what needs, or may yet need, a human.
QUEUE_STATES = ExceptionCase.OPEN_STATES


# --- Who sees what --------------------------------------------------------------------------------------------------


def board_user_allowed(user: Any) -> bool:
    """A signed-in, active dispatcher or admin (staff counts as a dispatcher)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser or user.is_staff:
        return True
    return bool(user.groups.filter(name__in=[roles.ADMINS, roles.DISPATCHERS]).exists())


def board_depots(*, user: User) -> QuerySet[Depot]:
    """The depots a board user works: every depot for an admin, a dispatcher's own (``User.depots``)."""
    depots = user_depots(user=user)
    return (Depot.objects.all() if depots is None else depots).order_by("name")


def board_depot_ids(*, user: User) -> list[int] | None:
    """The ids of the user's depots, or None when the user may not use the board at all."""
    if not board_user_allowed(user):
        return None
    return list(board_depots(user=user).values_list("pk", flat=True))


def board_access(*, session_key: str | None) -> frozenset[int] | None:
    """What a websocket's session may see now, read afresh: None once it is signed out or not allowed.

    The session is loaded again and checked by Django's own ``get_user`` (signed out, expired, or a
    password changed since: no user), so the feed ends the way the pages' session would.
    """
    if not session_key:
        return None
    session: SessionBase = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = auth.get_user(cast(HttpRequest, SimpleNamespace(session=session)))
    depot_ids = board_depot_ids(user=cast(User, user))
    return None if depot_ids is None else frozenset(depot_ids)


# --- Rows -----------------------------------------------------------------------------------------------------------


def _latest_summary() -> Subquery:
    # The line written last (the highest id): the same one the workflow puts in its event's row.
    return Subquery(CaseEvent.objects.filter(case_id=OuterRef("pk")).order_by("-id").values("summary")[:1])


def case_rows(cases: QuerySet[ExceptionCase]) -> list[CaseRow]:
    """The board rows of these cases, in the queryset's order, in one query."""
    values = cases.annotate(last_summary=_latest_summary()).values(*payloads.CASE_ROW_VALUES, "last_summary")
    return [payloads.case_row(row) for row in values]


def case_row_get(*, case_id: int) -> CaseRow | None:
    rows = case_rows(ExceptionCase.objects.filter(pk=case_id))
    return rows[0] if rows else None


# --- Search ---------------------------------------------------------------------------------------------------------

SEARCH_LIMIT = 25
_DIGITS_ONLY = re.compile(r"^\+?[\d\s().-]+$")


def cases_search(*, depot_ids: Sequence[int], text: str) -> list[CaseRow]:
    """Cases of these depots, open or ended, newest first (at most ``SEARCH_LIMIT``), whose order reference,
    recipient's name or street address holds ``text``, or, when only digits are typed, whose recipient's phone
    number ends with them."""
    text = text.strip()
    match = (
        Q(order__reference__icontains=text)
        | Q(order__recipient__name__icontains=text)
        | Q(order__address__line1__icontains=text)
    )
    digits = re.sub(r"\D", "", text)
    if _DIGITS_ONLY.match(text) and len(digits) >= 2:
        match |= Q(order__recipient__phone__endswith=digits)
    found = ExceptionCase.objects.filter(depot_id__in=depot_ids).filter(match).order_by("-opened_at", "-pk")
    ids = list(found.values_list("pk", flat=True)[:SEARCH_LIMIT])
    rows = {row["id"]: row for row in case_rows(ExceptionCase.objects.filter(pk__in=ids))}
    return [rows[pk] for pk in ids if pk in rows]


# --- Parcels waiting for a later day's plan ---------------------------------------------------------------------------

WAITING_LIMIT = 200


def parcels_waiting(*, depot_ids: Sequence[int]) -> payloads.WaitingParcels:
    """Parcels moved to a day with no run planned yet, soonest day first: still rescheduled, on no run."""
    cases = (
        ExceptionCase.objects.filter(
            depot_id__in=depot_ids,
            outcome=ExceptionCase.Outcome.RESCHEDULED_LATER,
            outcome_detail__has_key="planned_day",
            order__status=Order.Status.RESCHEDULED,
        )
        .exclude(order__stops__status=Stop.Status.PENDING)
        .select_related("order__recipient", "order__address", "reason_code")
        .order_by("outcome_detail__planned_day", "order__window_start", "pk")
    )
    total = cases.count()
    parcels: list[payloads.WaitingParcel] = [
        {
            "case_id": case.pk,
            "depot_id": case.depot_id,
            "order_reference": case.order.reference,
            "recipient_name": case.order.recipient.name,
            "address": str(case.order.address),
            "reason_label": case.reason_code.label,
            "planned_day": str(case.outcome_detail["planned_day"]),
            "window_start": payloads.iso(case.order.window_start),
            "window_end": payloads.iso(case.order.window_end),
            "since": payloads.iso(case.resolved_at),
        }
        for case in cases[:WAITING_LIMIT]
    ]
    return {"parcels": parcels, "total": total, "limit": WAITING_LIMIT}


def driver_route(*, driver_id: int, depot_ids: Sequence[int]) -> payloads.DriverRoute | None:
    """The stops a driver of one's depots has left on today's run, in sequence; None for anyone else's driver."""
    driver = Driver.objects.select_related("user", "depot").filter(pk=driver_id, depot_id__in=depot_ids).first()
    if driver is None:
        return None
    run = driver_run_current(driver=driver)
    stops = (
        Stop.objects.filter(run=run, status__in=Stop.ACTIVE_STATUSES)
        .select_related("order__address")
        .order_by("sequence")
        if run is not None
        else Stop.objects.none()
    )
    return {
        "driver_id": driver.pk,
        "driver_name": driver.user.get_full_name() or driver.user.get_username(),
        "run_id": run.pk if run is not None else None,
        "lat": driver.last_latitude,
        "lng": driver.last_longitude,
        "stops": [
            {
                "stop_id": stop.pk,
                "sequence": stop.sequence,
                "order_reference": stop.order.reference,
                "lat": stop.order.address.latitude,
                "lng": stop.order.address.longitude,
                "planned_arrival": payloads.iso(stop.planned_arrival),
                "status": stop.status,
            }
            for stop in stops
        ],
    }


# --- The snapshot ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoardFilters:
    """Narrow the queue. ``min_age_minutes``: only cases opened at least that long ago."""

    states: tuple[str, ...] = ()
    reason_code: str = ""
    driver_id: int | None = None
    min_age_minutes: int | None = None


class Counters(TypedDict):
    open: int
    escalated: int
    breaching: int
    auto_resolved_today: int


class DriverPosition(TypedDict):
    id: int
    name: str
    lat: float
    lng: float
    seen_at: str | None


class Snapshot(TypedDict):
    seq: dict[str, int]
    cases: list[CaseRow]
    counters: Counters
    drivers: list[DriverPosition]


def board_queue(*, depot_ids: Sequence[int], filters: BoardFilters, now: dt.datetime) -> QuerySet[ExceptionCase]:
    """Open cases of the depots, most urgent first: by priority, then the SLA clock."""
    cases = ExceptionCase.objects.filter(depot_id__in=depot_ids, state__in=QUEUE_STATES)
    if filters.states:
        cases = cases.filter(state__in=filters.states)
    if filters.reason_code:
        cases = cases.filter(reason_code__code=filters.reason_code)
    if filters.driver_id is not None:
        cases = cases.filter(stop__run__driver_id=filters.driver_id)
    if filters.min_age_minutes is not None:
        cases = cases.filter(opened_at__lte=now - dt.timedelta(minutes=filters.min_age_minutes))
    return cases.order_by("priority", F("sla_due_at").asc(nulls_last=True), "opened_at", "id")


def board_counters(*, depots: Sequence[Depot], now: dt.datetime) -> Counters:
    """Open, escalated and SLA-breaching cases now; resolved today (each depot's own day) with no dispatcher.

    A case is breaching once its SLA is due, before the sweep marks it. The counters ignore the
    queue's filters other than the depot: they describe the depot, not the view.
    """
    if not depots:
        return {"open": 0, "escalated": 0, "breaching": 0, "auto_resolved_today": 0}
    today = Q(pk__in=[])
    for depot in depots:
        midnight = dt.datetime.combine(timezone.localdate(now, depot.time_zone), dt.time(), tzinfo=depot.time_zone)
        today |= Q(depot_id=depot.pk, resolved_at__gte=midnight)
    open_ = Q(state__in=QUEUE_STATES)
    # Open cases, and those resolved since the earliest midnight: both ranges are indexed.
    earliest = min(
        dt.datetime.combine(timezone.localdate(now, depot.time_zone), dt.time(), tzinfo=depot.time_zone)
        for depot in depots
    )
    totals = (
        ExceptionCase.objects.filter(depot_id__in=[depot.pk for depot in depots])
        .filter(open_ | Q(resolved_at__gte=earliest))
        .aggregate(
            open=Count("pk", filter=open_),
            escalated=Count("pk", filter=Q(state=State.ESCALATED)),
            breaching=Count("pk", filter=open_ & (Q(sla_breached_at__isnull=False) | Q(sla_due_at__lte=now))),
            auto_resolved_today=Count("pk", filter=today & Q(touched_by_dispatcher=False)),
        )
    )
    return {
        "open": totals["open"],
        "escalated": totals["escalated"],
        "breaching": totals["breaching"],
        "auto_resolved_today": totals["auto_resolved_today"],
    }


def board_drivers(*, depot_ids: Sequence[int]) -> list[DriverPosition]:
    """Active drivers of the depots with a known position: their last GPS fix."""
    rows = (
        Driver.objects.filter(depot_id__in=depot_ids, active=True, last_latitude__isnull=False)
        .order_by("user__username")
        .values("id", "user__username", "user__first_name", "user__last_name", "last_latitude", "last_longitude")
        .annotate(seen_at=F("last_seen_at"))
    )
    return [
        {
            "id": row["id"],
            "name": payloads.person_name(row["user__username"], row["user__first_name"], row["user__last_name"]),
            "lat": row["last_latitude"],
            "lng": row["last_longitude"],
            "seen_at": payloads.iso(row["seen_at"]),
        }
        for row in rows
    ]


def board_snapshot(*, depots: Sequence[Depot], filters: BoardFilters, now: dt.datetime | None = None) -> Snapshot:
    """The board as it is: event numbers first, then the queue, the counters and the drivers."""
    now = now or timezone.now()
    depot_ids = [depot.pk for depot in depots]
    # Before any row is read: see the module's docstring.
    seq = realtime.board_seq_current(depot_ids)
    cases = case_rows(board_queue(depot_ids=depot_ids, filters=filters, now=now))
    return {
        "seq": {str(depot_id): number for depot_id, number in seq.items()},
        "cases": cases,
        "counters": board_counters(depots=depots, now=now),
        "drivers": board_drivers(depot_ids=depot_ids),
    }


# --- One case's panel -----------------------------------------------------------------------------------------------


def case_depot_id(*, case_id: int, depot_ids: Sequence[int]) -> int | None:
    """The case's depot when it is one of these; None for another depot's case or none at all."""
    return ExceptionCase.objects.filter(pk=case_id, depot_id__in=depot_ids).values_list("depot_id", flat=True).first()


ORDER_FIELDS = (
    "reference",
    "declared_value",
    "parcel_count",
    "signature_required",
    "safe_drop_allowed",
    "neighbour_allowed",
    "window_start",
    "window_end",
)
RECIPIENT_FIELDS = ("name", "phone", "language", "preferred_channel", "opted_out", "external_id")


def case_actions(*, state: str, pending_outcome: str, reachable: bool, callable_: bool = False) -> list[str]:
    """The actions the board offers now; the workflow has the last word on each."""
    if state not in QUEUE_STATES:
        return []
    actions = []
    if pending_outcome and state != State.RESOLVING:
        actions.append("approve")
    actions += ["resolve", "window", "access-code"]
    if reachable:
        actions.append("message")
    if callable_:
        actions.append("phone")
    actions += ["call", "return", "assign"]
    if state == State.ESCALATED:
        actions.append("release")
    return actions


def depot_assignees(*, depot_id: int) -> list[payloads.Assignee]:
    """The active dispatchers of a depot, by name: whom its cases can be assigned to."""
    users = (
        User.objects.filter(is_active=True, depots=depot_id)
        .order_by("first_name", "last_name", "username")
        .values("pk", "username", "first_name", "last_name")
    )
    return [
        {
            "id": user["pk"],
            "username": user["username"],
            "name": f"{user['first_name']} {user['last_name']}".strip() or user["username"],
        }
        for user in users
    ]


# A reply and the desk's reading of it are written in the same moment.
READING_SLACK = dt.timedelta(seconds=5)


def _with_readings(messages: list[dict[str, Any]], *, case_id: int) -> list[dict[str, Any]]:
    """Each reply with what the desk understood from it ("reschedule: 'mañana por la mañana' → tomorrow 08:00"), so a
    dispatcher who does not read the recipient's language still knows what was said."""
    readings = list(
        CaseEvent.objects.filter(case_id=case_id, kind=CaseEvent.Kind.UNDERSTANDING)
        .order_by("at", "pk")
        .values_list("at", "payload")
    )
    for message in messages:
        if message["direction"] != "inbound" or message.get("created_at") is None:
            continue
        at = message["created_at"]
        near = [payload for when, payload in readings if abs(when - at) <= READING_SLACK]
        if near:
            heard = near[0]
            intent = str(heard.get("intent", "")).replace("_", " ").lower()
            message["reading"] = f"{intent}: {heard.get('why', '')}".strip(": ")
    return messages


def board_case_detail(*, case_id: int, depot_ids: Sequence[int]) -> CaseDetail | None:
    """A case's panel, or None when it is not in the user's depots."""
    case = (
        ExceptionCase.objects.filter(pk=case_id, depot_id__in=depot_ids)
        .select_related("order__address", "order__recipient")
        .only(
            "pk",
            "state",
            "pending_outcome",
            *(f"order__{name}" for name in ORDER_FIELDS),
            *(f"order__address__{name}" for name in ("line1", "unit", "city")),
            *(f"order__recipient__{name}" for name in RECIPIENT_FIELDS),
        )
        .first()
    )
    if case is None:
        return None
    row = case_row_get(case_id=case_id)
    if row is None:  # deleted in between
        return None
    order, recipient = case.order, case.order.recipient
    timeline = CaseEvent.objects.filter(case_id=case_id).order_by("at", "id")
    keep = (order.reference,)
    now = timezone.now()
    reachable = ports.outreach().can_reach(recipient=recipient)
    conversation = [
        payloads.conversation_item(item, now=now, keep=keep)
        for item in _with_readings(ports.outreach().conversation(case_id=case_id), case_id=case_id)
    ]
    callable_ = ports.outreach().can_call(recipient=recipient)
    actions = case_actions(
        state=case.state, pending_outcome=case.pending_outcome, reachable=reachable, callable_=callable_
    )
    loaded = case_loaded(case_id)  # one read for the evidence and the approval
    if actions and any(item["status"] == "held" for item in conversation):
        actions.append("send-now")
    return {
        "case": row,
        "timeline": [
            payloads.timeline_item(item)
            for item in timeline.values(
                "at",
                "kind",
                "actor",
                "summary",
                "actor_user__username",
                "actor_user__first_name",
                "actor_user__last_name",
            )
        ],
        "conversation": conversation,
        "evidence": case_evidence(loaded, now=now),
        "approval": case_approval(loaded, now=now),
        "order": {
            "reference": order.reference,
            "value": str(order.declared_value),
            "parcels": order.parcel_count,
            "signature_required": order.signature_required,
            "safe_drop_allowed": order.safe_drop_allowed,
            "neighbour_allowed": order.neighbour_allowed,
            "window_start": payloads.iso(order.window_start),
            "window_end": payloads.iso(order.window_end),
            "address": str(order.address),
        },
        "recipient": {
            "name": recipient.name,
            "phone_masked": phone_masked(recipient.phone),
            "language": recipient.language,
            "preferred_channel": recipient.preferred_channel,
            "opted_out": recipient.opted_out,
        },
        "actions": actions,
        "assignees": depot_assignees(depot_id=row["depot_id"]),
    }
