"""A reply after its case ended: passed to the order's open case, the case reopened, a code kept, or filed.

A recipient who asks for something (``REQUEST_NEEDS``: a call, a refusal, a code, a time, a place, "I'm
here", directions) after the case ended is heard:

- another case of the same order is open: that case takes the reply, as any reply; else the order's newest
  case takes it when it is not this one (the recipient wrote in an older conversation), and is heard alike;
- the parcel is still to be delivered: the case is reopened (back to triage, its outcome and end cleared,
  a new SLA clock) and the reply is acted on there as on an open case (``exceptions.workflow.answers``);
- the parcel was delivered, returned or cancelled: a code goes to the vault for the next visit and nothing
  else happens; a refusal of a parcel already going back asks for nothing more; anything else reopens the
  case for a dispatcher, since only a person can act on it now.

A reply that asks for nothing (thanks, unclear, help, STOP, START) stays on the timeline only. Every
line says what became of the reply (``payload["heard"]``), so analytics counts requests left unheard in
one query (``exceptions.analytics.requests``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from dispatch.models import AccessCredential, Order, Stop
from dispatch.services.vault import access_credential_record
from exceptions.models import ExceptionCase
from exceptions.ports import ReplyIntent, Understanding
from exceptions.workflow.timeline import _change, _locked, _timer
from exceptions.workflow.vocabulary import DEFAULT_SLA, PARCEL_DONE, Heard, Kind, State, is_request

GOING_BACK = (Order.Status.RETURNED, Order.Status.CANCELLED)
CALL_AFTER_THE_END = "The recipient asked for a call after the case ended."
REOPENED = "Reopened: the recipient wrote after the case ended"


@dataclass(frozen=True)
class Late:
    """What a reply after the case ended came to.

    ``case`` is the ended case as it is now (read again when its reopening had to be undone); ``passed_to``
    the order's open case that takes the reply; ``escalate``, why a reopened case goes straight to a
    dispatcher rather than being acted on.
    """

    heard: str
    case: ExceptionCase
    passed_to: int | None = None
    escalate: str = ""


def _late_reply(case: ExceptionCase, now: dt.datetime, understood: Understanding, shown: dict[str, Any]) -> Late:
    """Hear a reply to the locked case that ended: file it, keep its code, pass it on, or reopen the case.

    A reopened case is left in triage for the caller to act on the reply, unless ``escalate`` says why a
    dispatcher takes it.
    """
    if not is_request(understood):
        _filed(case, now, understood, shown, Heard.FILED, "after the case ended")
        return Late(Heard.FILED, case)
    other = _open_case_of_order(case)
    if other is not None:
        return _passed_on(case, now, understood, shown, other)
    newer = _newer_case_of_order(case)
    if newer is not None:
        return _passed_on(case, now, understood, shown, newer, why="the order's newer case, which ended too")
    # Read now, not with the case: a lock waited for (the dispatcher's return) leaves the joined order as it was.
    status = Order.objects.values_list("status", flat=True).get(pk=case.order_id)
    finished = PARCEL_DONE.get(status, "")
    if finished and understood.intent == ReplyIntent.ACCESS_CODE:
        access_credential_record(
            address_id=case.order.address_id, secret=understood.code, source=AccessCredential.Source.RECIPIENT
        )
        tail = f"after the parcel was {finished}: the code is in the vault for the next visit"
        _filed(case, now, understood, shown, Heard.VAULT, tail)
        return Late(Heard.VAULT, case)
    if understood.intent == ReplyIntent.REFUSE and status in GOING_BACK:
        _filed(case, now, understood, shown, Heard.HONOURED, f"after the parcel was {finished}: nothing more to do")
        return Late(Heard.HONOURED, case)
    try:
        with transaction.atomic():
            _reopen(case, now)
            case.save()
    except IntegrityError:
        # A failed scan opened a case for the stop meanwhile (one open case per stop): that case takes the reply.
        fresh = _locked(case.pk)
        other = _open_case_of_order(case)
        if fresh is None or other is None:
            raise
        return _passed_on(fresh, now, understood, shown, other)
    if not finished:
        return Late(Heard.REOPENED, case)
    if understood.intent == ReplyIntent.CALL_REQUEST:
        return Late(Heard.REOPENED, case, escalate=CALL_AFTER_THE_END)
    asked = ReplyIntent(understood.intent).label + (f" ({understood.detail})" if understood.detail else "")
    return Late(Heard.REOPENED, case, escalate=f"The recipient wrote after the parcel was {finished}: {asked}")


def _filed(
    case: ExceptionCase,
    now: dt.datetime,
    understood: Understanding,
    shown: dict[str, Any],
    heard: str,
    tail: str,
    **about: Any,
) -> None:
    _change(
        case,
        now=now,
        kind=Kind.UNDERSTANDING,
        summary=f"Late reply ({understood.intent}) {tail}",
        payload={**shown, **about, "late": True, "heard": heard},
    )


def _passed_on(
    case: ExceptionCase,
    now: dt.datetime,
    understood: Understanding,
    shown: dict[str, Any],
    other: int,
    *,
    why: str = "open for the same order",
) -> Late:
    tail = f"after the case ended: passed to case #{other}, {why}"
    _filed(case, now, understood, shown, Heard.PASSED_ON, tail, case_id=other)
    return Late(Heard.PASSED_ON, case, passed_to=other)


def _open_case_of_order(case: ExceptionCase) -> int | None:
    """Another case of the order still open (the newest), which a reply to this one should go to."""
    return (
        ExceptionCase.objects.filter(order_id=case.order_id, state__in=ExceptionCase.OPEN_STATES)
        .exclude(pk=case.pk)
        .order_by("-opened_at")
        .values_list("pk", flat=True)
        .first()
    )


def _newer_case_of_order(case: ExceptionCase) -> int | None:
    """The order's newest case when it is not this one: the recipient wrote in an older conversation (the
    newer case never texted them), and it is the newest whose story goes on."""
    newest = (
        ExceptionCase.objects.filter(order_id=case.order_id).order_by("-opened_at", "-pk").values_list("pk", flat=True)
    ).first()
    return newest if newest != case.pk else None


def _reopen(case: ExceptionCase, now: dt.datetime) -> None:
    """Back to triage: the outcome and the end cleared (the timeline keeps them), a new SLA clock, no timer.

    When the parcel moved to another run since, the case follows it to the order's active stop: that is
    where a driver is told and what routing moves.
    """
    current = (
        Stop.objects.select_related("run__driver__user")
        .filter(order_id=case.order_id, status__in=Stop.ACTIVE_STATUSES)
        .exclude(pk=case.stop_id)
        .first()
    )
    playbook = getattr(case.reason_code, "playbook", None)
    sla = dt.timedelta(minutes=playbook.sla_minutes) if playbook is not None else DEFAULT_SLA
    was = {"state": case.state, "outcome": case.outcome, "resolved_at": case.resolved_at, "closed_at": case.closed_at}
    moved: dict[str, Any] = {} if current is None else {"stop": current}
    _change(
        case,
        now=now,
        kind=Kind.REOPENED,
        summary=REOPENED + ("; it follows the parcel to its stop on another run" if moved else ""),
        payload={"was": was, **({"from_stop_id": case.stop_id} if moved else {})},
        state=State.TRIAGING,
        reopen=True,
        outcome="",
        outcome_detail={},
        pending_outcome="",
        outcome_source="",
        requires_approval=False,
        resolved_at=None,
        resolved_by=None,
        closed_at=None,
        escalation_reason="",
        priority=ExceptionCase._meta.get_field("priority").get_default(),
        sla_due_at=now + sla,
        sla_breached_at=None,
        reopened_at=now,
        reopened_count=case.reopened_count + 1,
        **moved,
        **_timer(),
    )
