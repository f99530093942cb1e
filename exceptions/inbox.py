"""The desk's door: what the rest of the product tells it.

The domain calls in through its port (``dispatch.ports.Desk``: a failed or delivered scan, a planned day), and
the adapters of outreach and routing bring their answers here (a reply, a text that reached nobody, a slot
found or not). This module hands each to the workflow, the texts ahead of the driver or the risk scoring, so
nothing below the desk imports them.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.db import transaction

from exceptions import ports, prevention, workflow
from exceptions.models import ExceptionCase, PreArrivalContact
from exceptions.ports import ReplyIntent, Understanding
from exceptions.tasks import risk_score_plan_task, risk_score_runs_task
from exceptions.workflow import case_open, case_stop_delivered

if TYPE_CHECKING:
    from dispatch.models import Depot, ScanEvent, Stop


class Inbox:
    """``dispatch.ports.Desk``, answered by the workflow."""

    def scan_failed(self, *, scan: ScanEvent, first_failure: bool) -> int | None:
        return case_open(scan=scan, first_failure=first_failure).pk

    def scan_delivered(self, *, scan: ScanEvent) -> None:
        case_stop_delivered(scan=scan)

    def call_recipient(self, *, stop: Stop, caller_phone: str, user_id: int) -> str:
        # On the open case's line when there is one, so the call's ending lands on its timeline.
        case = ExceptionCase.objects.filter(stop=stop, state__in=ExceptionCase.OPEN_STATES).order_by("-pk").first()
        outreach = ports.outreach()
        if case is not None:
            placed = outreach.call(case=case, caller_phone=caller_phone, user_id=user_id, caller="driver")
        else:
            placed = outreach.call_ahead(stop=stop, caller_phone=caller_phone, user_id=user_id)
        return "" if placed.reachable else placed.reason

    def can_call(self, *, stop: Stop) -> bool:
        return ports.outreach().can_call(recipient=stop.order.recipient)

    def day_planned(self, *, depot: Depot, service_date: dt.date) -> None:
        depot_id, day = depot.pk, service_date.isoformat()
        transaction.on_commit(lambda: risk_score_plan_task.delay(depot_id, day), robust=True)


# --- From outreach's adapter -----------------------------------------------------------------------------------------

# A reply about a stop ahead of the driver is read against what was asked: a code, or when and where.
AHEAD_READING = {True: "ACCESS_DENIED", False: "RECIPIENT_ABSENT"}


def open_case_states() -> tuple[str, ...]:
    """A reply from a recipient answers their case while it is in one of these."""
    return tuple(ExceptionCase.OPEN_STATES)


def ahead_reading(stop_id: int) -> str:
    asked = PreArrivalContact.objects.filter(stop_id=stop_id).values_list("asked", flat=True).first() or []
    return AHEAD_READING["access_code" in asked]


def case_confirming(case_id: int) -> Understanding | None:
    """The reading a case asked its recipient to confirm, which their next reply is read against."""
    return workflow.case_confirming(case_id)


def case_replied(*, case_id: int, understood: Understanding, now: dt.datetime) -> None:
    workflow.case_reply_apply(case_id=case_id, understood=understood, now=now)


def ahead_replied(*, stop_id: int, understood: Understanding, now: dt.datetime) -> None:
    # STOP and START are the carrier's business and outreach's (the recipient's consent), not the stop's.
    if understood.intent not in (ReplyIntent.OPT_OUT, ReplyIntent.OPT_IN):
        prevention.prearrival_reply_apply(stop_id=stop_id, understood=understood, now=now)


def case_call_ended(*, case_id: int, summary: str, user_id: int | None, call_id: int, caller: str) -> None:
    workflow.case_call_ended(case_id=case_id, summary=summary, user_id=user_id, call_id=call_id, caller=caller)


def case_unreachable(*, case_id: int, reason: str) -> None:
    workflow.case_outreach_failed(case_id=case_id, reason=reason)


def ahead_window_answered(
    *, stop_id: int, placed: bool, window_start: dt.datetime, window_end: dt.datetime | None
) -> None:
    prevention.prearrival_window_answered(
        stop_id=stop_id, placed=placed, window_start=window_start, window_end=window_end
    )


def ahead_unreachable(*, stop_id: int, reason: str) -> None:
    prevention.prearrival_undelivered(stop_id=stop_id, reason=reason)


# --- From routing's adapter ------------------------------------------------------------------------------------------


# Each answer from routing names the window it was asked for: an answer for a window the recipient has since
# changed (a newer time superseded it) is not the case's any more.


def slot_wanted(case_id: int, window_start: dt.datetime | None) -> int | None:
    """The stop a case wants a slot for, while it still does (resolving, for that window); None when it moved on."""
    case = ExceptionCase.objects.filter(pk=case_id).only("pk", "stop_id", "state", "outcome_detail").first()
    if case is None or case.state != ExceptionCase.State.RESOLVING or not workflow.case_window_is(case, window_start):
        return None
    return case.stop_id


def slot_still_wanted(case_id: int, window_start: dt.datetime | None) -> bool:
    """Asked under the plan's locks, just before it changes: the case, locked, still waits for the slot."""
    return workflow.case_awaiting_slot(case_id=case_id, asked=window_start) is not None


def slot_found(
    *,
    case_id: int,
    stop_id: int,
    summary: str,
    later_day: bool,
    payload: dict[str, Any],
    window_start: dt.datetime | None,
) -> None:
    workflow.case_reschedule_confirm(
        case_id=case_id, new_stop_id=stop_id, summary=summary, later_day=later_day, payload=payload, asked=window_start
    )


def slot_awaits_plan(
    *, case_id: int, day: dt.date, window_start: dt.datetime | None, window_end: dt.datetime | None
) -> None:
    workflow.case_reschedule_await_plan(
        case_id=case_id, day=day, window_start=window_start, window_end=window_end, asked=window_start
    )


def slot_not_found(*, case_id: int, reason: str, window_start: dt.datetime | None) -> None:
    workflow.case_reschedule_fail(case_id=case_id, reason=reason, asked=window_start)


def slot_requests_unanswered(*, asked_before: dt.datetime, now: dt.datetime, limit: int) -> list[tuple[int, Any]]:
    """Cases still waiting for the slot they asked for before ``asked_before``: (case id, outcome detail).

    The request is the case itself (resolving, a reschedule pending, the routing timer armed when it asked).
    """
    rows = (
        ExceptionCase.objects.filter(
            state=ExceptionCase.State.RESOLVING,
            pending_outcome__in=workflow.RESCHEDULE_OUTCOMES,
            next_action=ExceptionCase.Timer.ROUTING,
            # Asked before then, and the routing timer has not fired yet.
            next_action_due_at__lte=asked_before + workflow.ROUTING_GRACE,
            next_action_due_at__gt=now,
        )
        .order_by("next_action_due_at")
        .values_list("pk", "outcome_detail")[:limit]
    )
    return list(rows)


def runs_changed(*, run_ids: list[int]) -> None:
    """Runs were re-planned: their stops' arrivals moved, and so did their risk."""
    ids = list(run_ids)
    transaction.on_commit(lambda: risk_score_runs_task.delay(ids), robust=True)
