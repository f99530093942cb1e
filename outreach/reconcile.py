"""Reconciliation: did Twilio take the messages we never heard back about?

A send whose worker died around the POST leaves its message ``unknown`` (``services.messages_sweep``). It is never
sent blindly: Twilio's own list says whether it went, and only a message Twilio never took is queued again.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from outreach.backends import WHATSAPP, TransientSendError, sms_backend
from outreach.models import Channel, Message
from outreach.services import (
    MAX_SEND_ATTEMPTS,
    PROVIDER_STATUSES,
    SWEEP_BATCH,
    Status,
    _cannot_reach,
    message_text,
)

# Long enough for Twilio's list to show a message it accepted, counted from the end of the claim it was
# sent under: a message Twilio does not list by then never reached it.
RECONCILE_AFTER = dt.timedelta(minutes=2)


def _reconcile_due(now: dt.datetime) -> Q:
    settled = now - RECONCILE_AFTER
    # Rows from before claims were kept on unknown messages count from their creation.
    return Q(claimed_until__lte=settled) | Q(claimed_until__isnull=True, created_at__lte=settled)


def message_reconcile(*, message_id: int, now: dt.datetime | None = None) -> str:
    """Settle an ``unknown`` message by asking Twilio, never by sending it blindly.

    Listed: it was sent. Not listed once the claim it went out under ended
    ``RECONCILE_AFTER`` ago: Twilio never took it (the sender died before the POST,
    or the POST never arrived), so it is queued again, as after a refused
    attempt, and given up on after ``MAX_SEND_ATTEMPTS``.
    """
    from outreach.tasks import message_send_task

    now = now or timezone.now()
    message = (
        Message.objects.select_related("conversation__recipient")
        .filter(_reconcile_due(now), pk=message_id, status=Status.UNKNOWN)
        .first()
    )
    if message is None:
        return "not_due"
    recipient = message.conversation.recipient
    try:
        to = f"{WHATSAPP}{recipient.phone}" if message.channel == Channel.WHATSAPP else str(recipient.phone)
        found = sms_backend().find(to=to, body=message_text(message), since=message.created_at)
    except TransientSendError:
        return "retry_later"
    unknown = Message.objects.filter(pk=message.pk, status=Status.UNKNOWN)
    if found is not None:
        unknown.update(
            status=PROVIDER_STATUSES.get(found.status, Status.SENT),
            provider_sid=found.sid,
            sent_at=message.created_at,
            claimed_until=None,
        )
        return Status.SENT
    if message.attempts >= MAX_SEND_ATTEMPTS:
        if unknown.update(status=Status.FAILED, claimed_until=None, error_message="Twilio never took it."):
            _cannot_reach(message.conversation, "A text to the recipient was never delivered to Twilio.")
        return Status.FAILED
    if unknown.update(
        status=Status.QUEUED, claimed_until=None, release_at=None, error_message="Twilio never took it: sent again."
    ):
        transaction.on_commit(lambda: message_send_task.delay(message.pk), robust=True)
    return Status.QUEUED


def messages_unknown_due(*, now: dt.datetime | None = None) -> list[int]:
    now = now or timezone.now()
    return list(
        Message.objects.filter(_reconcile_due(now), status=Status.UNKNOWN)
        .order_by("created_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
