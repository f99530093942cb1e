"""What the product did with a reply, against what the recipient meant: wrong actions, and requests left unheard.

The world never reads this to decide anything; it is how the day is scored. Around each reply the order's
cases, the recipient's opt-out and the address's codes are read before and after, and what changed is the
product's action on that reply:

- a **wrong action** is an automatic action taken on the reply's word (the case's outcome is the recipient's
  choice, ``outcome_source``) that the recipient did not ask for: a code they did not give, a window
  they did not ask for, a drop (safe place, neighbour, pickup point) they did not choose, a retry when nobody
  is coming, a return they did not ask for, or an opt-out missed or invented. Asking again or handing the case
  to a dispatcher is never wrong: it is what a reader unsure of a reply should do;
- a request (a call, a refusal, a code, a time, a place, "coming down", directions) is **heard** when the
  product acted on it: a case changed state or outcome, a dispatcher has it, the code went to the vault, the
  driver got an instruction, or the recipient got an answer (asked again, asked in person, told what happens).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from demo.simulation.speech import Meaning
from dispatch.models import AccessCredential, DriverInstruction, Order, Recipient
from exceptions.models import ExceptionCase, PreArrivalContact
from outreach.models import Message

REQUESTS = frozenset(
    {
        "CALL_REQUEST", "REFUSE", "ACCESS_CODE", "RESCHEDULE", "SAFE_DROP", "NEIGHBOR", "PICKUP_POINT",
        "AVAILABLE_NOW", "DIRECTIONS",
    }
)  # fmt: skip
DROPS = frozenset({"safe_drop", "neighbour", "pickup_point"})
WINDOWS = frozenset({"rescheduled_same_day", "rescheduled_later"})
SLACK = dt.timedelta(minutes=30)


@dataclass(frozen=True)
class Snapshot:
    cases: dict[int, tuple[str, str, str, str]]  # pk -> (state, outcome, pending outcome, detail)
    opted_out: bool
    codes: int
    ahead: dict[int, tuple[str, str]]  # text ahead of the driver, per stop: (status, what it learned)
    instructions: int
    texts: int  # texts sent about the order: asking again, asking in person, telling what happens


def snapshot(order: Order) -> Snapshot:
    cases = {
        row["pk"]: (row["state"], row["outcome"], row["pending_outcome"], repr(sorted(row["outcome_detail"].items())))
        for row in ExceptionCase.objects.filter(order=order).values(
            "pk", "state", "outcome", "pending_outcome", "outcome_detail"
        )
    }
    return Snapshot(
        cases=cases,
        opted_out=Recipient.objects.filter(pk=order.recipient_id, opted_out=True).exists(),
        codes=AccessCredential.objects.filter(address_id=order.address_id).count(),
        ahead={
            row["pk"]: (row["status"], repr(sorted(row["learned"].items())))
            for row in PreArrivalContact.objects.filter(stop__order=order).values("pk", "status", "learned")
        },
        instructions=DriverInstruction.objects.filter(stop__order=order).count(),
        texts=Message.objects.filter(
            Q(conversation__case__order=order) | Q(conversation__stop__order=order),
            direction=Message.Direction.OUTBOUND,
        ).count(),
    )


@dataclass(frozen=True)
class Verdict:
    heard: bool
    wrong: str  # empty when not wrong


def judge(meaning: Meaning, before: Snapshot, after: Snapshot) -> Verdict:
    changed = [pk for pk, now in after.cases.items() if before.cases.get(pk) != now]
    escalated = any(state == ExceptionCase.State.ESCALATED for state, *_ in after.cases.values())
    heard = (
        bool(changed)
        or escalated
        or after.codes > before.codes
        or after.opted_out != before.opted_out
        or after.ahead != before.ahead
        or after.instructions > before.instructions
        or after.texts > before.texts
    )
    wrong = ""
    if meaning.intent == "OPT_OUT" and not after.opted_out:
        wrong = "opt-out missed"
    elif meaning.intent != "OPT_OUT" and after.opted_out and not before.opted_out:
        wrong = "opt-out invented"
    for pk in changed:
        wrong = wrong or _wrong(meaning, pk)
    for pk, (status, _) in after.ahead.items():
        if before.ahead.get(pk) != after.ahead[pk] and status == PreArrivalContact.Status.ANSWERED:
            wrong = wrong or _wrong_ahead(meaning, pk)
    return Verdict(heard=heard, wrong=wrong)


def _wrong_ahead(meaning: Meaning, contact_id: int) -> str:
    """What a reply ahead of the driver taught the product (``PreArrivalContact.learned``), against what was meant."""
    contact = PreArrivalContact.objects.select_related("stop__order").get(pk=contact_id)
    learned: dict[str, Any] = contact.learned or {}
    if learned.get("access_code"):
        newest = AccessCredential.objects.filter(address_id=contact.stop.order.address_id).order_by("-pk").first()
        given = "".join(ch for ch in (newest.secret if newest else "") if ch.isdigit())
        if meaning.intent != "ACCESS_CODE" or given != meaning.code:
            return "code not given"
    window = learned.get("window") or {}
    if window.get("start"):
        start = dt.datetime.fromisoformat(str(window["start"]))
        if meaning.intent != "RESCHEDULE" or meaning.window is None:
            return "window not asked for"
        if not meaning.window[0] - SLACK <= start <= (meaning.window[1] or meaning.window[0]) + SLACK:
            return "window not asked for"
    if (learned.get("safe_place") or learned.get("neighbour")) and meaning.intent not in ("SAFE_DROP", "NEIGHBOR"):
        return "drop not chosen"
    if learned.get("home") and meaning.intent != "AVAILABLE_NOW":
        return "presence not said"
    return ""


def _wrong(meaning: Meaning, case_id: int) -> str:
    case = (
        ExceptionCase.objects.filter(pk=case_id)
        .values("outcome", "pending_outcome", "outcome_detail", "outcome_source")
        .first()
    )
    if case is None or case["outcome_source"] != ExceptionCase.OutcomeSource.RECIPIENT:
        return ""  # not taken on the reply's word: the playbook moving on, a dispatcher, the driver
    outcome = case["pending_outcome"] or case["outcome"]
    detail: dict[str, Any] = case["outcome_detail"] or {}
    if outcome == ExceptionCase.Outcome.ACCESS_CODE_PROVIDED and detail.get("source") == "recipient":
        credential = AccessCredential.objects.filter(pk=int(detail.get("credential_id") or 0)).first()
        given = "".join(ch for ch in (credential.secret if credential else "") if ch.isdigit())
        return "" if meaning.intent == "ACCESS_CODE" and given == meaning.code else "code not given"
    if outcome in WINDOWS and detail.get("window_start"):
        start = dt.datetime.fromisoformat(str(detail["window_start"]))
        if meaning.intent != "RESCHEDULE" or meaning.window is None:
            return "window not asked for"
        low, high = meaning.window[0] - SLACK, (meaning.window[1] or meaning.window[0]) + SLACK
        return "" if low <= start <= high else "window not asked for"
    if outcome in DROPS:
        return "" if meaning.intent in ("SAFE_DROP", "NEIGHBOR", "PICKUP_POINT") else "drop not chosen"
    if outcome == ExceptionCase.Outcome.RETRY_NOW:
        return "" if meaning.intent in ("AVAILABLE_NOW", "DIRECTIONS") else "retry not asked for"
    if outcome == ExceptionCase.Outcome.RETURNED_TO_SENDER:
        return "" if meaning.intent == "REFUSE" else "return not asked for"
    return ""
