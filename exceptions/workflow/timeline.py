"""Changing a case: one helper, one event per change.

Every change runs on the locked case row (``select_for_update``), writes one timeline event and
leaves its side effects (board broadcasts, webhooks) to run after commit. Each timeline event holds
the fields it changed under ``payload["set"]``, so folding the events in order (``timeline_fold``)
rebuilds the case.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from dispatch import realtime
from dispatch.models import User
from dispatch.services.webhooks import webhook_events_emit
from exceptions.board import payloads
from exceptions.models import CaseEvent, ExceptionCase
from exceptions.workflow.vocabulary import (
    ALLOWED,
    FIRST_TIME_ONLY,
    PHASE_STAMPS,
    REOPENS,
    Actor,
    CaseConflict,
    State,
    WorkflowError,
)


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
    reopen: bool = False,
    **fields: Any,
) -> CaseEvent:
    """Apply a change to the locked case in memory and write its timeline event; ``_save`` persists the case.

    ``reopen``: the move takes a case that ended back to work (``REOPENS``), the one way out of an end.
    """
    from_state = case.state
    changed: dict[str, Any] = {}
    if state is not None and state != case.state:
        if state not in (REOPENS.get(case.state, frozenset()) if reopen else ALLOWED[case.state]):
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


# --- Locking a case; a dispatcher's change also checks the version they saw ------------------------------------------


# What a change reads, and what the board row of a changed case shows (``payloads.case_row_of``).
CASE_RELATED = (
    "stop__run__driver__user",
    "order__recipient",
    "order__address",
    "reason_code",
    "depot",
    "assigned_to",
    "scan",
)


def _locked(case_id: int, *, skip_locked: bool = False) -> ExceptionCase | None:
    return (
        ExceptionCase.objects.select_for_update(of=("self",), skip_locked=skip_locked)
        .select_related(*CASE_RELATED)
        .filter(pk=case_id)
        .first()
    )


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


# --- A line from another app -----------------------------------------------------------------------------------------


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
