"""Answers from outside: the recipient's reply, routing's slot or its failure, the driver's delivery."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.text import format_lazy

from dispatch import driver_words
from dispatch.models import AccessCredential, Order, ScanEvent, Stop
from dispatch.services.stops import stop_leave_run, stop_status_set
from dispatch.services.vault import (
    access_credential_record,
    access_credential_supersede,
    access_credentials_worked,
)
from exceptions import ports
from exceptions.models import ExceptionCase
from exceptions.ports import ReplyIntent, Understanding
from exceptions.workflow.confirm import _confirm_first, _confirm_refused, reading_words
from exceptions.workflow.handoff import _ask, _escalate, _last_topic, _steps
from exceptions.workflow.late import Late, _late_reply
from exceptions.workflow.outcomes import READ_BACK, _propose, _reschedule_outcome, _resolve
from exceptions.workflow.timeline import CASE_RELATED, _change, _locked, _save, _timer
from exceptions.workflow.triage import _rules_apply
from exceptions.workflow.vocabulary import (
    ANY_WINDOW,
    DIRECTIONS_MAX,
    DIRECTIONS_NOTE,
    DRIVER_OUTCOMES,
    RESCHEDULE_OUTCOMES,
    Actor,
    Heard,
    Kind,
    Outcome,
    Source,
    State,
    WorkflowError,
    is_request,
)

# --- The recipient ---------------------------------------------------------------------------------------------------


def case_reply_apply(
    *, case_id: int, understood: Understanding, now: dt.datetime | None = None, passed_from: int | None = None
) -> ExceptionCase | None:
    """Act on an understood reply. A reply to a case a dispatcher owns is recorded for them, not acted on.

    A reply after the case ended is heard as ``exceptions.workflow.late`` says: a request goes to the
    order's open case or reopens this one, then is acted on here as any reply; the rest is filed. Returns
    the case that took the reply. ``passed_from``: the ended case the reply was written to.
    """
    now = now or timezone.now()
    with transaction.atomic():
        case = _locked(case_id)
        if case is None:
            return None
        shown = {
            **understood.__dict__,
            "code": "•" * len(understood.code) if understood.code else "",
            "evidence": [dataclasses.asdict(e) for e in understood.evidence],
        }
        heard: dict[str, Any] = {"heard": Heard.OPEN}
        summary = f"Reply understood: {ReplyIntent(understood.intent).label}"
        late: Late | None = None
        if not case.is_open:
            late = _late_reply(case, now, understood, shown)
            case = late.case
            if late.passed_to is not None:
                _save(case)
                return case_reply_apply(case_id=late.passed_to, understood=understood, now=now, passed_from=case.pk)
            if late.heard != Heard.REOPENED:
                _save(case)
                return case
            heard, summary = {"heard": Heard.REOPENED, "late": True}, f"{summary} (after the case ended)"
        if passed_from is not None:
            heard["passed_from"] = passed_from
            summary = f"{summary} (about case #{passed_from}, which had ended)"
        _change(
            case,
            now=now,
            kind=Kind.UNDERSTANDING,
            summary=summary,
            payload={**shown, **heard},
            last_reply_at=now,
            last_intent=understood.intent,
        )
        owned = case.state == State.ESCALATED and (case.touched_by_dispatcher or case.assigned_to_id is not None)
        # Before triage nobody was asked yet: the reply is on the timeline and triage reads the case as it is.
        untriaged = case.state == State.OPENED
        if late is not None and late.escalate:
            _escalate(case, now, reason=late.escalate)
        elif not owned and not untriaged and not _rules_apply(case, now):
            _reply_act(case, now, understood)
        if late is not None and case.state == State.TRIAGING:
            # Every request moves a reopened case on; should one not, a person takes it rather than nobody.
            _escalate(case, now, reason="The recipient wrote after the case ended: a dispatcher decides.")
        _save(case)
        return case


def _reply_act(case: ExceptionCase, now: dt.datetime, understood: Understanding) -> None:
    """Act on what the reply says; an outcome it leads to is the recipient's choice, and is read back to them.

    While an outcome is being carried out, the same reading again (a twin reply) changes nothing; a different
    one supersedes it: a new code, place or time replaces the pending outcome and the driver is told.
    """
    if _confirm_refused(case, now, understood) or _confirm_first(case, now, understood):
        return
    if case.state == State.RESOLVING and understood.intent not in (ReplyIntent.CALL_REQUEST, ReplyIntent.REFUSE):
        if not is_request(understood) or _twin(case, understood):
            return
        _supersede(case, now, understood)
    # The outcome's own notice, when the reply ends the case at once, is this read-back (one text, not two).
    setattr(case, READ_BACK, understood)
    try:
        _reply_outcome(case, now, understood)
    finally:
        heard = case.__dict__.pop(READ_BACK, None)
    if heard is not None and case.state == State.RESOLVING and is_request(understood):
        ports.outreach().read_back(case=case, heard=heard, final=False)


def _pending(case: ExceptionCase) -> str:
    """The outcome being carried out; a driver's outcome stays itself when the driver moved on (a slot later)."""
    return str(case.outcome_detail.get("then") or case.pending_outcome)


def _twin(case: ExceptionCase, understood: Understanding) -> bool:
    """Whether the reply says again what is being carried out."""
    pending, detail, intent = _pending(case), case.outcome_detail, understood.intent
    if intent == ReplyIntent.ACCESS_CODE:
        if pending != Outcome.ACCESS_CODE_PROVIDED:
            return False
        held = AccessCredential.objects.filter(pk=detail.get("credential_id")).first()
        return held is not None and held.secret == understood.code.strip()
    if intent == ReplyIntent.RESCHEDULE:
        wanted = detail.get("window_start")
        same = (dt.datetime.fromisoformat(wanted) if wanted else None) == understood.window_start
        return pending in RESCHEDULE_OUTCOMES and same
    same_detail: dict[str, tuple[str, str]] = {
        ReplyIntent.AVAILABLE_NOW: (Outcome.RETRY_NOW, ""),
        ReplyIntent.SAFE_DROP: (Outcome.SAFE_DROP, "place"),
        ReplyIntent.NEIGHBOR: (Outcome.NEIGHBOUR, "neighbour"),
        ReplyIntent.DIRECTIONS: (Outcome.RETRY_NOW, "directions"),
    }
    if intent not in same_detail:
        return False
    outcome, field = same_detail[intent]
    if pending != outcome:
        return False
    if intent == ReplyIntent.DIRECTIONS:
        return bool(detail.get(field) == understood.detail[:DIRECTIONS_MAX])
    return not field or detail.get(field) == understood.detail


def _supersede(case: ExceptionCase, now: dt.datetime, understood: Understanding) -> None:
    """A later reply replaces the outcome being carried out; a code it corrects is no longer handed out."""
    pending = _pending(case)
    credential_id = case.outcome_detail.get("credential_id")
    if pending == Outcome.ACCESS_CODE_PROVIDED and credential_id:
        access_credential_supersede(credential_id=credential_id, address_id=case.order.address_id, now=now)
    _change(
        case,
        now=now,
        kind=Kind.DECISION,
        summary=f"Superseded: {Outcome(pending).label} gives way to the recipient's newer reply "
        f"({reading_words(understood)})",
        payload={"superseded": pending, "credential_id": credential_id},
        # Back to where the reply is acted on afresh: whatever it leads to (an outcome, a question, a dispatcher)
        # replaces the pending outcome, and a slot search still under way finds nothing left to answer.
        state=State.TRIAGING,
        pending_outcome="",
        outcome_detail={},
        **_timer(),
    )


def _reply_outcome(case: ExceptionCase, now: dt.datetime, understood: Understanding) -> None:
    intent = understood.intent
    recipient = Source.RECIPIENT
    if intent == ReplyIntent.ACCESS_CODE and understood.code:
        credential, _ = access_credential_record(
            address_id=case.order.address_id, secret=understood.code, source=AccessCredential.Source.RECIPIENT
        )
        detail = {"credential_id": credential.pk, "source": "recipient"}
        _propose(case, now, Outcome.ACCESS_CODE_PROVIDED, detail=detail, source=recipient)
    elif intent == ReplyIntent.AVAILABLE_NOW:
        _propose(case, now, Outcome.RETRY_NOW, detail={}, source=recipient)
    elif intent == ReplyIntent.RESCHEDULE and understood.window_start is not None:
        detail = {"window_start": understood.window_start, "window_end": understood.window_end}
        _propose(case, now, _reschedule_outcome(case, now, understood.window_start), detail=detail, source=recipient)
    elif intent == ReplyIntent.SAFE_DROP:
        _propose(case, now, Outcome.SAFE_DROP, detail={"place": understood.detail}, source=recipient)
    elif intent == ReplyIntent.NEIGHBOR:
        _propose(case, now, Outcome.NEIGHBOUR, detail={"neighbour": understood.detail}, source=recipient)
    elif intent == ReplyIntent.DIRECTIONS and understood.detail:
        directions = understood.detail[:DIRECTIONS_MAX]
        _directions_keep(case, now, directions)
        _propose(
            case,
            now,
            Outcome.RETRY_NOW,
            detail={"directions": directions},
            source=recipient,
            text=format_lazy(driver_words.DIRECTIONS, directions=directions),
        )
    elif intent == ReplyIntent.PICKUP_POINT:
        _propose(case, now, Outcome.PICKUP_POINT, detail={"place": understood.detail}, source=recipient)
    elif intent == ReplyIntent.CALL_REQUEST:
        _escalate(case, now, reason="The recipient asked for a call.")
    elif intent == ReplyIntent.REFUSE:
        _escalate(case, now, reason="The recipient refused the parcel: confirm the return.")
    elif intent == ReplyIntent.OPT_OUT:
        _escalate(case, now, reason="The recipient opted out of messages.")
    elif intent in (ReplyIntent.OPT_IN, ReplyIntent.HELP):
        return
    else:
        # Never guessed: asked once more in other words, then a human reads it.
        ask = understood.ask_again and case.state == State.AWAITING_RECIPIENT and case.prompts_sent == 1
        steps = _steps(case) if ask else []
        if steps:
            position = min(max(case.playbook_step, 1), len(steps))
            _ask(case, now, _last_topic(steps, position), steps[position - 1], position, reprompt=True)
            return
        _escalate(case, now, reason="The reply was not understood.")


def _directions_keep(case: ExceptionCase, now: dt.datetime, directions: str) -> None:
    """The recipient's way to the door goes on the address's notes: every later visit, and every driver, has it."""
    address = case.order.address
    dated = f"{DIRECTIONS_NOTE} ({timezone.localdate(now, case.depot.time_zone):%d %b}): {directions}"
    if directions in address.building_notes:
        return
    address.building_notes = "\n".join(part for part in (address.building_notes.strip(), dated) if part)
    address.save(update_fields=["building_notes"])
    _change(case, now=now, kind=Kind.DECISION, summary="The recipient's directions are on the address's notes")


def case_outreach_failed(*, case_id: int, reason: str, now: dt.datetime | None = None) -> ExceptionCase | None:
    """A question to the recipient could not be sent: while we wait on them, a dispatcher takes over."""
    now = now or timezone.now()
    with transaction.atomic():
        case = _locked(case_id)
        if case is None or case.state not in (State.TRIAGING, State.AWAITING_RECIPIENT):
            return case
        _escalate(case, now, reason=reason)
        _save(case)
        return case


# --- Routing ---------------------------------------------------------------------------------------------------------


def case_window_is(case: ExceptionCase, asked: Any) -> bool:
    """Whether the case still wants the window a slot search was asked for (``ANY_WINDOW``: whichever it wants).

    A newer time from the recipient supersedes the one routing is still searching: that search's answer, when
    it comes, finds the case wanting another window and changes nothing.
    """
    if asked is ANY_WINDOW:
        return True
    wanted = case.outcome_detail.get("window_start")
    return (dt.datetime.fromisoformat(wanted) if wanted else None) == asked


def _waits_for_slot(case: ExceptionCase | None, asked: Any) -> bool:
    return (
        case is not None
        and case.state == State.RESOLVING
        and case.pending_outcome in RESCHEDULE_OUTCOMES
        and case_window_is(case, asked)
    )


def case_awaiting_slot(*, case_id: int, asked: Any = ANY_WINDOW) -> ExceptionCase | None:
    """The case, locked until the caller's transaction ends, if it still waits for routing; else None.

    Routing takes this lock before it writes a plan, so a dispatcher's click and
    a new plan for the same case serialize: a case resolved meanwhile gets no
    plan change.
    """
    if not transaction.get_connection().in_atomic_block:
        raise WorkflowError("Lock the case inside the transaction that writes the plan.")
    case = _locked(case_id)
    return case if _waits_for_slot(case, asked) else None


def _stop_placed(stop_id: int) -> Stop | None:
    """Where routing put the parcel: its stop, with the run the driver is told about."""
    return Stop.objects.select_related("run__depot").filter(pk=stop_id).first()


def case_reschedule_confirm(
    *,
    case_id: int,
    new_stop_id: int | None,
    summary: str,
    later_day: bool | None = None,
    payload: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
    asked: Any = ANY_WINDOW,
) -> ExceptionCase | None:
    """Routing found the slot. The old stop leaves the driver's run unless it was re-inserted in place.

    ``later_day`` says where the slot turned out to be when it differs from what
    was asked (no room today: the next service day).
    """
    now = now or timezone.now()
    with transaction.atomic():
        case = _locked(case_id)
        if case is None or not _waits_for_slot(case, asked):
            return case
        outcome = case.pending_outcome
        if later_day is not None:
            outcome = Outcome.RESCHEDULED_LATER if later_day else Outcome.RESCHEDULED_SAME_DAY
        stop = case.stop
        if new_stop_id is not None and new_stop_id != stop.pk:
            # Routing may already have taken the stop off the run; its driver is told either way.
            stop_leave_run(
                stop=stop,
                status=Stop.Status.RESCHEDULED,
                order_status=Order.Status.RESCHEDULED,
                text=driver_words.skip_moved(stop=stop, to=_stop_placed(new_stop_id)),
                payload={"case_id": case.pk, "new_stop_id": new_stop_id},
            )
        else:
            stop_status_set(stop=stop, status=Stop.Status.PENDING, order_status=Order.Status.OUT_FOR_DELIVERY)
        _change(
            case,
            now=now,
            kind=Kind.ROUTE_CHANGE,
            summary=f"Re-routed: {summary}",
            payload={**(payload or {}), "new_stop_id": new_stop_id},
            pending_outcome=outcome,
        )
        _resolve(
            case,
            now,
            case.pending_outcome,
            detail={**case.outcome_detail, "new_stop_id": new_stop_id},
            source=case.outcome_source or Source.PLAYBOOK,
        )
        _save(case)
        return case


def case_reschedule_fail(
    *, case_id: int, reason: str, now: dt.datetime | None = None, asked: Any = ANY_WINDOW
) -> ExceptionCase | None:
    """Routing found no feasible slot: a dispatcher picks one (the wanted window stays on the case)."""
    now = now or timezone.now()
    with transaction.atomic():
        case = _locked(case_id)
        if case is None or not _waits_for_slot(case, asked):
            return case
        _change(case, now=now, kind=Kind.ROUTE_CHANGE, summary=f"No slot: {reason}")
        _escalate(case, now, reason=f"Routing found no slot: {reason}")
        _save(case)
        return case


def case_reschedule_await_plan(
    *,
    case_id: int,
    day: dt.date,
    window_start: dt.datetime | None,
    window_end: dt.datetime | None,
    now: dt.datetime | None = None,
    asked: Any = ANY_WINDOW,
) -> ExceptionCase | None:
    """No run is planned yet for the day the parcel goes out again: it waits for that day's plan.

    The stop leaves today's run (its driver is told), the order keeps the window
    the recipient asked for so the planner schedules it, and the case is resolved
    as rescheduled to a later day. Nothing here needs a dispatcher.
    """
    now = now or timezone.now()
    with transaction.atomic():
        case = _locked(case_id)
        if case is None or not _waits_for_slot(case, asked):
            return case
        stop = case.stop
        stop_leave_run(
            stop=stop,
            status=Stop.Status.RESCHEDULED,
            order_status=Order.Status.RESCHEDULED,
            text=format_lazy(driver_words.SKIP_LATER_DAY, day=driver_words.day_words(day)),
            payload={"case_id": case.pk, "planned_day": day.isoformat()},
        )
        if window_start is not None:
            Order.objects.filter(pk=case.order_id).update(
                window_start=window_start, window_end=window_end, updated_at=now
            )
        summary = f"Rescheduled to {day:%a %d %b}: no run is planned for that day yet, so it goes into that day's plan"
        _change(case, now=now, kind=Kind.ROUTE_CHANGE, summary=summary, payload={"planned_day": day.isoformat()})
        _resolve(
            case,
            now,
            Outcome.RESCHEDULED_LATER,
            detail={**case.outcome_detail, "planned_day": day.isoformat()},
            source=case.outcome_source or Source.PLAYBOOK,
        )
        _save(case)
        return case


# --- The driver ------------------------------------------------------------------------------------------------------


def case_stop_delivered(*, scan: ScanEvent) -> ExceptionCase | None:
    """The stop was delivered (inside the scan's transaction): its open case is resolved with what worked.

    A delivery that carried out an outcome the driver was told stays the choice of whoever made it (the
    recipient's code or "coming down", a dispatcher's click); any other delivery is the driver's own.
    """
    now = timezone.now()
    case = (
        ExceptionCase.objects.select_for_update(of=("self",))
        .select_related(*CASE_RELATED)
        .filter(stop_id=scan.stop_id, state__in=ExceptionCase.OPEN_STATES)
        .order_by()
        .first()
    )
    if case is None:
        return None
    pending = case.pending_outcome
    outcome = (
        pending
        if pending in (Outcome.SAFE_DROP, Outcome.NEIGHBOUR, Outcome.ACCESS_CODE_PROVIDED)
        else Outcome.DELIVERED_ON_RETRY
    )
    if pending == Outcome.ACCESS_CODE_PROVIDED:
        access_credentials_worked(stop=case.stop, now=now)
    carried_out = pending in DRIVER_OUTCOMES and case.outcome_source
    source = case.outcome_source if carried_out else Source.DRIVER
    _change(case, now=now, kind=Kind.SCAN, actor=Actor.DRIVER, summary="Delivered", payload={"scan_id": scan.pk})
    _resolve(case, now, outcome, source=source)
    _save(case)
    return case
