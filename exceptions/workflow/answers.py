"""The operator: the only module that changes an exception case.

Every public function locks the case row (``select_for_update``), checks that
the move is legal from the case's current state, changes the case, writes one
timeline event per change and leaves side effects (driver instructions, board
broadcasts, outreach, routing, webhooks) to run after commit. Concurrent
replies, timers and dispatcher clicks therefore serialize on the row; a
dispatcher action carries the version it was decided on and gets a
``CaseConflict`` when the case moved meanwhile.

Each timeline event holds the fields it changed under ``payload["set"]``, so
folding the events in order (``timeline_fold``) rebuilds the case.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Field
from django.utils import timezone

from dispatch import realtime
from dispatch.geo import haversine_m
from dispatch.models import (
    AccessCredential,
    Driver,
    DriverInstruction,
    Order,
    ReasonCode,
    ScanEvent,
    Stop,
    User,
    WebhookEvent,
)
from dispatch.services.instructions import instruction_push
from dispatch.services.stops import stop_status_set
from dispatch.services.vault import (
    access_credential_record,
    access_credentials_failed,
    access_credentials_untried,
    access_credentials_worked,
)
from dispatch.services.webhooks import webhook_events_emit
from exceptions import board, payloads, ports, rules
from exceptions.models import CaseEvent, EscalationRule, ExceptionCase, PlaybookStep, ReplyIntent

logger = logging.getLogger(__name__)

State = ExceptionCase.State
Outcome = ExceptionCase.Outcome
Timer = ExceptionCase.Timer
Kind = CaseEvent.Kind
Actor = CaseEvent.Actor

# Until triage has run, the case is swept after this long (a lost enqueue is picked up).
TRIAGE_GRACE = dt.timedelta(seconds=60)
# Routing answers within seconds; after this the case goes to a dispatcher.
ROUTING_GRACE = dt.timedelta(minutes=10)
DEFAULT_SLA = dt.timedelta(minutes=30)
DEFAULT_ESCALATION_PRIORITY = 2
# Directions to the door, as a recipient wrote them: enough for a paragraph, short enough for the driver's screen.
DIRECTIONS_MAX = 240
# How the recipient's directions start on the address's notes.
DIRECTIONS_NOTE = "Recipient's directions"
# Per sweep: set-based SLA and close passes take this many cases; due timers, each its own
# transaction at ~20 ms, take TIMER_BATCH so a sweep stays well inside the task's 30 s soft limit.
SWEEP_BATCH = 1000
TIMER_BATCH = 500

ALLOWED: dict[str, frozenset[str]] = {
    State.OPENED: frozenset({State.TRIAGING, State.ESCALATED, State.RESOLVED, State.CLOSED}),
    State.TRIAGING: frozenset(
        {State.AWAITING_RECIPIENT, State.RESOLVING, State.ESCALATED, State.RESOLVED, State.CLOSED}
    ),
    State.AWAITING_RECIPIENT: frozenset(
        {State.TRIAGING, State.RESOLVING, State.ESCALATED, State.RESOLVED, State.CLOSED}
    ),
    State.RESOLVING: frozenset({State.TRIAGING, State.ESCALATED, State.RESOLVED, State.CLOSED}),
    State.ESCALATED: frozenset({State.TRIAGING, State.RESOLVING, State.RESOLVED, State.CLOSED}),
    State.RESOLVED: frozenset({State.CLOSED}),
    State.CLOSED: frozenset(),
}
PHASE_STAMPS: dict[str, str] = {
    State.TRIAGING: "triaged_at",
    State.AWAITING_RECIPIENT: "awaiting_at",
    State.RESOLVING: "resolving_at",
    State.ESCALATED: "escalated_at",
    State.RESOLVED: "resolved_at",
    State.CLOSED: "closed_at",
}
# The phases a case can pass through more than once keep their first time; resolution is final.
FIRST_TIME_ONLY = {"triaged_at", "awaiting_at", "resolving_at", "escalated_at"}

ASK_TOPICS: dict[str, str] = {
    PlaybookStep.Action.ASK_ACCESS_CODE: ports.Topic.ACCESS_CODE,
    PlaybookStep.Action.ASK_WINDOW: ports.Topic.WINDOW,
    PlaybookStep.Action.OFFER_ALTERNATIVES: ports.Topic.ALTERNATIVES,
    PlaybookStep.Action.ASK_DIRECTIONS: ports.Topic.DIRECTIONS,
}
# Outcomes the driver carries out at the stop; the case resolves when the stop is delivered.
DRIVER_OUTCOMES: dict[str, str] = {
    Outcome.RETRY_NOW: DriverInstruction.Kind.RETRY_NOW,
    Outcome.ACCESS_CODE_PROVIDED: DriverInstruction.Kind.ACCESS_CODE,
    Outcome.SAFE_DROP: DriverInstruction.Kind.SAFE_DROP,
    Outcome.NEIGHBOUR: DriverInstruction.Kind.NEIGHBOUR,
}
RESCHEDULE_OUTCOMES = (Outcome.RESCHEDULED_SAME_DAY, Outcome.RESCHEDULED_LATER)


class WorkflowError(Exception):
    """A move the workflow does not allow from the case's current state."""


class CaseConflict(WorkflowError):
    """The case changed after the dispatcher looked at it."""


@dataclass(frozen=True)
class Understanding:
    """What a recipient's reply says, as reply understanding reports it."""

    intent: str
    code: str = ""
    window_start: dt.datetime | None = None
    window_end: dt.datetime | None = None
    detail: str = ""
    # How it was read, for the timeline: the rule or phrase that decided.
    why: str = ""
    # False when asking again would be unwelcome ("STOP PLEASE"): an unclear reply then goes straight to a person.
    ask_again: bool = True


@dataclass(frozen=True)
class SweepResult:
    fired: int
    breached: int
    closed: int


# --- Changing a case: one helper, one event per change ---------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    return value


# Where ``_change`` leaves the summary of the event it wrote on the case in memory.
LAST_SUMMARY = "_board_last_summary"


def _change(
    case: ExceptionCase,
    *,
    now: dt.datetime,
    kind: str,
    summary: str,
    state: str | None = None,
    actor: str = Actor.AUTOMATION,
    user: User | None = None,
    payload: dict[str, Any] | None = None,
    **fields: Any,
) -> CaseEvent:
    """Apply a change to the locked case in memory and write its timeline event; ``_save`` persists the case."""
    from_state = case.state
    changed: dict[str, Any] = {}
    if state is not None and state != case.state:
        if state not in ALLOWED[case.state]:
            raise WorkflowError(
                f"A case that is {case.get_state_display().lower()} cannot become {State(state).label.lower()}."
            )
        case.state = state
        changed["state"] = state
        stamp = PHASE_STAMPS.get(state)
        if stamp and not (stamp in FIRST_TIME_ONLY and getattr(case, stamp) is not None):
            fields[stamp] = now
    for name, value in fields.items():
        if isinstance(value, dict):
            value = _jsonable(value)
        if getattr(case, name) != value:
            setattr(case, name, value)
            changed[name] = value
    if user is not None and not case.touched_by_dispatcher:
        case.touched_by_dispatcher = True
        changed["touched_by_dispatcher"] = True
    case.version += 1
    event = CaseEvent.objects.create(
        case=case,
        at=now,
        kind=kind,
        actor=Actor.DISPATCHER if user is not None else actor,
        actor_user=user,
        from_state=from_state if "state" in changed else "",
        to_state=case.state if "state" in changed else "",
        summary=summary[:300],
        payload=_jsonable({**(payload or {}), "set": {k: getattr(v, "pk", v) for k, v in changed.items()}}),
    )
    # The board row shows the newest timeline line; keeping it here spares a query per save.
    setattr(case, LAST_SUMMARY, event.summary)
    return event


def _save(case: ExceptionCase) -> None:
    case.save()
    row = payloads.case_row_of(case, last_summary=getattr(case, LAST_SUMMARY, ""))
    realtime.board_send_on_commit(case.depot_id, "case.changed", dict(row))


def _timer(kind: str = "", due: dt.datetime | None = None) -> dict[str, Any]:
    return {"next_action": kind, "next_action_due_at": due}


def timeline_fold(events: Iterable[CaseEvent]) -> dict[str, Any]:
    """The case's fields as its timeline tells them: every change in order."""
    state: dict[str, Any] = {}
    for event in events:
        state.update(event.payload.get("set", {}))
    return state


# What a change reads, and what the board row of a changed case shows (``payloads.case_row_of``).
CASE_RELATED = (
    "stop__run__driver__user",
    "order__recipient",
    "order__address",
    "reason_code",
    "depot",
    "assigned_to",
)


def _locked(case_id: int, *, skip_locked: bool = False) -> ExceptionCase | None:
    return (
        ExceptionCase.objects.select_for_update(of=("self",), skip_locked=skip_locked)
        .select_related(*CASE_RELATED)
        .filter(pk=case_id)
        .first()
    )


def _case_webhook(case: ExceptionCase, event: str) -> None:
    webhook_events_emit(
        depot_id=case.depot_id,
        events=[
            (
                event,
                {"case_id": case.pk, "order": case.order.reference, "state": case.state, "outcome": case.outcome},
            )
        ],
    )


# --- Opening: inside the scan's transaction ---------------------------------------------------------------------------


def _triage_on_commit(case_id: int) -> None:
    from exceptions.tasks import case_triage_task

    transaction.on_commit(lambda: case_triage_task.delay(case_id), robust=True)


def case_open(*, scan: ScanEvent, first_failure: bool = False) -> ExceptionCase:
    """Open a case for a failed scan, inside the scan's transaction; triage starts after commit.

    A stop with a case still open keeps that case: the scan joins its
    timeline, and a case that was waiting for the driver's retry is triaged
    again for the new failure. ``first_failure`` (the stop's first scan, seen
    under its row lock) says there is no such case, sparing the lookup.
    """
    reason = scan.reason_code
    if scan.outcome != ScanEvent.Outcome.FAILED or reason is None:
        raise WorkflowError("Only a failed scan with a reason code opens a case.")
    assert transaction.get_connection().in_atomic_block, "case_open must run inside the scan's transaction"

    stop = scan.stop
    now = timezone.now()
    existing = None
    if not first_failure:
        existing = (
            ExceptionCase.objects.select_for_update(of=("self",))
            .select_related(*CASE_RELATED)
            .filter(stop=stop, state__in=ExceptionCase.OPEN_STATES)
            .order_by()
            .first()
        )
    if existing is not None:
        summary = f"Failed again: {reason.code}"
        payload = {"scan_id": scan.pk, "reason_code": reason.code, "attempt": stop.attempt_count}
        if existing.state == State.RESOLVING:
            _change(
                existing,
                now=now,
                kind=Kind.SCAN,
                actor=Actor.DRIVER,
                summary=summary,
                payload=payload,
                state=State.TRIAGING,
                reason_code=reason,
                pending_outcome="",
                **_timer(Timer.TRIAGE, now + TRIAGE_GRACE),
            )
            _triage_on_commit(existing.pk)
        else:
            _change(existing, now=now, kind=Kind.SCAN, actor=Actor.DRIVER, summary=summary, payload=payload)
        _save(existing)
        return existing

    case = ExceptionCase.objects.create(
        depot_id=stop.run.depot_id,
        stop=stop,
        order_id=stop.order_id,
        scan=scan,
        reason_code=reason,
        opened_at=now,
        sla_due_at=now + DEFAULT_SLA,
        next_action=Timer.TRIAGE,
        next_action_due_at=now + TRIAGE_GRACE,
    )
    # The opening event records the opening fields, so the timeline alone rebuilds the case.
    opening = {"state": case.state, "priority": case.priority, "reason_code": reason.pk, "sla_due_at": case.sla_due_at}
    CaseEvent.objects.create(
        case=case,
        at=now,
        kind=Kind.SCAN,
        actor=Actor.DRIVER,
        to_state=case.state,
        summary=f"Failed scan: {reason.code}",
        payload=_jsonable(
            {"scan_id": scan.pk, "reason_code": reason.code, "attempt": stop.attempt_count, "set": opening}
        ),
    )
    # One query for the row, rather than one per relation the new case has not loaded.
    row = board.case_row_get(case_id=case.pk)
    if row is not None:
        realtime.board_send_on_commit(case.depot_id, "case.changed", dict(row))
    _triage_on_commit(case.pk)
    return case


# --- Triage ----------------------------------------------------------------------------------------------------------


def case_triage(*, case_id: int, now: dt.datetime | None = None) -> ExceptionCase | None:
    """Look at what we know and start working the case. Runs once per failure; a repeat does nothing."""
    with transaction.atomic():
        case = _locked(case_id)
        if case is None or case.next_action != Timer.TRIAGE or not case.is_open:
            return case
        _triage(case, now or timezone.now())
        _save(case)
        return case


def _failed_attempts(case: ExceptionCase) -> tuple[int, int]:
    """Failed scans at this order, and at this address for other orders in the last 90 days."""
    since = timezone.now() - dt.timedelta(days=90)
    failed = ScanEvent.objects.filter(outcome=ScanEvent.Outcome.FAILED)
    at_order = failed.filter(stop__order_id=case.order_id).count()
    at_address = (
        failed.filter(stop__order__address_id=case.order.address_id, received_at__gte=since)
        .exclude(stop__order_id=case.order_id)
        .count()
    )
    return at_order, at_address


def _triage(case: ExceptionCase, now: dt.datetime) -> None:
    reason = case.reason_code
    playbook = getattr(reason, "playbook", None)
    sla = dt.timedelta(minutes=playbook.sla_minutes) if playbook is not None else DEFAULT_SLA
    at_order, at_address = _failed_attempts(case)
    recipient = case.order.recipient
    contacts = {
        "sms": bool(recipient.phone) and not recipient.opted_out,
        "preferred_channel": recipient.preferred_channel,
        "language": recipient.language,
        "opted_out": recipient.opted_out,
    }
    _change(
        case,
        now=now,
        kind=Kind.DECISION,
        summary=(
            f"Triage: attempt {at_order} at this order, {at_address} failed before at this address; "
            f"playbook {reason.code}" + ("" if playbook else " missing")
        ),
        payload={"attempts_at_order": at_order, "attempts_at_address": at_address, "contacts": contacts},
        state=State.TRIAGING,
        sla_due_at=case.opened_at + sla,
        playbook_step=0,
        prompts_sent=0,
        outreach_started_at=None,
        reply_due_at=None,
        **_timer(),
    )
    if _rules_apply(case, now, attempts=at_order):
        return

    if reason.category == ReasonCode.Category.ACCESS:
        if reason.code == "WRONG_ACCESS_CODE":
            for credential in access_credentials_failed(stop=case.stop, now=now):
                flagged = credential.is_flagged
                _change(
                    case,
                    now=now,
                    kind=Kind.DECISION,
                    summary=f"The {credential.get_kind_display().lower()} on file failed"
                    + (" twice: flagged, not offered again until it works" if flagged else ""),
                    payload={"credential_id": credential.pk, "flagged": flagged},
                )
        untried = access_credentials_untried(stop=case.stop, now=now)
        if untried:
            credential = untried[0]
            _driver_outcome(
                case,
                now,
                Outcome.ACCESS_CODE_PROVIDED,
                text=f"A verified {credential.get_kind_display().lower()} is on file: reveal it in the app and retry.",
                detail={"credential_id": credential.pk, "source": "vault"},
            )
            return
    _playbook_advance(case, now)


# --- The playbook ----------------------------------------------------------------------------------------------------


def _steps(case: ExceptionCase) -> list[PlaybookStep]:
    return list(PlaybookStep.objects.filter(playbook__reason_code_id=case.reason_code_id).order_by("position"))


def _last_topic(steps: list[PlaybookStep], upto: int) -> str:
    for step in reversed(steps[:upto]):
        if step.action in ASK_TOPICS:
            return ASK_TOPICS[step.action]
    return ports.Topic.ALTERNATIVES


def _playbook_advance(case: ExceptionCase, now: dt.datetime) -> None:
    """Run the playbook from the case's next step until a step waits for something or hands the case on."""
    steps = _steps(case)
    if not steps:
        _escalate(case, now, reason=f"No playbook for {case.reason_code.code}: a dispatcher decides.")
        return
    for index in range(case.playbook_step, len(steps)):
        step, position = steps[index], index + 1
        if step.action in ASK_TOPICS:
            _ask(case, now, ASK_TOPICS[step.action], step, position, reprompt=False)
            return
        if step.action == PlaybookStep.Action.REPROMPT:
            # Once, and only after a first question actually went out.
            if case.prompts_sent == 1:
                _ask(case, now, _last_topic(steps, index), step, position, reprompt=True)
                return
            continue
        if step.action == PlaybookStep.Action.WAIT:
            _change(
                case,
                now=now,
                kind=Kind.DECISION,
                summary=f"Waiting {step.wait_minutes} min (playbook)",
                playbook_step=position,
                **_timer(Timer.WAIT_OVER, now + dt.timedelta(minutes=step.wait_minutes)),
            )
            return
        if step.action == PlaybookStep.Action.RESCHEDULE:
            _change(case, now=now, kind=Kind.DECISION, summary="Playbook: move to a later slot", playbook_step=position)
            _reschedule(case, now, None, None)
            return
        if step.action == PlaybookStep.Action.RETURN_TO_SENDER:
            _change(case, now=now, kind=Kind.DECISION, summary="Playbook: return to sender", playbook_step=position)
            # Through the approval rules: a valuable parcel's return waits for a dispatcher's click.
            _propose(case, now, Outcome.RETURNED_TO_SENDER, detail={"playbook_step": position})
            return
        if step.action == PlaybookStep.Action.ESCALATE:
            _escalate(
                case,
                now,
                reason="The playbook hands this case to a dispatcher.",
                priority=step.priority,
                playbook_step=position,
            )
            return
    _escalate(case, now, reason="The playbook ran out of steps without an outcome.", playbook_step=len(steps))


def _ask(
    case: ExceptionCase, now: dt.datetime, topic: str, step: PlaybookStep, position: int, *, reprompt: bool
) -> None:
    result = ports.outreach().ask(case=case, topic=topic, reprompt=reprompt)
    if not result.reachable:
        _escalate(case, now, reason=result.reason or "The recipient cannot be reached.", playbook_step=position)
        return
    start = max(result.deferred_until or now, now)
    reply_due = start + dt.timedelta(minutes=step.wait_minutes)
    started = case.outreach_started_at or start
    _change(
        case,
        now=now,
        kind=Kind.MESSAGE_OUT,
        summary=("Re-prompted" if reprompt else "Asked")
        + f" the recipient ({topic.replace('_', ' ')}) by {result.channel or 'message'}"
        + (f", held for quiet hours until {start:%H:%M} UTC" if result.deferred_until else ""),
        payload={"topic": topic, "reprompt": reprompt, "channel": result.channel},
        state=State.AWAITING_RECIPIENT,
        prompts_sent=case.prompts_sent + 1,
        playbook_step=position,
        outreach_started_at=started,
        reply_due_at=reply_due,
        **_reply_timer(now, started, reply_due),
    )


def _reply_timer(now: dt.datetime, started: dt.datetime | None, reply_due: dt.datetime) -> dict[str, Any]:
    """Wake at the reply deadline, or earlier when a "no reply after N minutes" rule could match first."""
    checks = [
        started + dt.timedelta(minutes=rule.no_reply_minutes)
        for rule in rules.rules_active_cached()
        if rule.no_reply_minutes is not None and started is not None
    ]
    earlier = [moment for moment in checks if now < moment < reply_due]
    if earlier:
        return _timer(Timer.RULE_CHECK, min(earlier))
    return _timer(Timer.REPLY_DEADLINE, reply_due)


# --- Escalation rules ------------------------------------------------------------------------------------------------


def _rules_apply(case: ExceptionCase, now: dt.datetime, attempts: int | None = None) -> bool:
    """Apply the first matching escalation rule; True when it took the case out of automation's hands."""
    facts = rules.case_facts(case=case, now=now, attempts=attempts)
    rule = rules.rule_first_match(facts=facts, rules=rules.rules_active_cached())
    if rule is None:
        return False
    if case.escalation_rule_id == rule.pk:
        # It already acted on this case; it does not fire again on every check.
        return case.state == State.ESCALATED
    if rule.action == EscalationRule.Action.RETURN_TO_SENDER:
        _change(
            case, now=now, kind=Kind.ESCALATION, summary=f"Rule '{rule.name}': return to sender", escalation_rule=rule
        )
        _terminal(case, now, Outcome.RETURNED_TO_SENDER, detail={"rule": rule.name})
        return True
    if rule.action == EscalationRule.Action.REQUIRE_APPROVAL:
        _change(
            case,
            now=now,
            kind=Kind.ESCALATION,
            summary=f"Rule '{rule.name}': a dispatcher approves the outcome",
            requires_approval=True,
            escalation_rule=rule,
        )
        _alert(case, rule)
        return False
    _escalate(case, now, reason=f"Rule '{rule.name}'", priority=rule.priority, rule=rule)
    return True


def _alert(case: ExceptionCase, rule: EscalationRule) -> None:
    if rule.notify_group_id:
        realtime.send_on_commit(
            realtime.group_alert_group(rule.notify_group_id),
            "case.alert",
            {"case_id": case.pk, "rule": rule.name, "priority": case.priority},
        )


def _escalate(
    case: ExceptionCase,
    now: dt.datetime,
    *,
    reason: str,
    priority: int | None = None,
    rule: EscalationRule | None = None,
    user: User | None = None,
    **extra: Any,
) -> None:
    new_priority = min(case.priority, priority or DEFAULT_ESCALATION_PRIORITY)
    fields: dict[str, Any] = {"priority": new_priority, "escalation_reason": reason[:300], **_timer(), **extra}
    if rule is not None:
        fields["escalation_rule"] = rule
    _change(
        case,
        now=now,
        kind=Kind.ESCALATION,
        summary=f"Escalated (P{new_priority}): {reason}",
        state=State.ESCALATED,
        user=user,
        **fields,
    )
    if rule is not None:
        _alert(case, rule)


# --- Outcomes --------------------------------------------------------------------------------------------------------


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
    text: str = "",
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
        )
        _escalate(case, now, reason=refusal or "An escalation rule requires approval of the outcome.")
        return
    _apply(case, now, outcome, detail=detail, text=text, user=user)


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
    text: str = "",
    user: User | None = None,
) -> None:
    if outcome in DRIVER_OUTCOMES:
        _driver_outcome(case, now, outcome, text=text or _instruction_text(outcome, detail), detail=detail, user=user)
    elif outcome in RESCHEDULE_OUTCOMES:
        _reschedule(case, now, _parse(detail.get("window_start")), _parse(detail.get("window_end")), user=user)
    else:
        _terminal(case, now, outcome, detail=detail, user=user)


def _parse(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(value) if value else None


def _instruction_text(outcome: str, detail: dict[str, Any]) -> str:
    place = detail.get("place") or detail.get("neighbour") or ""
    texts: dict[str, str] = {
        Outcome.RETRY_NOW: "The recipient is coming: go back and retry now.",
        Outcome.ACCESS_CODE_PROVIDED: "A new access code is on file: reveal it in the app and retry.",
        Outcome.SAFE_DROP: f"Safe drop approved: leave it {place}, take a photo.".replace("  ", " "),
        Outcome.NEIGHBOUR: f"Leave it with the neighbour: {place}. Get a name and signature.",
    }
    return texts.get(outcome, "Retry this stop.")


def _driver_outcome(
    case: ExceptionCase,
    now: dt.datetime,
    outcome: str,
    *,
    text: str,
    detail: dict[str, Any],
    user: User | None = None,
) -> None:
    """An outcome the driver carries out: at once if still near the stop, else a slot later today."""
    distance = _driver_distance(case, now)
    if distance is None or distance > settings.EXCEPTIONS_NEARBY_M:
        where = "position unknown" if distance is None else f"{distance:.0f} m away"
        _change(
            case,
            now=now,
            kind=Kind.DECISION,
            summary=f"{Outcome(outcome).label}, but the driver has moved on ({where}): re-route later today",
            payload={"distance_m": distance},
            outcome_detail={**detail, "then": outcome},
            user=user,
        )
        _reschedule(case, now, None, None, user=user, same_day=True)
        return
    kind = DRIVER_OUTCOMES[outcome]
    wait = settings.EXCEPTIONS_WAIT_MINUTES
    if outcome == Outcome.RETRY_NOW and distance <= settings.EXCEPTIONS_AT_STOP_M and not detail.get("directions"):
        kind, text = DriverInstruction.Kind.WAIT, f"The recipient is coming down: wait up to {wait} min at this stop."
    stop = case.stop
    instruction = instruction_push(
        driver=stop.run.driver, kind=kind, text=text, stop=stop, payload={"case_id": case.pk, "minutes": wait}
    )
    stop_status_set(stop=stop, status=Stop.Status.PENDING, order_status=Order.Status.OUT_FOR_DELIVERY)
    _change(
        case,
        now=now,
        kind=Kind.INSTRUCTION,
        summary=f"Driver told: {text}",
        payload={"instruction_id": instruction.pk, "seq": instruction.seq, "distance_m": round(distance)},
        state=State.RESOLVING,
        pending_outcome=outcome,
        outcome_detail=detail,
        requires_approval=False,
        user=user,
        **_timer(Timer.DRIVER_RETRY, now + dt.timedelta(minutes=settings.EXCEPTIONS_RETRY_MINUTES)),
    )


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
    user: User | None = None,
    same_day: bool = False,
) -> None:
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
        requires_approval=False,
        user=user,
        **_timer(Timer.ROUTING, now + ROUTING_GRACE),
    )


def _terminal(
    case: ExceptionCase, now: dt.datetime, outcome: str, *, detail: dict[str, Any], user: User | None = None
) -> None:
    """Outcomes that take the parcel off the road: pickup point, return to sender, cancelled."""
    stop = case.stop
    order_statuses: dict[str, str] = {
        Outcome.RETURNED_TO_SENDER: Order.Status.RETURNED,
        Outcome.CANCELLED: Order.Status.CANCELLED,
    }
    order_status = order_statuses.get(outcome, Order.Status.RESCHEDULED)
    if stop.status in Stop.ACTIVE_STATUSES:
        texts: dict[str, str] = {
            Outcome.RETURNED_TO_SENDER: "Do not retry: bring the parcel back to the depot for return to sender.",
            Outcome.PICKUP_POINT: "Do not retry: the recipient collects at a pickup point. Bring it back to the depot.",
        }
        text = texts.get(outcome, "Do not retry this stop: bring the parcel back to the depot.")
        instruction_push(
            driver=stop.run.driver, kind=DriverInstruction.Kind.SKIP, text=text, stop=stop, payload={"case_id": case.pk}
        )
        status = Stop.Status.CANCELLED if outcome == Outcome.CANCELLED else Stop.Status.SKIPPED
        stop_status_set(stop=stop, status=status, order_status=order_status)
    _resolve(case, now, outcome, detail=detail, user=user)


def _resolve(
    case: ExceptionCase,
    now: dt.datetime,
    outcome: str,
    *,
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
        pending_outcome="",
        requires_approval=False,
        resolved_by=user,
        **_timer(),
    )
    ports.outreach().notify_outcome(case=case)
    _case_webhook(case, WebhookEvent.CASE_RESOLVED)


# --- Answers from outside: the recipient, routing, the driver --------------------------------------------------------


def case_reply_apply(
    *, case_id: int, understood: Understanding, now: dt.datetime | None = None
) -> ExceptionCase | None:
    """Act on an understood reply. A reply to a case a dispatcher owns is recorded for them, not acted on."""
    now = now or timezone.now()
    with transaction.atomic():
        case = _locked(case_id)
        if case is None:
            return None
        shown = {**understood.__dict__, "code": "•" * len(understood.code) if understood.code else ""}
        if not case.is_open:
            _change(
                case,
                now=now,
                kind=Kind.UNDERSTANDING,
                summary=f"Late reply ({understood.intent}) after the case ended",
                payload=shown,
            )
            _save(case)
            return case
        _change(
            case,
            now=now,
            kind=Kind.UNDERSTANDING,
            summary=f"Reply understood: {ReplyIntent(understood.intent).label}",
            payload=shown,
            last_reply_at=now,
            last_intent=understood.intent,
        )
        owned = case.state == State.ESCALATED and (case.touched_by_dispatcher or case.assigned_to_id is not None)
        # Before triage nobody was asked yet: the reply is on the timeline and triage reads the case as it is.
        untriaged = case.state == State.OPENED
        if not owned and not untriaged and not _rules_apply(case, now):
            _reply_act(case, now, understood)
        _save(case)
        return case


def _reply_act(case: ExceptionCase, now: dt.datetime, understood: Understanding) -> None:
    intent = understood.intent
    if case.state == State.RESOLVING and intent not in (ReplyIntent.CALL_REQUEST, ReplyIntent.REFUSE):
        # Already being carried out; a second answer (a twin reply) does not start another outcome.
        return
    if intent == ReplyIntent.ACCESS_CODE and understood.code:
        credential, _ = access_credential_record(
            address_id=case.order.address_id, secret=understood.code, source=AccessCredential.Source.RECIPIENT
        )
        _propose(
            case, now, Outcome.ACCESS_CODE_PROVIDED, detail={"credential_id": credential.pk, "source": "recipient"}
        )
    elif intent == ReplyIntent.AVAILABLE_NOW:
        _propose(case, now, Outcome.RETRY_NOW, detail={})
    elif intent == ReplyIntent.RESCHEDULE and understood.window_start is not None:
        detail = {"window_start": understood.window_start, "window_end": understood.window_end}
        _propose(case, now, _reschedule_outcome(case, now, understood.window_start), detail=detail)
    elif intent == ReplyIntent.SAFE_DROP:
        _propose(case, now, Outcome.SAFE_DROP, detail={"place": understood.detail})
    elif intent == ReplyIntent.NEIGHBOR:
        _propose(case, now, Outcome.NEIGHBOUR, detail={"neighbour": understood.detail})
    elif intent == ReplyIntent.DIRECTIONS and understood.detail:
        directions = understood.detail[:DIRECTIONS_MAX]
        _directions_keep(case, now, directions)
        _propose(
            case,
            now,
            Outcome.RETRY_NOW,
            detail={"directions": directions},
            text=f"Directions from the recipient: {directions}",
        )
    elif intent == ReplyIntent.PICKUP_POINT:
        _propose(case, now, Outcome.PICKUP_POINT, detail={"place": understood.detail})
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


def case_awaiting_slot(*, case_id: int) -> ExceptionCase | None:
    """The case, locked until the caller's transaction ends, if it still waits for routing; else None.

    Routing takes this lock before it writes a plan, so a dispatcher's click and
    a new plan for the same case serialize: a case resolved meanwhile gets no
    plan change.
    """
    if not transaction.get_connection().in_atomic_block:
        raise WorkflowError("Lock the case inside the transaction that writes the plan.")
    case = _locked(case_id)
    if case is None or case.state != State.RESOLVING or case.pending_outcome not in RESCHEDULE_OUTCOMES:
        return None
    return case


def case_reschedule_confirm(
    *,
    case_id: int,
    new_stop_id: int | None,
    summary: str,
    later_day: bool | None = None,
    payload: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> ExceptionCase | None:
    """Routing found the slot. The old stop leaves the driver's run unless it was re-inserted in place.

    ``later_day`` says where the slot turned out to be when it differs from what
    was asked (no room today: the next service day).
    """
    now = now or timezone.now()
    with transaction.atomic():
        case = _locked(case_id)
        if case is None or case.state != State.RESOLVING or case.pending_outcome not in RESCHEDULE_OUTCOMES:
            return case
        outcome = case.pending_outcome
        if later_day is not None:
            outcome = Outcome.RESCHEDULED_LATER if later_day else Outcome.RESCHEDULED_SAME_DAY
        stop = case.stop
        if new_stop_id is not None and new_stop_id != stop.pk:
            # Routing may already have taken the stop off the run; its driver is told either way.
            if stop.status in (*Stop.ACTIVE_STATUSES, Stop.Status.RESCHEDULED):
                instruction_push(
                    driver=stop.run.driver,
                    kind=DriverInstruction.Kind.SKIP,
                    text=f"Skip this stop: {summary}",
                    stop=stop,
                    payload={"case_id": case.pk, "new_stop_id": new_stop_id},
                )
            stop_status_set(stop=stop, status=Stop.Status.RESCHEDULED, order_status=Order.Status.RESCHEDULED)
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
        _resolve(case, now, case.pending_outcome, detail={**case.outcome_detail, "new_stop_id": new_stop_id})
        _save(case)
        return case


def case_reschedule_fail(*, case_id: int, reason: str, now: dt.datetime | None = None) -> ExceptionCase | None:
    """Routing found no feasible slot: a dispatcher picks one (the wanted window stays on the case)."""
    now = now or timezone.now()
    with transaction.atomic():
        case = _locked(case_id)
        if case is None or case.state != State.RESOLVING or case.pending_outcome not in RESCHEDULE_OUTCOMES:
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
) -> ExceptionCase | None:
    """No run is planned yet for the day the parcel goes out again: it waits for that day's plan.

    The stop leaves today's run (its driver is told), the order keeps the window
    the recipient asked for so the planner schedules it, and the case is resolved
    as rescheduled to a later day. Nothing here needs a dispatcher.
    """
    now = now or timezone.now()
    with transaction.atomic():
        case = _locked(case_id)
        if case is None or case.state != State.RESOLVING or case.pending_outcome not in RESCHEDULE_OUTCOMES:
            return case
        stop = case.stop
        if stop.status in Stop.ACTIVE_STATUSES:
            instruction_push(
                driver=stop.run.driver,
                kind=DriverInstruction.Kind.SKIP,
                text=f"Skip this stop: it goes out again on {day:%a %d %b}.",
                stop=stop,
                payload={"case_id": case.pk, "planned_day": day.isoformat()},
            )
        stop_status_set(stop=stop, status=Stop.Status.RESCHEDULED, order_status=Order.Status.RESCHEDULED)
        if window_start is not None:
            Order.objects.filter(pk=case.order_id).update(
                window_start=window_start, window_end=window_end, updated_at=now
            )
        summary = f"Rescheduled to {day:%a %d %b}: no run is planned for that day yet, so it goes into that day's plan"
        _change(case, now=now, kind=Kind.ROUTE_CHANGE, summary=summary, payload={"planned_day": day.isoformat()})
        _resolve(case, now, Outcome.RESCHEDULED_LATER, detail={**case.outcome_detail, "planned_day": day.isoformat()})
        _save(case)
        return case


def case_stop_delivered(*, scan: ScanEvent) -> ExceptionCase | None:
    """The stop was delivered (inside the scan's transaction): its open case is resolved with what worked."""
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
    _change(case, now=now, kind=Kind.SCAN, actor=Actor.DRIVER, summary="Delivered", payload={"scan_id": scan.pk})
    _resolve(case, now, outcome)
    _save(case)
    return case


# --- Timers ----------------------------------------------------------------------------------------------------------


def case_timer_fire(*, case_id: int, now: dt.datetime | None = None) -> bool:
    """Act on the case's due timer. False when it is not due (any more) or another sweep holds the case."""
    now = now or timezone.now()
    with transaction.atomic():
        case = _locked(case_id, skip_locked=True)
        if case is None or not case.is_open or case.next_action_due_at is None or case.next_action_due_at > now:
            return False
        # Every branch clears or re-arms the timer in its first change.
        timer = case.next_action
        if timer == Timer.TRIAGE:
            _triage(case, now)
        elif timer in (Timer.REPLY_DEADLINE, Timer.RULE_CHECK):
            _no_reply(case, now)
        elif timer == Timer.WAIT_OVER:
            _change(case, now=now, kind=Kind.DECISION, summary="Wait over", **_timer())
            _playbook_advance(case, now)
        elif timer == Timer.DRIVER_RETRY:
            _escalate(case, now, reason="The driver did not retry the stop in time.")
        elif timer == Timer.ROUTING:
            _escalate(case, now, reason="Routing did not answer: a dispatcher picks the slot.")
        _save(case)
        return True


def _no_reply(case: ExceptionCase, now: dt.datetime) -> None:
    if case.state != State.AWAITING_RECIPIENT:
        _change(case, now=now, kind=Kind.DECISION, summary="Reply deadline passed; nothing awaited", **_timer())
        return
    if _rules_apply(case, now):
        return
    reply_due = case.reply_due_at or now
    if now < reply_due:
        timer = _reply_timer(now, case.outreach_started_at, reply_due)
        _change(case, now=now, kind=Kind.DECISION, summary="No reply yet; no rule matched", **timer)
        return
    _change(case, now=now, kind=Kind.DECISION, summary="No reply by the deadline", **_timer())
    _playbook_advance(case, now)


def case_timers_sweep(
    *, now: dt.datetime | None = None, limit: int = SWEEP_BATCH, timer_limit: int = TIMER_BATCH
) -> SweepResult:
    """One pass of beat's timer sweep. Safe on two beats at once: rows are claimed with SKIP LOCKED and re-checked."""
    now = now or timezone.now()
    breached = _sla_breaches(now, limit)
    closed = _resolved_close(now, limit)
    due = list(
        ExceptionCase.objects.filter(next_action_due_at__lte=now)
        .order_by("next_action_due_at")
        .values_list("pk", flat=True)[:timer_limit]
    )
    fired = sum(case_timer_fire(case_id=case_id, now=now) for case_id in due)
    return SweepResult(fired=fired, breached=breached, closed=closed)


def _bulk(
    now: dt.datetime,
    rows: list[tuple[int, str, int, int]],
    *,
    to_state: str | None,
    summary: Callable[[str], str],
    kind: str,
    **fields: Any,
) -> None:
    """Change many locked cases at once, with one event each: the sweep's set-based twin of ``_change``."""
    update = dict(fields)
    if to_state is not None:
        update["state"] = to_state
        update[PHASE_STAMPS[to_state]] = now
    assignments, params = ["version = version + 1"], []
    for name, value in update.items():
        model_field = ExceptionCase._meta.get_field(name)
        assert isinstance(model_field, Field)
        column = model_field.column
        # The phases a case can pass through again keep their first time.
        assignments.append(f"{column} = COALESCE({column}, %s)" if name in FIRST_TIME_ONLY else f"{column} = %s")
        params.append(value)
    # What each event says it set: the fields, and the state for the cases that moved.
    sets = {
        moves: json.dumps(_jsonable({"set": {**fields, **({"state": to_state} if moves else {})}}))
        for moves in (False, True)
    }
    ids, from_states, to_states, summaries, payloads = [], [], [], [], []
    for pk, state, _priority, _depot in rows:
        moves = to_state is not None and state != to_state
        ids.append(pk)
        from_states.append(state if moves else "")
        to_states.append(to_state if moves and to_state else "")
        summaries.append(summary(state)[:300])
        payloads.append(sets[moves])
    # Two set-based statements however many cases: the ORM's per-row insert cost seconds at 10,000.
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {ExceptionCase._meta.db_table} SET {', '.join(assignments)} WHERE id = ANY(%s)",  # noqa: S608
            [*params, ids],
        )
        cursor.execute(
            f"INSERT INTO {CaseEvent._meta.db_table} "  # noqa: S608
            "(case_id, at, kind, actor, from_state, to_state, summary, payload) "
            "SELECT case_id, %s, %s, %s, from_state, to_state, summary, payload::jsonb "
            "FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[]) "
            "AS event(case_id, from_state, to_state, summary, payload)",
            [now, kind, Actor.SYSTEM, ids, from_states, to_states, summaries, payloads],
        )
    # The rows as this transaction leaves them, read in one query; numbered and sent after commit.
    by_depot: dict[int, list[dict[str, Any]]] = {}
    for row in board.case_rows(ExceptionCase.objects.filter(pk__in=ids).order_by("id")):
        by_depot.setdefault(row["depot_id"], []).append(dict(row))
    for depot_id, depot_rows in by_depot.items():
        realtime.board_send_many_on_commit(depot_id, "case.changed", depot_rows)


def _sla_breaches(now: dt.datetime, limit: int) -> int:
    """Open cases past their SLA: escalated at priority 1, in bulk."""
    with transaction.atomic():
        rows = list(
            ExceptionCase.objects.select_for_update(skip_locked=True)
            .filter(state__in=ExceptionCase.OPEN_STATES, sla_breached_at__isnull=True, sla_due_at__lte=now)
            .order_by()
            .values_list("pk", "state", "priority", "depot_id")[:limit]
        )
        escalated = [row for row in rows if row[1] == State.ESCALATED]
        others = [row for row in rows if row[1] != State.ESCALATED]
        if escalated:
            _bulk(
                now,
                escalated,
                to_state=None,
                kind=Kind.ESCALATION,
                summary=lambda _s: "SLA breached: now P1",
                priority=1,
                sla_breached_at=now,
            )
        if others:
            _bulk(
                now,
                others,
                to_state=State.ESCALATED,
                kind=Kind.ESCALATION,
                summary=lambda state: f"SLA breached while {State(state).label.lower()}: escalated (P1)",
                priority=1,
                sla_breached_at=now,
                escalation_reason="SLA breached",
                next_action="",
                next_action_due_at=None,
            )
        return len(rows)


def _resolved_close(now: dt.datetime, limit: int) -> int:
    """Resolved cases leave the board after EXCEPTIONS_CLOSE_AFTER_HOURS."""
    cutoff = now - dt.timedelta(hours=settings.EXCEPTIONS_CLOSE_AFTER_HOURS)
    with transaction.atomic():
        rows = list(
            ExceptionCase.objects.select_for_update(skip_locked=True)
            .filter(state=State.RESOLVED, resolved_at__lte=cutoff)
            .order_by()
            .values_list("pk", "state", "priority", "depot_id")[:limit]
        )
        if rows:
            _bulk(now, rows, to_state=State.CLOSED, kind=Kind.STATE, summary=lambda _s: "Closed")
        return len(rows)


# --- Dispatcher actions: each checks the version the dispatcher saw -------------------------------------------------


def _for_dispatcher(case_id: int, user: User, version: int) -> ExceptionCase:
    case = _locked(case_id)
    if case is None:
        raise ExceptionCase.DoesNotExist(f"Case {case_id} does not exist.")
    if case.version != version:
        raise CaseConflict(
            f"The case changed since you opened it (you saw version {version}, it is now {case.version}): "
            "reload it and decide again."
        )
    if not case.is_open:
        raise WorkflowError(f"The case is {case.get_state_display().lower()}: nothing more to do.")
    return case


def _dispatcher_action(
    case_id: int, user: User, version: int, act: Callable[[ExceptionCase, dt.datetime], None]
) -> ExceptionCase:
    now = timezone.now()
    with transaction.atomic():
        case = _for_dispatcher(case_id, user, version)
        act(case, now)
        _save(case)
        return case


def case_approve(*, case_id: int, user: User, version: int) -> ExceptionCase:
    """Approve the outcome the operator is holding (a safe drop, a neighbour, a window)."""

    def act(case: ExceptionCase, now: dt.datetime) -> None:
        if not case.pending_outcome:
            raise WorkflowError("There is no outcome waiting for approval on this case.")
        outcome = case.pending_outcome
        _change(
            case,
            now=now,
            kind=Kind.DISPATCHER_ACTION,
            summary=f"Approved: {Outcome(outcome).label}",
            user=user,
            requires_approval=False,
        )
        _apply(case, now, outcome, detail=dict(case.outcome_detail), user=user)

    return _dispatcher_action(case_id, user, version, act)


def case_resolve(*, case_id: int, user: User, version: int, outcome: str, note: str = "") -> ExceptionCase:
    """Record an outcome the dispatcher settled themselves (on the phone, say)."""
    if outcome not in Outcome.values:
        raise WorkflowError(f"Unknown outcome {outcome!r}.")

    def act(case: ExceptionCase, now: dt.datetime) -> None:
        _change(case, now=now, kind=Kind.DISPATCHER_ACTION, summary=f"Resolved by hand: {note}".rstrip(": "), user=user)
        if outcome in DRIVER_OUTCOMES or outcome in RESCHEDULE_OUTCOMES:
            _apply(case, now, outcome, detail={**case.outcome_detail, "note": note}, user=user)
        elif outcome == Outcome.DELIVERED_ON_RETRY:
            _resolve(case, now, outcome, detail={"note": note}, user=user)
        else:
            _terminal(case, now, outcome, detail={"note": note}, user=user)

    return _dispatcher_action(case_id, user, version, act)


def case_window_set(
    *, case_id: int, user: User, version: int, window_start: dt.datetime, window_end: dt.datetime | None
) -> ExceptionCase:
    """Set a redelivery window; routing finds the slot."""
    if window_end is not None and window_end <= window_start:
        raise WorkflowError("The window must end after it starts.")

    def act(case: ExceptionCase, now: dt.datetime) -> None:
        _change(
            case,
            now=now,
            kind=Kind.DISPATCHER_ACTION,
            summary="Set a redelivery window",
            user=user,
            outcome_detail={"window_start": window_start, "window_end": window_end},
        )
        _reschedule(case, now, window_start, window_end, user=user)

    return _dispatcher_action(case_id, user, version, act)


def case_access_code_enter(*, case_id: int, user: User, version: int, code: str) -> ExceptionCase:
    """A dispatcher got the code (by phone): it goes to the vault and the driver is told to reveal it."""
    if not code.strip():
        raise WorkflowError("Enter the access code.")

    def act(case: ExceptionCase, now: dt.datetime) -> None:
        credential, _ = access_credential_record(
            address_id=case.order.address_id, secret=code, source=AccessCredential.Source.DISPATCHER
        )
        _change(case, now=now, kind=Kind.DISPATCHER_ACTION, summary="Entered an access code", user=user)
        _apply(
            case,
            now,
            Outcome.ACCESS_CODE_PROVIDED,
            detail={"credential_id": credential.pk, "source": "dispatcher"},
            user=user,
        )

    return _dispatcher_action(case_id, user, version, act)


def case_call_mark(*, case_id: int, user: User, version: int, note: str = "") -> ExceptionCase:
    def act(case: ExceptionCase, now: dt.datetime) -> None:
        _change(case, now=now, kind=Kind.DISPATCHER_ACTION, summary=f"Called the recipient. {note}".strip(), user=user)

    return _dispatcher_action(case_id, user, version, act)


def case_return_to_sender(*, case_id: int, user: User, version: int, note: str = "") -> ExceptionCase:
    def act(case: ExceptionCase, now: dt.datetime) -> None:
        _change(case, now=now, kind=Kind.DISPATCHER_ACTION, summary="Return to sender", user=user)
        _terminal(case, now, Outcome.RETURNED_TO_SENDER, detail={"note": note}, user=user)

    return _dispatcher_action(case_id, user, version, act)


def case_assign(*, case_id: int, user: User, version: int, assignee: User | None) -> ExceptionCase:
    def act(case: ExceptionCase, now: dt.datetime) -> None:
        who = assignee.get_username() if assignee else "nobody"
        _change(
            case, now=now, kind=Kind.DISPATCHER_ACTION, summary=f"Assigned to {who}", user=user, assigned_to=assignee
        )

    return _dispatcher_action(case_id, user, version, act)


def case_release(*, case_id: int, user: User, version: int) -> ExceptionCase:
    """Hand an escalated case back to automation: the playbook goes on from where it stopped."""

    def act(case: ExceptionCase, now: dt.datetime) -> None:
        if case.state != State.ESCALATED:
            raise WorkflowError("Only an escalated case can be released to automation.")
        _change(
            case,
            now=now,
            kind=Kind.DISPATCHER_ACTION,
            summary="Released to automation",
            user=user,
            state=State.TRIAGING,
            assigned_to=None,
        )
        _playbook_advance(case, now)

    return _dispatcher_action(case_id, user, version, act)


def case_event_record(
    *,
    case_id: int,
    kind: str,
    actor: str,
    summary: str,
    payload: dict[str, Any] | None = None,
    user: User | None = None,
    version: int | None = None,
) -> ExceptionCase | None:
    """Add a line to a case's timeline for another app (a message delivered, a reply received).

    With a ``version`` it is a dispatcher's action on an open case (a message they send), checked
    like the others: a stale version is a ``CaseConflict``. Runs in the caller's transaction if any,
    so what the caller writes next to it (the message) commits or rolls back with the line.
    """
    if version is not None and user is None:
        raise WorkflowError("A dispatcher's action names the dispatcher.")
    with transaction.atomic():
        if version is not None and user is not None:
            case: ExceptionCase | None = _for_dispatcher(case_id, user, version)
        else:
            case = _locked(case_id)
        if case is None:
            return None
        _change(case, now=timezone.now(), kind=kind, actor=actor, summary=summary, payload=payload, user=user)
        _save(case)
        return case


__all__ = [
    "CaseConflict",
    "Understanding",
    "WorkflowError",
    "case_access_code_enter",
    "case_approve",
    "case_assign",
    "case_awaiting_slot",
    "case_call_mark",
    "case_event_record",
    "case_open",
    "case_outreach_failed",
    "case_release",
    "case_reply_apply",
    "case_reschedule_confirm",
    "case_reschedule_fail",
    "case_resolve",
    "case_return_to_sender",
    "case_stop_delivered",
    "case_timer_fire",
    "case_timers_sweep",
    "case_triage",
    "case_window_set",
    "timeline_fold",
]
