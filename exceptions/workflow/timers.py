"""Timers: a case's due timer firing, and beat's sweep (SLA breaches, resolved cases closed, due timers)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Field
from django.utils import timezone

from dispatch import realtime
from exceptions import board
from exceptions.models import CaseEvent, ExceptionCase
from exceptions.workflow.handoff import _escalate, _reply_timer
from exceptions.workflow.timeline import _change, _jsonable, _locked, _save, _timer
from exceptions.workflow.triage import _playbook_advance, _rules_apply, _triage
from exceptions.workflow.vocabulary import (
    FIRST_TIME_ONLY,
    PHASE_STAMPS,
    SWEEP_BATCH,
    TIMER_BATCH,
    Actor,
    Kind,
    State,
    SweepResult,
    Timer,
)


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


# --- The sweep -------------------------------------------------------------------------------------------------------


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
