"""What outreach tells the desk, and how it finds it.

A reply comes in, or a text turns out not to reach anyone: the desk (``exceptions``) decides what that means for
the case or the stop it was about. The desk sits above outreach, so outreach names what it needs here and the
implementation is a setting (``OUTREACH_DESK``: a dotted path to a class), the way the desk finds outreach
(``exceptions.ports``). Each is called inside outreach's transaction.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import TYPE_CHECKING, Protocol

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from collections.abc import Sequence

    from dispatch.models import Stop
    from outreach.models import Call, Conversation
    from outreach.understanding.meaning import Understanding


class Desk(Protocol):
    def reply_to(self, *, from_phone: str) -> Conversation | None:
        """The conversation a reply from this number answers: the one the desk still waits on, else the latest."""

    def reading(self, *, conversation: Conversation) -> str:
        """The reason code a reply in this conversation is read against (what the recipient was asked about)."""

    def confirming(self, *, conversation: Conversation) -> Understanding | None:
        """The reading the recipient was just asked to confirm in this conversation; None when nothing is asked."""

    def replied(self, *, conversation: Conversation, understood: Understanding, now: dt.datetime) -> None:
        """The recipient answered: the desk acts on the case or the stop the conversation is about."""

    def unreachable(self, *, conversation: Conversation, reason: str) -> None:
        """A text in the conversation did not reach the recipient."""

    def link_conversation(self, *, stop: Stop) -> Conversation | None:
        """The conversation a choice on the stop's self-service page joins: its open case's, else the stop's own
        while the driver is still to come; None when nothing about the stop waits on the recipient any more."""

    def windows_open(
        self, *, stop: Stop, windows: Sequence[tuple[dt.datetime, dt.datetime]], now: dt.datetime
    ) -> list[tuple[dt.datetime, dt.datetime]]:
        """Of ``windows``, those routing could serve: what the page offers to choose from."""

    def stop_eta(self, *, stop: Stop, now: dt.datetime) -> dt.datetime | None:
        """When the driver should reach the stop, from where the van is now (the plan's time without routing)."""

    def call_ended(self, *, call: Call, summary: str) -> None:
        """A call through the company's line ended: ``summary`` says how, for the case's timeline."""


class NoDesk:
    """No desk: replies are stored and understood, and nothing follows."""

    def reply_to(self, *, from_phone: str) -> Conversation | None:
        from outreach.models import Conversation

        return Conversation.objects.filter(recipient__phone=from_phone).order_by("-created_at").first()

    def reading(self, *, conversation: Conversation) -> str:
        return "RECIPIENT_ABSENT"

    def confirming(self, *, conversation: Conversation) -> Understanding | None:
        return None

    def replied(self, *, conversation: Conversation, understood: Understanding, now: dt.datetime) -> None:
        return None

    def unreachable(self, *, conversation: Conversation, reason: str) -> None:
        return None

    def link_conversation(self, *, stop: Stop) -> Conversation | None:
        return None

    def call_ended(self, *, call: Call, summary: str) -> None:
        return None

    def windows_open(
        self, *, stop: Stop, windows: Sequence[tuple[dt.datetime, dt.datetime]], now: dt.datetime
    ) -> list[tuple[dt.datetime, dt.datetime]]:
        return []

    def stop_eta(self, *, stop: Stop, now: dt.datetime) -> dt.datetime | None:
        return stop.planned_arrival


@functools.cache
def desk() -> Desk:
    implementation: Desk = import_string(settings.OUTREACH_DESK)()
    return implementation


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: object) -> None:
    if setting == "OUTREACH_DESK":
        desk.cache_clear()
