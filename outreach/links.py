"""The link in a recipient's texts to their self-service page, and the choices made there.

A link is a random token of 128 bits, looked up here. It is as unguessable as a signed one and a third of the
length in a text (22 characters, not about 70); what closes it is a row, not a clock in the token: it opens
while its stop is still to be settled (the desk says which conversation a choice would join, or none), for
``LINK_HOURS`` at most, and not after an admin revokes it. A tampered or unknown token finds nothing.

A choice made on the page is a reply: recorded in the conversation (what was chosen, an access code masked)
and handed to the desk exactly as an understood text would be, so the case, the driver's instruction, the
board and the read-back follow as they do for an SMS.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from dispatch.models import Stop
from outreach import ports
from outreach.models import Channel, Conversation, Message, RecipientLink
from outreach.services import code_masked
from outreach.understanding.meaning import Understanding

LINK_HOURS = 48
KEY_PREFIX = "link:"


def link_for(*, stop: Stop, now: dt.datetime | None = None) -> RecipientLink:
    """The stop's live link, or a new one: a recipient gets the same link in every text about the stop."""
    now = now or timezone.now()
    live = (
        RecipientLink.objects.filter(stop=stop, revoked_at__isnull=True, expires_at__gt=now + dt.timedelta(hours=1))
        .order_by("-created_at")
        .first()
    )
    if live is not None:
        return live
    return RecipientLink.objects.create(
        token=secrets.token_urlsafe(16),
        stop=stop,
        recipient=stop.order.recipient,
        created_at=now,
        expires_at=now + dt.timedelta(hours=LINK_HOURS),
    )


def link_url(link: RecipientLink) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("recipient-page", args=[link.token])


@dataclass(frozen=True)
class Opened:
    """A link as the page finds it: live with the conversation a choice joins, or closed and why."""

    link: RecipientLink | None
    conversation: Conversation | None
    closed: str = ""  # "unknown", "expired", "revoked" or "settled"


def link_open(*, token: str, now: dt.datetime | None = None) -> Opened:
    now = now or timezone.now()
    link = (
        RecipientLink.objects.select_related(
            "recipient", "stop__order__address", "stop__order__recipient", "stop__run__depot", "stop__run__driver"
        )
        .filter(token=token)
        .first()
        if 16 <= len(token) <= 32
        else None
    )
    if link is None:
        return Opened(link=None, conversation=None, closed="unknown")
    if link.revoked_at is not None:
        return Opened(link=link, conversation=None, closed="revoked")
    if link.expires_at <= now:
        return Opened(link=link, conversation=None, closed="expired")
    conversation = ports.desk().link_conversation(stop=link.stop)
    if conversation is None:
        return Opened(link=link, conversation=None, closed="settled")
    return Opened(link=link, conversation=conversation)


def link_seen(link: RecipientLink, now: dt.datetime) -> None:
    RecipientLink.objects.filter(pk=link.pk).update(opened_at=now, opened=link.opened + 1)


def too_many(*, token: str, address: str) -> bool:
    """Whether this link or this address has asked too often lately (counted in the shared cache)."""
    per_link, per_address, seconds = settings.RECIPIENT_PAGE_LIMITS
    over = False
    for key, limit in ((f"{KEY_PREFIX}t:{token[:32]}", per_link), (f"{KEY_PREFIX}a:{address}", per_address)):
        cache.add(key, 0, timeout=seconds)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between the two calls: this is the first of a new window
            cache.set(key, 1, timeout=seconds)
            count = 1
        over = over or count > limit
    return over


def link_choice(
    *, opened: Opened, understood: Understanding, said: str, nonce: str, now: dt.datetime | None = None
) -> bool:
    """Record a choice made on the page and hand it to the desk, as a reply. ``said`` is what the conversation
    shows ("Chose on the page: code 4417", the code masked); ``nonce`` is the form's, so a second submit of the
    same form changes nothing. Returns False when it was that second submit."""
    now = now or timezone.now()
    conversation = opened.conversation
    assert conversation is not None  # only a live link's page takes a choice
    try:
        with transaction.atomic():
            Message.objects.create(
                conversation=conversation,
                direction=Message.Direction.INBOUND,
                channel=Channel.LINK,
                body=code_masked(said, understood.code),
                language=conversation.recipient.language,
                idempotency_key=f"{KEY_PREFIX}{nonce[:40]}",
                status=Message.Status.RECEIVED,
                created_at=now,
            )
            ports.desk().replied(conversation=conversation, understood=understood, now=now)
    except IntegrityError:
        return False
    return True
