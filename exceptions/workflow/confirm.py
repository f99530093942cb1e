"""Confirming once before the irreversible: an unsure reading is asked about before the desk acts on it.

A code goes to the driver, a parcel left unattended stays left, an opt-out must not be missed: when reply
understanding reads one of these with doubt (``Understanding.doubt``), the recipient is asked once ("Just to
check: is the gate code 4417?") instead. The next reply is read against that reading (``case_confirming``):
a yes makes it sure and it is acted on; a no, or a second unsure reading, goes to a dispatcher with what
was read. The reading asked about is kept on the question's timeline line with its code sealed (encrypted)
and shown masked.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from dispatch import crypto
from exceptions import ports
from exceptions.models import CaseEvent, ExceptionCase
from exceptions.ports import ReplyIntent, Understanding
from exceptions.workflow.handoff import _escalate, _reply_timer, _steps
from exceptions.workflow.timeline import _change
from exceptions.workflow.vocabulary import Kind, Outcome, State

# The timeline topic of the question that asks the recipient to confirm a reading.
CONFIRM_TOPIC = "confirm"
# The readings whose outcome cannot be taken back, and the outcome each leads to.
IRREVERSIBLE: dict[str, str] = {
    ReplyIntent.ACCESS_CODE: Outcome.ACCESS_CODE_PROVIDED,
    ReplyIntent.SAFE_DROP: Outcome.SAFE_DROP,
    ReplyIntent.NEIGHBOR: Outcome.NEIGHBOUR,
    ReplyIntent.OPT_OUT: "",
}
# How long a question to confirm waits for its answer when the playbook says nothing.
DEFAULT_CONFIRM_WAIT = dt.timedelta(minutes=30)


def reading_words(understood: Understanding) -> str:
    """The reading as a dispatcher reads it on the timeline: what it is, and what it says (a code masked)."""
    said = "•" * len(understood.code) if understood.code else understood.detail
    label = ReplyIntent(understood.intent).label
    return f"{label} ({said})" if said else label


def _sealed(understood: Understanding) -> dict[str, Any]:
    return {
        "intent": understood.intent,
        "code": "•" * len(understood.code) if understood.code else "",
        "sealed": crypto.encrypt(understood.code) if understood.code else "",
        "window_start": understood.window_start,
        "window_end": understood.window_end,
        "detail": understood.detail,
        "why": understood.why,
        "doubt": understood.doubt,
    }


def _moment(value: Any) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _unsealed(reading: dict[str, Any]) -> Understanding:
    return Understanding(
        intent=ReplyIntent(reading["intent"]),
        code=crypto.decrypt(reading["sealed"]) if reading.get("sealed") else "",
        window_start=_moment(reading.get("window_start")),
        window_end=_moment(reading.get("window_end")),
        detail=reading.get("detail", ""),
        why=reading.get("why", ""),
        doubt=reading.get("doubt", ""),
    )


def _last_question(case_id: int) -> dict[str, Any] | None:
    """The reading the newest question to the recipient asked them to confirm; None when it asked something else."""
    payload = (
        CaseEvent.objects.filter(case_id=case_id, kind=Kind.MESSAGE_OUT)
        .order_by("-pk")
        .values_list("payload", flat=True)
        .first()
    )
    if not payload or payload.get("topic") != CONFIRM_TOPIC:
        return None
    reading: dict[str, Any] = payload["reading"]
    return reading


def case_confirming(case_id: int) -> Understanding | None:
    """The reading the case waits for the recipient to confirm; None when it waits for nothing of the kind."""
    state = ExceptionCase.objects.filter(pk=case_id).values_list("state", flat=True).first()
    if state != State.AWAITING_RECIPIENT:
        return None
    reading = _last_question(case_id)
    return _unsealed(reading) if reading is not None else None


def _asked_before(case: ExceptionCase) -> bool:
    return case.events.filter(kind=Kind.MESSAGE_OUT, payload__topic=CONFIRM_TOPIC).exists()


def _confirm_refused(case: ExceptionCase, now: dt.datetime, understood: Understanding) -> bool:
    """A "no" (or nothing readable) to the question to confirm: a dispatcher takes it, told what was read."""
    if understood.intent != ReplyIntent.UNCLEAR or case.state != State.AWAITING_RECIPIENT:
        return False
    reading = _last_question(case.pk)
    if reading is None:
        return False
    asked = reading_words(_unsealed(reading))
    _escalate(case, now, reason=f"The recipient did not confirm what we read: {asked}. A dispatcher decides.")
    return True


def _confirm_first(case: ExceptionCase, now: dt.datetime, understood: Understanding) -> bool:
    """Ask before acting on an unsure reading that cannot be taken back; True when the reply was handled here.

    A reading of the same kind as the one the desk is carrying out (a second code after the first was read
    back) is a correction: acted on, and read back again, so the recipient can correct it once more.
    """
    if understood.sure or understood.intent not in IRREVERSIBLE:
        return False
    if understood.intent == ReplyIntent.ACCESS_CODE and not understood.code:
        return False
    outcome = IRREVERSIBLE[understood.intent]
    if case.state == State.RESOLVING and outcome and outcome in (case.pending_outcome, case.outcome_detail.get("then")):
        return False
    what = reading_words(understood)
    if case.state not in (State.TRIAGING, State.AWAITING_RECIPIENT) or _asked_before(case):
        _escalate(case, now, reason=f"Read with doubt again: {what}, {understood.doubt}. A dispatcher decides.")
        return True
    result = ports.outreach().confirm(case=case, reading=understood)
    if not result.reachable:
        _escalate(case, now, reason=f"Read with doubt: {what}, {understood.doubt}; {result.reason}")
        return True
    steps = _steps(case)
    position = min(max(case.playbook_step, 1), len(steps)) if steps else 0
    wait = dt.timedelta(minutes=steps[position - 1].wait_minutes) if steps else DEFAULT_CONFIRM_WAIT
    start = max(result.deferred_until or now, now)
    started = case.outreach_started_at or start
    _change(
        case,
        now=now,
        kind=Kind.MESSAGE_OUT,
        summary=f"Asked the recipient to confirm: {what} (read with doubt: {understood.doubt})",
        payload={"topic": CONFIRM_TOPIC, "reading": _sealed(understood), "channel": result.channel},
        state=State.AWAITING_RECIPIENT,
        outreach_started_at=started,
        reply_due_at=start + wait,
        **_reply_timer(now, started, start + wait),
    )
    return True
