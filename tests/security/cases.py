"""Cases in the state each board action needs, and a body the board would send for it.

Keyed by the action's path segment. A new action without a recipe here fails
the CSRF and isolation tests by name instead of slipping past them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.utils import timezone

from dispatch.models import Order, Recipient, Stop, User
from exceptions import workflow
from exceptions.models import ExceptionCase, ReplyIntent
from exceptions.workflow import Understanding
from outreach.models import Message
from outreach.services import message_words_queue
from tests.helpers import at, escalated, fail

Outcome = ExceptionCase.Outcome


def held_back(stop: Stop) -> ExceptionCase:
    """A safe drop the policy holds for a dispatcher's approval (the parcel needs a signature)."""
    Order.objects.filter(pk=stop.order_id).update(signature_required=True)
    at(stop.run.driver, stop)
    case = fail(stop, "RECIPIENT_ABSENT")
    workflow.case_triage(case_id=case.pk)
    # Asked once more when someone will be in, the recipient names the same place.
    for _ in range(2):
        workflow.case_reply_apply(
            case_id=case.pk, understood=Understanding(intent=ReplyIntent.SAFE_DROP, detail="behind the planter")
        )
    return ExceptionCase.objects.get(pk=case.pk)


def reachable_now(stop: Stop) -> ExceptionCase:
    """An escalated case whose recipient may be texted at any hour the test runs."""
    Recipient.objects.filter(pk=stop.order.recipient_id).update(
        quiet_hours_start=dt.time(0), quiet_hours_end=dt.time(0)
    )
    return escalated(stop)


def with_a_held_message(stop: Stop) -> ExceptionCase:
    """An escalated case whose recipient's quiet hours, around now, hold a dispatcher's message."""
    zone = stop.run.depot.time_zone
    local = timezone.now().astimezone(zone)
    Recipient.objects.filter(pk=stop.order.recipient_id).update(
        quiet_hours_start=(local - dt.timedelta(hours=1)).time(), quiet_hours_end=(local + dt.timedelta(hours=2)).time()
    )
    case = escalated(stop)
    message_words_queue(case=case, text="A replacement comes tomorrow 10-12.", channel="sms")
    return case


def with_phones(stop: Stop) -> ExceptionCase:
    """An escalated case whose recipient has a number, with every dispatcher's own phone on file."""
    User.objects.update(phone="+13125550189")
    return escalated(stop)


def _held() -> dict[str, Any]:
    return {"message_id": Message.objects.filter(status=Message.Status.QUEUED).latest("pk").pk}


def _window() -> dict[str, Any]:
    start = (timezone.now() + dt.timedelta(hours=3)).replace(microsecond=0)
    return {"window_start": start.isoformat(), "window_end": (start + dt.timedelta(hours=2)).isoformat()}


# action -> (a case where the board offers it, the body the board posts)
ACTION_RECIPES: dict[str, tuple[Callable[[Stop], ExceptionCase], Callable[[], dict[str, Any]]]] = {
    "approve": (held_back, dict),
    "resolve": (escalated, lambda: {"outcome": Outcome.PICKUP_POINT, "note": "collects at the locker"}),
    "window": (escalated, _window),
    "access-code": (escalated, lambda: {"code": "#1990"}),
    "message": (reachable_now, lambda: {"text": "We will be back after 5pm, is that OK?"}),
    "send-now": (with_a_held_message, _held),
    "phone": (with_phones, dict),
    "call": (escalated, lambda: {"note": "no answer"}),
    "return": (escalated, lambda: {"note": "refused at the door"}),
    "assign": (escalated, lambda: {"user_id": None}),
    "release": (escalated, dict),
}


def recipe(action: str) -> tuple[Callable[[Stop], ExceptionCase], Callable[[], dict[str, Any]]]:
    if action not in ACTION_RECIPES:
        raise AssertionError(
            f"The board action {action!r} has no recipe in tests/security/cases.py: add the case state it needs "
            "and the body the board sends, so CSRF and depot isolation are tested for it."
        )
    return ACTION_RECIPES[action]
