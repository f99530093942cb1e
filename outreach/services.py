"""Writes of the outreach app: queue a message, send it exactly once, record what the provider says.

A message row is written (and its key made unique) before anything is sent;
the send claims the row with a conditional UPDATE, posts, then writes the
provider's id. A send is never repeated for a key: a duplicate task finds the
row claimed or sent, and an ambiguous outcome (no answer after the POST) is
left ``unknown`` for reconciliation instead of being sent again.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from dispatch.models import Recipient
from outreach.backends import (
    OPTED_OUT,
    AmbiguousSendError,
    PermanentSendError,
    TransientSendError,
    sms_backend,
)
from outreach.models import Channel, Conversation, Message, MessageTemplate

logger = logging.getLogger(__name__)

# Longer than the HTTP timeout: a claim outlives the send it covers.
SEND_LEASE = dt.timedelta(seconds=60)
MAX_SEND_ATTEMPTS = 6
BACKOFF_BASE_SECONDS = 5.0
BACKOFF_CAP_SECONDS = 300.0

Status = Message.Status


@dataclass(frozen=True)
class SendResult:
    status: str
    retry: bool = False


def send_backoff(*, attempts: int) -> float:
    """Seconds before the next try: exponential with full jitter, capped."""
    return random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0)))  # noqa: S311


def _zone(recipient: Recipient, fallback: Any) -> Any:
    return recipient.time_zone or fallback


def quiet_hours_release(*, recipient: Recipient, now: dt.datetime, fallback_zone: Any) -> dt.datetime | None:
    """When a message to this recipient may go, if ``now`` is in their quiet hours; None when it may go now."""
    zone = _zone(recipient, fallback_zone)
    local = now.astimezone(zone)
    start, end = recipient.quiet_hours_start, recipient.quiet_hours_end
    moment = local.time()
    quiet = (start <= moment or moment < end) if start > end else (start <= moment < end)
    if not quiet or start == end:
        return None
    day = local.date() if moment < end else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, end, tzinfo=zone)


def message_queue(
    *,
    case: Any,
    template_key: str,
    idempotency_key: str,
    context: dict[str, str],
    urgent: bool = False,
    now: dt.datetime | None = None,
) -> Message:
    """Write an outbound SMS for the case (once per key) and send it after commit, or when quiet hours end."""
    from outreach.tasks import message_send_task

    now = now or timezone.now()
    recipient: Recipient = case.order.recipient
    conversation, _ = Conversation.objects.get_or_create(case=case, defaults={"recipient": recipient})
    existing = Message.objects.filter(conversation=conversation, idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    language = recipient.language
    template = (
        MessageTemplate.objects.filter(key=template_key, language=language).first()
        or MessageTemplate.objects.filter(key=template_key, language=Recipient.Language.ENGLISH).first()
    )
    if template is None:
        raise MessageTemplate.DoesNotExist(f"No template {template_key!r}: add one in admin.")
    release_at = (
        None if urgent else quiet_hours_release(recipient=recipient, now=now, fallback_zone=case.depot.time_zone)
    )
    message = Message.objects.create(
        conversation=conversation,
        direction=Message.Direction.OUTBOUND,
        channel=Channel.SMS,
        body=template.body.format_map(_Blank(context)),
        template_key=template_key,
        language=template.language,
        idempotency_key=idempotency_key,
        urgent=urgent,
        release_at=release_at,
    )
    if release_at is None:
        transaction.on_commit(lambda: message_send_task.delay(message.pk), robust=True)
    return message


class _Blank(dict[str, str]):
    """A template's unknown placeholder reads as nothing rather than failing the send."""

    def __missing__(self, key: str) -> str:
        return ""


def _finish(message_id: int, **fields: Any) -> bool:
    """Record the send's outcome, only over our own claim."""
    return bool(Message.objects.filter(pk=message_id, status=Status.SENDING).update(claimed_until=None, **fields))


def message_send(*, message_id: int, now: dt.datetime | None = None) -> SendResult:
    """Send one queued message, at most once. Returns whether the task should try again later."""
    now = now or timezone.now()
    claimed = (
        Message.objects.filter(pk=message_id, direction=Message.Direction.OUTBOUND, status=Status.QUEUED)
        .filter(Q(release_at__isnull=True) | Q(release_at__lte=now))
        .update(status=Status.SENDING, attempts=F("attempts") + 1, claimed_until=now + SEND_LEASE)
    )
    if not claimed:
        return SendResult(status="not_claimed")
    message = Message.objects.select_related("conversation__recipient").get(pk=message_id)
    conversation = message.conversation
    recipient = conversation.recipient
    if recipient.opted_out or not recipient.phone:
        _finish(
            message_id, status=Status.FAILED, error_message="The recipient cannot be texted (opted out or no number)."
        )
        _case_cannot_reach(conversation.case_id, "The recipient opted out of texts.")
        return SendResult(status=Status.FAILED)
    try:
        sent = sms_backend().send(to=str(recipient.phone), body=message.body, status_callback=None)
    except TransientSendError as exc:
        if message.attempts >= MAX_SEND_ATTEMPTS:
            _finish(message_id, status=Status.FAILED, error_message=str(exc)[:300])
            _case_cannot_reach(conversation.case_id, "Texts to the recipient keep failing.")
            return SendResult(status=Status.FAILED)
        _finish(message_id, status=Status.QUEUED, error_message=str(exc)[:300])
        return SendResult(status=Status.QUEUED, retry=True)
    except PermanentSendError as exc:
        _finish(message_id, status=Status.FAILED, error_code=exc.code, error_message=str(exc)[:300])
        if exc.code == OPTED_OUT:
            recipient_opted_out(recipient_id=recipient.pk, now=now)
        _case_cannot_reach(conversation.case_id, f"The text was refused: {exc}")
        return SendResult(status=Status.FAILED)
    except AmbiguousSendError as exc:
        _finish(message_id, status=Status.UNKNOWN, error_message=str(exc)[:300])
        logger.warning("message %s: outcome unknown, left for reconciliation", message_id)
        return SendResult(status=Status.UNKNOWN)
    _finish(message_id, status=Status.SENT, provider_sid=sent.sid, sent_at=timezone.now(), error_message="")
    return SendResult(status=Status.SENT)


def recipient_opted_out(*, recipient_id: int, now: dt.datetime | None = None) -> None:
    """The recipient said STOP (or Twilio says they did): no text goes to them until they opt back in."""
    Recipient.objects.filter(pk=recipient_id, opted_out=False).update(
        opted_out=True, opted_out_at=now or timezone.now()
    )


def _case_cannot_reach(case_id: int, reason: str) -> None:
    from exceptions.workflow import case_outreach_failed

    case_outreach_failed(case_id=case_id, reason=reason)
