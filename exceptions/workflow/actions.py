"""Dispatcher actions: each checks the version the dispatcher saw.

An action carries the version of the case it was decided on and gets a ``CaseConflict`` when the
case moved meanwhile.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from dispatch.models import AccessCredential, User
from dispatch.services.vault import access_credential_record
from exceptions import ports
from exceptions.models import ExceptionCase
from exceptions.workflow.outcomes import QUIET, _apply, _reschedule, _resolve, _terminal
from exceptions.workflow.timeline import _change, _for_dispatcher, _locked, _save, case_event_record
from exceptions.workflow.triage import _playbook_advance
from exceptions.workflow.vocabulary import (
    DRIVER_OUTCOMES,
    RESCHEDULE_OUTCOMES,
    Actor,
    Kind,
    Outcome,
    Source,
    State,
    WorkflowError,
)


def _locked_any(case_id: int) -> ExceptionCase:
    """The case, locked, whatever its version now (for a line that follows an action already checked)."""
    case = _locked(case_id)
    if case is None:
        raise ExceptionCase.DoesNotExist(f"Case {case_id} does not exist.")
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
        # Approving keeps the outcome its author's: the recipient's window is still theirs.
        source = case.outcome_source or Source.DISPATCHER
        _apply(case, now, outcome, detail=dict(case.outcome_detail), source=source, user=user)

    return _dispatcher_action(case_id, user, version, act)


def case_resolve(
    *, case_id: int, user: User, version: int, outcome: str, note: str = "", tell_recipient: bool = True
) -> ExceptionCase:
    """Record an outcome the dispatcher settled themselves (on the phone, say). ``tell_recipient`` False: the
    outcome's text does not go (the dispatcher already told them, in their own words)."""
    if outcome not in Outcome.values:
        raise WorkflowError(f"Unknown outcome {outcome!r}.")

    def act(case: ExceptionCase, now: dt.datetime) -> None:
        summary = f"Resolved by hand: {note}".rstrip(": ")
        if not tell_recipient:
            summary += " (the recipient is not texted the outcome)"
        _change(case, now=now, kind=Kind.DISPATCHER_ACTION, summary=summary, user=user)
        dispatcher = Source.DISPATCHER
        told = {} if tell_recipient else {QUIET: True}
        if outcome in DRIVER_OUTCOMES or outcome in RESCHEDULE_OUTCOMES:
            detail = {**case.outcome_detail, "note": note, **told}
            _apply(case, now, outcome, detail=detail, source=dispatcher, user=user)
        elif outcome == Outcome.DELIVERED_ON_RETRY:
            _resolve(case, now, outcome, detail={"note": note, **told}, source=dispatcher, user=user)
        else:
            _terminal(case, now, outcome, detail={"note": note, **told}, source=dispatcher, user=user)

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
        _reschedule(case, now, window_start, window_end, source=Source.DISPATCHER, user=user)

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
            source=Source.DISPATCHER,
            user=user,
        )

    return _dispatcher_action(case_id, user, version, act)


def case_call_place(*, case_id: int, user: User, version: int) -> ExceptionCase:
    """Ring the dispatcher's own phone and bridge the recipient, both shown the company's number.

    The case is checked (its version, open) under its lock, but the call is placed after the lock is let go:
    asking Twilio can take seconds, and the case's other work (a reply, a timer, a colleague) must not wait on it.
    The timeline then says the call is on its way, whatever changed meanwhile."""
    phone = str(user.phone or "")
    with transaction.atomic():
        case = _for_dispatcher(case_id, user, version)
    placed = ports.outreach().call(case=case, caller_phone=phone, user_id=user.pk)  # without a phone: refused
    if not placed.reachable:
        raise WorkflowError(placed.reason)
    summary = f"Calling the recipient: your phone (ending {phone[-2:]}) rings first, then theirs"
    with transaction.atomic():
        case = _locked_any(case_id)
        _change(case, now=timezone.now(), kind=Kind.DISPATCHER_ACTION, summary=summary, user=user)
        _save(case)
    return case


def case_call_ended(*, case_id: int, summary: str, user_id: int | None, call_id: int, caller: str) -> None:
    """How a call through the company's line ended, on the case's timeline (open or ended), as the caller's."""
    user = User.objects.filter(pk=user_id).first() if user_id is not None else None
    driver = caller == "driver"
    case_event_record(
        case_id=case_id,
        kind=Kind.DISPATCHER_ACTION if not driver else Kind.NOTE,
        actor=Actor.DRIVER if driver else Actor.DISPATCHER if user is not None else Actor.SYSTEM,
        summary=f"Driver's {summary[0].lower()}{summary[1:]}" if driver else summary,
        payload={"call_id": call_id},
        user=user,
    )


def case_call_mark(*, case_id: int, user: User, version: int, note: str = "") -> ExceptionCase:
    def act(case: ExceptionCase, now: dt.datetime) -> None:
        _change(case, now=now, kind=Kind.DISPATCHER_ACTION, summary=f"Called the recipient. {note}".strip(), user=user)

    return _dispatcher_action(case_id, user, version, act)


def case_message_send(*, case_id: int, user: User, version: int, text: str) -> ExceptionCase:
    """A dispatcher's own words to the recipient, on the case's timeline and sent like any question.

    The timeline line and the message commit together; the message then goes through the same once-only
    send path as the desk's questions. ``WorkflowError`` when the recipient cannot be reached.
    """
    body = text.strip()
    if not body:
        raise WorkflowError("Write the message first.")
    with transaction.atomic():
        case = case_event_record(
            case_id=case_id,
            kind=Kind.MESSAGE_OUT,
            actor=Actor.DISPATCHER,
            summary="Dispatcher's message to the recipient: queued",
            user=user,
            version=version,
        )
        assert case is not None  # a missing case raised DoesNotExist
        sent = ports.outreach().say(case=case, text=body)
        if not sent.reachable:
            raise WorkflowError(sent.reason)
        if sent.deferred_until is not None:
            # Not sent yet, and the timeline says so: when it will go, in the depot's time.
            local = sent.deferred_until.astimezone(case.depot.time_zone)
            when = f"{local:%a %d %b}, {local.hour % 12 or 12}:{local:%M %p %Z}"
            held = f"Dispatcher's message to the recipient: held for quiet hours until {when}"
            case.events.filter(pk=case.events.filter(kind=Kind.MESSAGE_OUT).latest("pk").pk).update(summary=held)
        return case


def case_message_send_now(*, case_id: int, user: User, version: int, message_id: int) -> ExceptionCase:
    """Send at once a message to the recipient that their quiet hours hold (a dispatcher decides it can't wait)."""

    def act(case: ExceptionCase, now: dt.datetime) -> None:
        if not ports.outreach().send_now(case=case, message_id=message_id):
            raise WorkflowError("That message is not held: it has gone already, or it is not this case's.")
        _change(
            case, now=now, kind=Kind.DISPATCHER_ACTION, summary="Sent a message held for quiet hours now", user=user
        )

    return _dispatcher_action(case_id, user, version, act)


def case_return_to_sender(*, case_id: int, user: User, version: int, note: str = "") -> ExceptionCase:
    def act(case: ExceptionCase, now: dt.datetime) -> None:
        _change(case, now=now, kind=Kind.DISPATCHER_ACTION, summary="Return to sender", user=user)
        _terminal(case, now, Outcome.RETURNED_TO_SENDER, detail={"note": note}, source=Source.DISPATCHER, user=user)

    return _dispatcher_action(case_id, user, version, act)


def case_assign(*, case_id: int, user: User, version: int, assignee: User | None) -> ExceptionCase:
    def act(case: ExceptionCase, now: dt.datetime) -> None:
        who = (assignee.get_full_name() or assignee.get_username()) if assignee else "nobody"
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
