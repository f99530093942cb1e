"""Writes of the outreach app: queue a message, send it exactly once, record what the provider says.

A message row is written (and its key made unique) before anything is sent;
the send claims the row with a conditional UPDATE, posts, then writes the
provider's id. A send is never repeated for a key: a duplicate task finds the
row claimed or sent, and an ambiguous outcome (no answer after the POST, or a
sender that died holding the claim) is left ``unknown`` until Twilio's message
list says whether it took the message; only a message it never took is sent again.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from dispatch import crypto
from dispatch.models import Recipient
from outreach import ports, wording
from outreach.backends import (
    OPTED_OUT,
    WHATSAPP,
    AmbiguousSendError,
    MessageBackend,
    PermanentSendError,
    TransientSendError,
    push_backend,
    sms_backend,
    whatsapp_configured,
)
from outreach.models import Channel, Conversation, Message, MessageTemplate
from outreach.understanding.keywords import carrier_opts_in
from outreach.understanding.meaning import ReplyIntent, Understanding

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
    # With ``retry``: seconds until the next try may claim the message (its ``release_at``).
    retry_in: float = 0.0


def send_backoff(*, attempts: int) -> float:
    """Seconds before the next try: exponential and capped, with jitter over the upper half of the step.

    The floor is deliberate: the waits before the last try add up to at least 77.5 s, so a
    minute of Twilio errors never uses up every attempt (with full jitter, from zero, a
    quarter of the messages caught in such a minute used all six and failed).
    """
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311


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


def _outbound_write(
    *,
    conversation: Conversation,
    idempotency_key: str,
    body: Callable[[], tuple[str, str, str]],
    channel: str = Channel.SMS,
    urgent: bool = False,
    release_at: dt.datetime | None = None,
    secret: str = "",
) -> Message:
    """The one way an outbound message is written: once per key in its conversation, then sent after commit
    (or by the sweep when ``release_at`` comes). ``body`` gives (text, language, template key) when it is new.

    ``secret``: an access code the text carries. The row keeps the body masked and the code sealed
    (encrypted); only the send fills it in (``message_text``)."""
    from outreach.tasks import message_send_task

    existing = Message.objects.filter(conversation=conversation, idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    text, language, template_key = body()
    masked = code_masked(text, secret)
    message = Message.objects.create(
        conversation=conversation,
        direction=Message.Direction.OUTBOUND,
        channel=channel,
        body=masked,
        sealed=crypto.encrypt(secret) if secret and masked != text else "",
        template_key=template_key,
        language=language,
        idempotency_key=idempotency_key,
        urgent=urgent,
        release_at=release_at,
    )
    if release_at is None:
        transaction.on_commit(lambda: message_send_task.delay(message.pk), robust=True)
    return message


def _templated(key: str, recipient: Recipient, context: dict[str, str]) -> Callable[[], tuple[str, str, str]]:
    def render() -> tuple[str, str, str]:
        body, language = wording.text(key, recipient.language, context)
        return body, language, key

    return render


def message_queue(
    *,
    case: Any,
    template_key: str,
    idempotency_key: str,
    context: dict[str, str],
    urgent: bool = False,
    channel: str = Channel.SMS,
    now: dt.datetime | None = None,
    secret: str = "",
) -> Message:
    """Write an outbound message for the case (once per key) and send it after commit, or when quiet hours end.

    ``secret``: an access code in ``context`` that the text carries; it is kept masked and sealed."""
    now = now or timezone.now()
    recipient: Recipient = case.order.recipient
    conversation, _ = Conversation.objects.get_or_create(case=case, defaults={"recipient": recipient})
    release_at = (
        None if urgent else quiet_hours_release(recipient=recipient, now=now, fallback_zone=case.depot.time_zone)
    )
    return _outbound_write(
        conversation=conversation,
        idempotency_key=idempotency_key,
        body=_templated(template_key, recipient, context),
        channel=channel,
        urgent=urgent,
        release_at=release_at,
        secret=secret,
    )


def message_text(message: Message) -> str:
    """The text as it goes to the provider: the body, with the access code it carries filled in."""
    if not message.sealed:
        return message.body
    code = crypto.decrypt(message.sealed)
    return message.body.replace("•" * len(code), code)


def message_words_queue(*, case: Any, text: str, channel: str, now: dt.datetime | None = None) -> Message:
    """A dispatcher's own words to the case's recipient, as written: one per case version (the timeline line
    that records them), sent after commit or when the recipient's quiet hours end."""
    now = now or timezone.now()
    recipient: Recipient = case.order.recipient
    conversation, _ = Conversation.objects.get_or_create(case=case, defaults={"recipient": recipient})
    return _outbound_write(
        conversation=conversation,
        idempotency_key=f"dispatcher:{case.version}",
        body=lambda: (text, recipient.language, ""),
        channel=channel,
        release_at=quiet_hours_release(recipient=recipient, now=now, fallback_zone=case.depot.time_zone),
    )


def conversation_of_case(*, case_id: int) -> list[dict[str, Any]]:
    """The case's messages, oldest first, as the board shows them."""
    messages = Message.objects.filter(conversation__case_id=case_id).order_by("created_at", "id")
    rows = messages.values("id", "created_at", "direction", "body", "status", "release_at")
    return [dict(row) for row in rows]


def message_send_now(*, case_id: int, message_id: int, now: dt.datetime | None = None) -> bool:
    """Send now a message of the case that quiet hours hold: True when it was held and is on its way."""
    from outreach.tasks import message_send_task

    now = now or timezone.now()
    held = Message.objects.filter(
        pk=message_id,
        conversation__case_id=case_id,
        direction=Message.Direction.OUTBOUND,
        status=Status.QUEUED,
        release_at__gt=now,
    ).update(release_at=None)
    if held:
        transaction.on_commit(lambda: message_send_task.delay(message_id), robust=True)
    return bool(held)


def prearrival_message_queue(
    *, stop: Any, ask: str, fallback_zone: Any, now: dt.datetime | None = None, channel: str = Channel.SMS
) -> tuple[Message | None, str]:
    """The one question about a stop ahead of the driver (once per stop, ever), sent after commit."""
    recipient: Recipient = stop.order.recipient
    context = {"first_name": recipient.first_name, "order": stop.order.reference, "ask": ask}
    return ahead_message_queue(
        stop=stop,
        key=MessageTemplate.Key.PREARRIVAL,
        context=context,
        idempotency_key=f"prearrival:{stop.pk}",
        fallback_zone=fallback_zone,
        now=now,
        channel=channel,
    )


def ahead_message_queue(
    *,
    stop: Any,
    key: str,
    context: dict[str, str],
    idempotency_key: str,
    fallback_zone: Any,
    now: dt.datetime | None = None,
    channel: str = Channel.SMS,
    secret: str = "",
) -> tuple[Message | None, str]:
    """A text about a stop ahead of the driver (a question, a notice, a read-back), once per key, sent after commit.

    Returns the message, or None and why nothing was queued: the recipient opted
    out or has no mobile number, or their quiet hours last past the planned arrival.
    """
    now = now or timezone.now()
    recipient: Recipient = stop.order.recipient
    if recipient.opted_out or not recipient.phone:
        return None, "The recipient opted out of texts or has no mobile number."
    release_at = quiet_hours_release(recipient=recipient, now=now, fallback_zone=fallback_zone)
    if release_at is not None and stop.planned_arrival is not None and release_at >= stop.planned_arrival:
        return None, "The recipient's quiet hours last until after the planned arrival."
    conversation, _ = Conversation.objects.get_or_create(stop=stop, defaults={"recipient": recipient})
    message = _outbound_write(
        conversation=conversation,
        idempotency_key=idempotency_key,
        body=_templated(key, recipient, context),
        release_at=release_at,
        channel=channel,
        secret=secret,
    )
    return message, ""


def _finish(message_id: int, **fields: Any) -> bool:
    """Record the send's outcome, only over our own claim."""
    fields.setdefault("claimed_until", None)
    return bool(Message.objects.filter(pk=message_id, status=Status.SENDING).update(**fields))


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
    recipient = message.conversation.recipient
    if message.channel == Channel.PUSH:
        return _deliver(message, backend=push_backend(), to=str(recipient.external_id or ""), now=now)
    if recipient.opted_out or not recipient.phone:
        _finish(message_id, status=Status.FAILED, error_message="Opted out or no mobile number.")
        _cannot_reach(message.conversation, "The recipient opted out of texts.")
        return SendResult(status=Status.FAILED)
    if message.channel == Channel.WHATSAPP:
        window_open = whatsapp_window_open(recipient=recipient, now=now)
        template = "" if window_open else settings.TWILIO_WHATSAPP_TEMPLATE_SID
        if whatsapp_configured() and (window_open or template):
            return _deliver(
                message, backend=sms_backend(), to=f"{WHATSAPP}{recipient.phone}", now=now, template=template
            )
        # Outside the 24-hour window with no approved template, or WhatsApp switched off: it goes as a text.
        Message.objects.filter(pk=message.pk).update(channel=Channel.SMS)
        message.channel = Channel.SMS
    return _deliver(message, backend=sms_backend(), to=str(recipient.phone), now=now)


# WhatsApp lets a business write freely for 24 hours after the recipient last wrote; after that, only a template.
WHATSAPP_WINDOW = dt.timedelta(hours=24)


def whatsapp_window_open(*, recipient: Recipient, now: dt.datetime) -> bool:
    return Message.objects.filter(
        conversation__recipient__phone=recipient.phone,
        direction=Message.Direction.INBOUND,
        channel=Channel.WHATSAPP,
        created_at__gt=now - WHATSAPP_WINDOW,
    ).exists()


def _deliver(message: Message, *, backend: MessageBackend, to: str, now: dt.datetime, template: str = "") -> SendResult:
    """One attempt through a backend; what went wrong decides between retry, give up and reconcile."""
    conversation = message.conversation
    sms = message.channel in (Channel.SMS, Channel.WHATSAPP)  # through Twilio, which reports delivery later
    callback = settings.PUBLIC_BASE_URL.rstrip("/") + reverse("twilio-status") if sms else None
    try:
        sent = backend.send(to=to, body=message_text(message), status_callback=callback, template=template)
    except TransientSendError as exc:
        if message.attempts >= MAX_SEND_ATTEMPTS:
            _finish(message.pk, status=Status.FAILED, error_message=str(exc)[:300])
            _cannot_reach(conversation, "Messages to the recipient keep failing.")
            return SendResult(status=Status.FAILED)
        # The next try's time is on the row: nothing claims the message sooner (a duplicate task, the
        # outbox sweep), and the sweep relays it then if the retry task itself is lost.
        wait = send_backoff(attempts=message.attempts)
        retry_at = now + dt.timedelta(seconds=wait)
        _finish(message.pk, status=Status.QUEUED, error_message=str(exc)[:300], release_at=retry_at)
        return SendResult(status=Status.QUEUED, retry=True, retry_in=wait)
    except PermanentSendError as exc:
        _finish(message.pk, status=Status.FAILED, error_code=exc.code, error_message=str(exc)[:300])
        if exc.code == OPTED_OUT:
            recipient_opted_out(recipient_id=message.conversation.recipient_id, now=now)
        _cannot_reach(conversation, f"The message was refused: {exc}")
        return SendResult(status=Status.FAILED)
    except AmbiguousSendError as exc:
        # ``claimed_until`` now says when the claim ended: whatever reached Twilio did so before then.
        _finish(message.pk, status=Status.UNKNOWN, error_message=str(exc)[:300], claimed_until=timezone.now())
        logger.warning("message %s: outcome unknown, left for reconciliation", message.pk)
        return SendResult(status=Status.UNKNOWN)
    moment = timezone.now()
    # A text's delivery is reported later by Twilio; the app's endpoint has it once it said 2xx.
    status = Status.SENT if sms else Status.DELIVERED
    delivered = {} if sms else {"delivered_at": moment}
    _finish(message.pk, status=status, provider_sid=sent.sid, sent_at=moment, error_message="", **delivered)
    return SendResult(status=status)


def _same_number(recipient_id: int) -> QuerySet[Recipient]:
    """The recipient and every other record (another depot's) of their phone number: the carrier blocks or
    unblocks our sender for a number, not for one depot (``dispatch.tenancy``)."""
    phone = Recipient.objects.filter(pk=recipient_id).values_list("phone", flat=True).first()
    return Recipient.objects.filter(Q(pk=recipient_id) | Q(phone=phone) if phone else Q(pk=recipient_id))


def recipient_opted_out(*, recipient_id: int, now: dt.datetime | None = None) -> None:
    """The recipient said STOP (or Twilio says they did): no text goes to their number until they opt back in."""
    _same_number(recipient_id).filter(opted_out=False).update(opted_out=True, opted_out_at=now or timezone.now())


def recipient_opted_in(*, recipient_id: int) -> None:
    """The recipient said START: their number may be texted again."""
    _same_number(recipient_id).filter(opted_out=True).update(opted_out=False, opted_out_at=None)


def _cannot_reach(conversation: Conversation, reason: str) -> None:
    """A text did not reach the recipient: the desk decides what follows (``outreach.ports``)."""
    ports.desk().unreachable(conversation=conversation, reason=reason)


# --- What Twilio tells us: delivery status and replies ------------------------------------------------------------

STATUS_RANK = {
    Status.QUEUED: 0,
    Status.SENDING: 1,
    Status.SENT: 2,
    Status.DELIVERED: 3,
    Status.UNDELIVERED: 3,
    Status.FAILED: 3,
}
PROVIDER_STATUSES = {
    "accepted": Status.QUEUED,
    "queued": Status.QUEUED,
    "sending": Status.SENDING,
    "sent": Status.SENT,
    "delivered": Status.DELIVERED,
    "undelivered": Status.UNDELIVERED,
    "failed": Status.FAILED,
}


def message_status_record(*, provider_sid: str, provider_status: str, error_code: int | None = None) -> bool:
    """Move a message's status forward; a replayed or late callback never moves it back. True when it moved."""
    status = PROVIDER_STATUSES.get(provider_status)
    if status is None:
        return False
    behind = [old for old, rank in STATUS_RANK.items() if rank < STATUS_RANK[status]]
    fields: dict[str, Any] = {"status": status}
    if status == Status.DELIVERED:
        fields["delivered_at"] = timezone.now()
    if error_code is not None:
        fields["error_code"] = error_code
    moved = Message.objects.filter(provider_sid=provider_sid, status__in=behind).update(**fields)
    lost = status in (Status.UNDELIVERED, Status.FAILED)
    if moved and (lost or error_code == OPTED_OUT):
        message = Message.objects.select_related("conversation").get(provider_sid=provider_sid)
        if error_code == OPTED_OUT:
            recipient_opted_out(recipient_id=message.conversation.recipient_id)
        if lost:
            why = f" (Twilio error {error_code})" if error_code is not None else ""
            _cannot_reach(message.conversation, f"The text to the recipient was not delivered{why}.")
    return bool(moved)


@dataclass(frozen=True)
class InboundResult:
    reply: str = ""
    duplicate: bool = False
    case_id: int | None = None


def code_masked(body: str, code: str) -> str:
    if not code:
        return body
    masked = body
    for token in {code, " ".join(code), code.replace(" ", "")}:
        masked = masked.replace(token, "•" * len(token))
    return masked


def inbound_receive(*, provider_sid: str, from_phone: str, body: str, now: dt.datetime | None = None) -> InboundResult:
    """A reply from a recipient, by SMS or WhatsApp ("whatsapp:+1..."): recorded once (Twilio retries), understood,
    and handed to the desk.

    The desk says which conversation the reply answers and what it was asked about (``outreach.ports``).
    """
    from outreach.understanding import reply_understand

    now = now or timezone.now()
    channel = Channel.WHATSAPP if from_phone.startswith(WHATSAPP) else Channel.SMS
    from_phone = from_phone.removeprefix(WHATSAPP)
    if Message.objects.filter(provider_sid=provider_sid).exists():
        return InboundResult(duplicate=True)
    desk = ports.desk()
    conversation = desk.reply_to(from_phone=from_phone)
    if conversation is None:
        logger.info("reply %s from a number with no conversation; answered with help", provider_sid)
        return InboundResult(reply=_help_text("en"))
    recipient = conversation.recipient
    if conversation.case is not None:
        depot = conversation.case.depot
    else:
        assert conversation.stop is not None  # a conversation is about a case or a stop
        depot = conversation.stop.run.depot
    asked = conversation.messages.filter(direction=Message.Direction.OUTBOUND).order_by("-created_at").first()
    understood = reply_understand(
        text=body,
        sent_at=(asked.sent_at or asked.created_at) if asked else now,
        time_zone=recipient.time_zone or depot.time_zone,
        reason_code=desk.reading(conversation=conversation),
        confirming=desk.confirming(conversation=conversation),
    )
    try:
        with transaction.atomic():
            _inbound_record(conversation, understood, provider_sid=provider_sid, body=body, now=now, channel=channel)
            desk.replied(conversation=conversation, understood=understood, now=now)
    except IntegrityError:
        # Twilio's retry of this very reply, racing the first delivery: that one is recorded.
        return InboundResult(duplicate=True)
    reply = _help_text(recipient.language) if understood.intent == ReplyIntent.HELP else ""
    return InboundResult(reply=reply, case_id=conversation.case_id)


INBOUND_KEY_PREFIX = "in:"
# The longest provider id an inbound message can keep, as itself and in its idempotency key.
INBOUND_SID_MAX = min(
    Message._meta.get_field("provider_sid").max_length or 0,
    (Message._meta.get_field("idempotency_key").max_length or 0) - len(INBOUND_KEY_PREFIX),
)


def _inbound_record(
    conversation: Conversation,
    understood: Understanding,
    *,
    provider_sid: str,
    body: str,
    now: dt.datetime,
    channel: str = Channel.SMS,
) -> None:
    """Store the reply (its code masked; the provider's id makes a retry fail here) and honour STOP and START."""
    recipient = conversation.recipient
    Message.objects.create(
        conversation=conversation,
        direction=Message.Direction.INBOUND,
        channel=channel,
        body=code_masked(body, understood.code),
        language=recipient.language,
        idempotency_key=f"{INBOUND_KEY_PREFIX}{provider_sid}",
        status=Status.RECEIVED,
        provider_sid=provider_sid,
    )
    # An opt-out read with doubt is asked about first (the desk asks "reply STOP"): a sure one is honoured here.
    if understood.intent == ReplyIntent.OPT_OUT and understood.sure:
        recipient_opted_out(recipient_id=recipient.pk, now=now)
    elif understood.intent == ReplyIntent.OPT_IN or (recipient.opted_out and carrier_opts_in(body)):
        recipient_opted_in(recipient_id=recipient.pk)


def _help_text(language: str) -> str:
    return wording.text(MessageTemplate.Key.HELP, language, {})[0]


# --- The outbox sweep ---------------------------------------------------------------------------------------------

SWEEP_BATCH = 500
# A queued message younger than this still has its own task on the way.
ENQUEUE_GRACE = dt.timedelta(seconds=60)


def messages_sweep(*, now: dt.datetime | None = None) -> tuple[list[int], int]:
    """Messages to (re)enqueue (released from quiet hours, due for their next try, or whose enqueue was lost),
    and how many stale claims were marked unknown.

    A claim that outlived its lease means a worker died around the POST: whether
    Twilio took the message is unknown, so it is marked for reconciliation (its
    ``claimed_until`` kept: the POST, if any, left before then), never sent blindly.
    """
    now = now or timezone.now()
    stale = Message.objects.filter(status=Status.SENDING, claimed_until__lt=now).update(
        status=Status.UNKNOWN, error_message="The sender stopped during the send."
    )
    due = list(
        Message.objects.filter(direction=Message.Direction.OUTBOUND, status=Status.QUEUED)
        .filter(Q(release_at__lte=now) | Q(release_at__isnull=True, created_at__lte=now - ENQUEUE_GRACE))
        .order_by("created_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    return due, stale
