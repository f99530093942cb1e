"""Opening a case (inside the scan's transaction), triage, the playbook and the escalation rules."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from dispatch import driver_words, realtime
from dispatch.models import ReasonCode, ScanEvent, WebhookEvent
from dispatch.services.vault import access_credentials_failed, access_credentials_untried
from exceptions import board, rules
from exceptions.models import CaseEvent, EscalationRule, ExceptionCase, PlaybookStep
from exceptions.workflow.handoff import _alert, _ask, _escalate, _last_topic, _steps
from exceptions.workflow.outcomes import _driver_outcome, _propose, _reschedule, _terminal
from exceptions.workflow.timeline import CASE_RELATED, _case_webhook, _change, _jsonable, _locked, _save, _timer
from exceptions.workflow.vocabulary import (
    ASK_TOPICS,
    DEFAULT_SLA,
    PLAYBOOK_HANDOFF,
    TRIAGE_GRACE,
    Actor,
    Kind,
    Outcome,
    Source,
    State,
    Timer,
    WorkflowError,
)

# --- Opening: inside the scan's transaction --------------------------------------------------------------------------


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
                outcome_source="",
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
        order=stop.order,
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
    _case_webhook(case, WebhookEvent.CASE_OPENED)
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
                text=driver_words.verified_code(credential.kind),
                detail={"credential_id": credential.pk, "source": "vault"},
                source=Source.PLAYBOOK,
            )
            return
    _playbook_advance(case, now)


# --- The playbook ----------------------------------------------------------------------------------------------------


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
            _reschedule(case, now, None, None, source=Source.PLAYBOOK)
            return
        if step.action == PlaybookStep.Action.RETURN_TO_SENDER:
            _change(case, now=now, kind=Kind.DECISION, summary="Playbook: return to sender", playbook_step=position)
            # Through the approval rules: a valuable parcel's return waits for a dispatcher's click.
            _propose(case, now, Outcome.RETURNED_TO_SENDER, detail={"playbook_step": position}, source=Source.PLAYBOOK)
            return
        if step.action == PlaybookStep.Action.ESCALATE:
            _escalate(
                case,
                now,
                reason=PLAYBOOK_HANDOFF,
                priority=step.priority,
                playbook_step=position,
            )
            return
    _escalate(case, now, reason="The playbook ran out of steps without an outcome.", playbook_step=len(steps))


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
        _terminal(case, now, Outcome.RETURNED_TO_SENDER, detail={"rule": rule.name}, source=Source.PLAYBOOK)
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
