"""Outcomes: applying, proposing, rescheduling and ending a case.

What the order's policy or an escalation rule holds back waits for a dispatcher's approval. The
driver's outcomes resolve the case when the stop is delivered; a reschedule, when routing confirms
the slot. Every outcome decided or held carries whose choice it is (``source``, kept on the case as
``outcome_source``): the recipient's reply, automation (the playbook, a rule, the vault), a
dispatcher, or the driver's delivery. A dispatcher's approval does not change it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.text import format_lazy

from dispatch import driver_words
from dispatch.driver_words import Words
from dispatch.geo import haversine_m
from dispatch.models import Driver, DriverInstruction, Order, Stop, User, WebhookEvent
from dispatch.services.instructions import instruction_push
from dispatch.services.pickup import pickup_point_choose
from dispatch.services.stops import stop_leave_run, stop_status_set
from exceptions import ports
from exceptions.models import ExceptionCase
from exceptions.workflow.handoff import _ask, _escalate, _steps
from exceptions.workflow.timeline import _case_webhook, _change, _timer
from exceptions.workflow.vocabulary import (
    DRIVER_OUTCOMES,
    PARCEL_DONE,
    RESCHEDULE_OUTCOMES,
    ROUTING_GRACE,
    Kind,
    Outcome,
    Source,
    State,
    Timer,
    WorkflowError,
)

# Where a reply being acted on waits on the case in memory: the outcome's notice, if it ends the case at once,
# is then the reply's read-back (``exceptions.workflow.answers``).
READ_BACK = "_read_back"
# In an outcome's detail: a dispatcher who settled it said the recipient is not to be texted how it ended.
QUIET = "recipient_not_texted"


def _driver_distance(case: ExceptionCase, now: dt.datetime) -> float | None:
    """Metres from the driver's fresh last position to the stop, or None when we don't know where they are."""
    driver: Driver = case.stop.run.driver
    address = case.order.address
    if driver.last_latitude is None or driver.last_longitude is None or driver.last_seen_at is None:
        return None
    if now - driver.last_seen_at > dt.timedelta(seconds=settings.EXCEPTIONS_POSITION_MAX_AGE_S):
        return None
    return haversine_m(driver.last_latitude, driver.last_longitude, address.latitude, address.longitude)


def _policy_refusal(case: ExceptionCase, outcome: str) -> str:
    """Why the order's policy does not let automation apply this outcome ('' when it does)."""
    if outcome not in (Outcome.SAFE_DROP, Outcome.NEIGHBOUR):
        return ""
    order: Order = case.order
    return order.drop_refusal(neighbour=outcome == Outcome.NEIGHBOUR)


def _propose(
    case: ExceptionCase,
    now: dt.datetime,
    outcome: str,
    *,
    detail: dict[str, Any],
    source: str,
    text: Words = "",
    user: User | None = None,
) -> None:
    """Apply an outcome if the order's policy and the rules allow it; otherwise hold it for a dispatcher's click."""
    refusal = _policy_refusal(case, outcome)
    if user is None and refusal and not case.requires_approval and _ask_in_person(case, now, outcome, refusal):
        return
    if user is None and (refusal or case.requires_approval):
        _change(
            case,
            now=now,
            kind=Kind.DECISION,
            summary=f"{Outcome(outcome).label} needs a dispatcher's approval"
            + (f": {refusal}" if refusal else " (rule)"),
            pending_outcome=outcome,
            outcome_detail=detail,
            outcome_source=source,
        )
        _escalate(case, now, reason=refusal or "An escalation rule requires approval of the outcome.")
        return
    _apply(case, now, outcome, detail=detail, source=source, text=text, user=user)


def _ask_in_person(case: ExceptionCase, now: dt.datetime, outcome: str, refusal: str) -> bool:
    """A drop the sender forbids: ask once when someone will be in to take it, before bringing in a dispatcher."""
    if outcome not in (Outcome.SAFE_DROP, Outcome.NEIGHBOUR):
        return False
    if case.events.filter(kind=Kind.DECISION, payload__has_key="in_person").exists():
        return False  # asked already: the dispatcher decides
    steps = _steps(case)
    if not steps:
        return False
    position = min(max(case.playbook_step, 1), len(steps))
    _change(
        case,
        now=now,
        kind=Kind.DECISION,
        summary=f"{Outcome(outcome).label} not allowed: {refusal} Asking when someone will be in.",
        payload={"in_person": outcome},
    )
    _ask(case, now, ports.Topic.IN_PERSON, steps[position - 1], position, reprompt=False)
    return True


def _apply(
    case: ExceptionCase,
    now: dt.datetime,
    outcome: str,
    *,
    detail: dict[str, Any],
    source: str,
    text: Words = "",
    user: User | None = None,
) -> None:
    if outcome in DRIVER_OUTCOMES:
        text = text or _instruction_text(outcome, detail)
        _driver_outcome(case, now, outcome, text=text, detail=detail, source=source, user=user)
    elif outcome in RESCHEDULE_OUTCOMES:
        start, end = _parse(detail.get("window_start")), _parse(detail.get("window_end"))
        _reschedule(case, now, start, end, source=source, user=user)
    else:
        _terminal(case, now, outcome, detail=detail, source=source, user=user)


def _parse(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(value) if value else None


def _instruction_text(outcome: str, detail: dict[str, Any]) -> Words:
    if outcome == Outcome.SAFE_DROP:
        return driver_words.safe_drop(str(detail.get("place") or ""))
    if outcome == Outcome.NEIGHBOUR:
        return format_lazy(driver_words.NEIGHBOUR, neighbour=str(detail.get("neighbour") or detail.get("place") or ""))
    texts: dict[str, Words] = {
        Outcome.RETRY_NOW: driver_words.RETRY_NOW,
        Outcome.ACCESS_CODE_PROVIDED: driver_words.CODE_NEW,
    }
    return texts.get(outcome, driver_words.RETRY)


def _driver_outcome(
    case: ExceptionCase,
    now: dt.datetime,
    outcome: str,
    *,
    text: Words,
    detail: dict[str, Any],
    source: str,
    user: User | None = None,
) -> None:
    """An outcome the driver carries out: at once if still near the stop, else a slot later today.

    The slot later today is automation's answer to a driver who moved on (a dispatcher's, when one
    clicked), not what was asked for: it is recorded as theirs.
    """
    if _parcel_done(case, now, user=user):
        return
    distance = _driver_distance(case, now)
    if distance is None or distance > settings.EXCEPTIONS_NEARBY_M:
        where = "position unknown" if distance is None else f"{distance:.0f} m away"
        _change(
            case,
            now=now,
            kind=Kind.DECISION,
            summary=f"{Outcome(outcome).label}, but the driver has moved on ({where}): "
            "asking routing for another visit, later today if a run has room",
            payload={"distance_m": distance},
            outcome_detail={**detail, "then": outcome},
            user=user,
        )
        moved_on = Source.DISPATCHER if user is not None else Source.PLAYBOOK
        _reschedule(case, now, None, None, source=moved_on, user=user, same_day=True)
        return
    kind = DRIVER_OUTCOMES[outcome]
    wait = settings.EXCEPTIONS_WAIT_MINUTES
    if outcome == Outcome.RETRY_NOW and distance <= settings.EXCEPTIONS_AT_STOP_M and not detail.get("directions"):
        kind, text = DriverInstruction.Kind.WAIT, format_lazy(driver_words.COMING_DOWN, minutes=wait)
    stop = case.stop
    instruction = instruction_push(
        driver=stop.run.driver, kind=kind, text=text, stop=stop, payload={"case_id": case.pk, "minutes": wait}
    )
    stop_status_set(stop=stop, status=Stop.Status.PENDING, order_status=Order.Status.OUT_FOR_DELIVERY)
    _change(
        case,
        now=now,
        kind=Kind.INSTRUCTION,
        summary=f"Driver told: {driver_words.written(text, driver_words.ENGLISH)}",
        payload={"instruction_id": instruction.pk, "seq": instruction.seq, "distance_m": round(distance)},
        state=State.RESOLVING,
        pending_outcome=outcome,
        outcome_detail=detail,
        outcome_source=source,
        requires_approval=False,
        user=user,
        **_timer(Timer.DRIVER_RETRY, now + dt.timedelta(minutes=settings.EXCEPTIONS_RETRY_MINUTES)),
    )


def _parcel_done(case: ExceptionCase, now: dt.datetime, *, user: User | None) -> bool:
    """True when the parcel was delivered, returned or cancelled (a case reopened after it): it does not go out
    again. A dispatcher is told why (``WorkflowError``); automation hands the case to one."""
    done = PARCEL_DONE.get(case.order.status)
    if not done:
        return False
    why = f"The parcel was {done}: it does not go out again."
    if user is not None:
        raise WorkflowError(f"{why} Call the recipient, then resolve the case or return the parcel to the sender.")
    _escalate(case, now, reason=f"{why} A dispatcher decides what the recipient's request needs.")
    return True


def _reschedule_outcome(case: ExceptionCase, now: dt.datetime, start: dt.datetime | None) -> str:
    """Later today (or as soon as possible) is a same-day reschedule; another day, a later one."""
    zone = case.depot.time_zone
    if start is None or timezone.localdate(start, zone) == timezone.localdate(now, zone):
        return Outcome.RESCHEDULED_SAME_DAY
    return Outcome.RESCHEDULED_LATER


def _reschedule(
    case: ExceptionCase,
    now: dt.datetime,
    start: dt.datetime | None,
    end: dt.datetime | None,
    *,
    source: str,
    user: User | None = None,
    same_day: bool = False,
) -> None:
    if _parcel_done(case, now, user=user):
        return
    outcome = Outcome.RESCHEDULED_SAME_DAY if same_day else _reschedule_outcome(case, now, start)
    detail = {**case.outcome_detail, "window_start": start, "window_end": end}
    request = ports.routing().reinsert(case=case, window_start=start, window_end=end)
    if not request.accepted:
        _change(
            case,
            now=now,
            kind=Kind.ROUTE_CHANGE,
            summary="Routing could not take it",
            pending_outcome=outcome,
            outcome_detail=detail,
            outcome_source=source,
            user=user,
        )
        _escalate(case, now, reason=request.reason or "No slot found: a dispatcher picks one.")
        return
    when = f" for {timezone.localtime(start, case.depot.time_zone):%a %H:%M}" if start else ""
    _change(
        case,
        now=now,
        kind=Kind.ROUTE_CHANGE,
        summary=f"Asked routing for a new slot{when}",
        state=State.RESOLVING,
        pending_outcome=outcome,
        outcome_detail=detail,
        outcome_source=source,
        requires_approval=False,
        user=user,
        **_timer(Timer.ROUTING, now + ROUTING_GRACE),
    )


def _terminal(
    case: ExceptionCase,
    now: dt.datetime,
    outcome: str,
    *,
    detail: dict[str, Any],
    source: str,
    user: User | None = None,
) -> None:
    """Outcomes that take the parcel off the road: pickup point, return to sender, cancelled."""
    stop = case.stop
    order_statuses: dict[str, str] = {
        Outcome.RETURNED_TO_SENDER: Order.Status.RETURNED,
        Outcome.CANCELLED: Order.Status.CANCELLED,
    }
    order_status = order_statuses.get(outcome, Order.Status.RESCHEDULED)
    point = None
    if outcome == Outcome.PICKUP_POINT:
        named = str(detail.get("place") or "")
        point = pickup_point_choose(depot_id=case.depot_id, address=case.order.address, named=named)
        detail = {**detail, "pickup_point_id": point.pk if point else None, "pickup_point": str(point or "")}
    if stop.status in Stop.ACTIVE_STATUSES:
        texts: dict[str, Words] = {
            Outcome.RETURNED_TO_SENDER: driver_words.RETURN_TO_SENDER,
            Outcome.PICKUP_POINT: driver_words.collects_at(point),
        }
        stop_leave_run(
            stop=stop,
            status=Stop.Status.CANCELLED if outcome == Outcome.CANCELLED else Stop.Status.SKIPPED,
            order_status=order_status,
            text=texts.get(outcome, driver_words.BACK_TO_DEPOT),
            payload={"case_id": case.pk},
        )
    _resolve(case, now, outcome, detail=detail, source=source, user=user)


def _resolve(
    case: ExceptionCase,
    now: dt.datetime,
    outcome: str,
    *,
    source: str,
    detail: dict[str, Any] | None = None,
    user: User | None = None,
) -> None:
    _change(
        case,
        now=now,
        kind=Kind.STATE,
        summary=f"Resolved: {Outcome(outcome).label}",
        state=State.RESOLVED,
        outcome=outcome,
        outcome_detail=detail if detail is not None else case.outcome_detail,
        outcome_source=source,
        pending_outcome="",
        requires_approval=False,
        resolved_by=user,
        **_timer(),
    )
    heard = case.__dict__.pop(READ_BACK, None)
    if heard is not None:
        ports.outreach().read_back(case=case, heard=heard, final=True)
    elif not case.outcome_detail.get(QUIET):
        ports.outreach().notify_outcome(case=case)
    _case_webhook(case, WebhookEvent.CASE_RESOLVED)
