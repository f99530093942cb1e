"""Outreach and the desk, both ways.

``SmsOutreach`` is outreach as the desk sees it (``exceptions.ports.Outreach``): ask the recipient, tell them
the outcome, pass on a dispatcher's words, text ahead of the driver, show the conversation, count the texts
sent for the metrics. ``DeskAnswers`` is
the desk as outreach sees it (``outreach.ports.Desk``): which conversation a reply answers, and the desk's door
(``exceptions.inbox``) for the reply or for a text that reached nobody.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import cast

from django.db.models import Count, F
from django.utils import timezone

from dispatch.models import Recipient, Stop
from exceptions import inbox
from exceptions.analytics.figures import GroupBy
from exceptions.analytics.periods import DepotPeriod, group_key, within
from exceptions.models import ExceptionCase
from exceptions.ports import AskResult, ReplyIntent, TextsSent, Topic, Understanding, place_words
from outreach.backends import push_configured
from outreach.models import Channel, Conversation, Message, MessageTemplate
from outreach.readback import CONFIRM_KEYS, heard_words, next_words
from outreach.segments import sms_segments
from outreach.services import conversation_of_case, message_queue, message_words_queue, prearrival_message_queue

UNREACHABLE = "The recipient cannot be reached: opted out of texts and no app to push to."

TEMPLATES = {
    Topic.ACCESS_CODE: MessageTemplate.Key.ASK_ACCESS_CODE,
    Topic.WINDOW: MessageTemplate.Key.ASK_WINDOW,
    Topic.ALTERNATIVES: MessageTemplate.Key.ASK_ALTERNATIVES,
    Topic.DIRECTIONS: MessageTemplate.Key.ASK_DIRECTIONS,
    Topic.IN_PERSON: MessageTemplate.Key.ASK_WINDOW,
}
# Asking when someone will be in, after offering a drop the sender forbids: the problem is the parcel's rule.
IN_PERSON_PROBLEM = {
    "en": "the sender asks that it be handed to someone, so we cannot leave it",
    "es": "el remitente pide entregarlo en mano, así que no podemos dejarlo",
}
# The problem in the recipient's words; never the address or a code.
PROBLEMS = {
    "en": {
        "ACCESS_DENIED": "the driver could not get in",
        "WRONG_ACCESS_CODE": "the access code did not work",
        "GATE_CLOSED": "the gate was closed",
        "RECIPIENT_ABSENT": "nobody was home",
        "ADDRESS_NOT_FOUND": "the driver could not find the address",
        "BUSINESS_CLOSED": "the business was closed",
        "UNSAFE_LOCATION": "there was no safe place to leave it",
    },
    "es": {
        "ACCESS_DENIED": "el repartidor no pudo entrar",
        "WRONG_ACCESS_CODE": "el código de acceso no funcionó",
        "GATE_CLOSED": "la reja estaba cerrada",
        "RECIPIENT_ABSENT": "no había nadie en casa",
        "ADDRESS_NOT_FOUND": "el repartidor no encontró la dirección",
        "BUSINESS_CLOSED": "el negocio estaba cerrado",
        "UNSAFE_LOCATION": "no había un lugar seguro para dejarlo",
    },
}


class SmsOutreach:
    def ask(self, *, case: ExceptionCase, topic: str, reprompt: bool) -> AskResult:
        recipient = case.order.recipient
        channel = _channel(recipient)
        if channel is None:
            return AskResult(reachable=False, reason="The recipient opted out of texts and has no app to push to.")
        key = MessageTemplate.Key.REPROMPT if reprompt else TEMPLATES.get(topic, MessageTemplate.Key.ASK_ALTERNATIVES)
        problems = PROBLEMS.get(recipient.language, PROBLEMS["en"])
        problem = problems.get(case.reason_code.code, case.reason_code.label.lower())
        if topic == Topic.IN_PERSON and not reprompt:
            problem = IN_PERSON_PROBLEM.get(recipient.language, IN_PERSON_PROBLEM["en"])
        playbook = getattr(case.reason_code, "playbook", None)
        message = message_queue(
            case=case,
            template_key=key,
            urgent=bool(playbook and playbook.urgent_outreach),
            channel=channel,
            # One message per workflow step: the case's version names the step that asked.
            idempotency_key=f"ask:{case.version}",
            context={
                "first_name": recipient.first_name,
                "order": case.order.reference,
                "problem": problem,
            },
        )
        return AskResult(reachable=True, channel=channel, deferred_until=message.release_at)

    def notify_outcome(self, *, case: ExceptionCase) -> None:
        channel = _channel(case.order.recipient)
        if channel is None:
            return
        message_queue(
            case=case,
            channel=channel,
            template_key=MessageTemplate.Key.OUTCOME,
            idempotency_key=f"outcome:{case.version}",
            context={"order": case.order.reference, "outcome": case.get_outcome_display()},
        )

    def confirm(self, *, case: ExceptionCase, reading: Understanding) -> AskResult:
        recipient = case.order.recipient
        channel = _channel(recipient)
        key = CONFIRM_KEYS.get(ReplyIntent(reading.intent))
        if channel is None or key is None:
            return AskResult(reachable=False, reason=UNREACHABLE if channel is None else "Nothing to confirm.")
        message = message_queue(
            case=case,
            channel=channel,
            template_key=key,
            idempotency_key=f"confirm:{case.version}",
            context={
                "first_name": recipient.first_name,
                "order": case.order.reference,
                "code": reading.code,
                "place": place_words(reading.detail, recipient.language),
                "neighbour": reading.detail,
            },
            secret=reading.code,
        )
        return AskResult(reachable=True, channel=channel, deferred_until=message.release_at)

    def read_back(self, *, case: ExceptionCase, heard: Understanding, final: bool) -> None:
        recipient = case.order.recipient
        channel = _channel(recipient)
        if channel is None:
            return
        if final:
            what = "pickup_point" if case.outcome == ExceptionCase.Outcome.PICKUP_POINT else "done"
        else:
            what = "slot" if heard.intent == ReplyIntent.RESCHEDULE else "driver"
        zone = recipient.time_zone or case.depot.time_zone
        words = heard_words(heard=heard, now=timezone.now(), zone=zone, language=recipient.language)
        message_queue(
            case=case,
            channel=channel,
            template_key=MessageTemplate.Key.READ_BACK,
            idempotency_key=f"readback:{case.version}",
            context={
                "first_name": recipient.first_name,
                "order": case.order.reference,
                "heard": words,
                "next": next_words(what=what, language=recipient.language),
                "outcome": case.get_outcome_display() if final else "",
            },
            secret=heard.code,
        )

    def can_reach(self, *, recipient: Recipient) -> bool:
        return _channel(recipient) is not None

    def say(self, *, case: ExceptionCase, text: str) -> AskResult:
        # The channel the desk's own questions use: the preferred one, else the one that works.
        channel = _channel(case.order.recipient)
        if channel is None:
            return AskResult(reachable=False, reason=UNREACHABLE)
        message = message_words_queue(case=case, text=text, channel=channel)
        return AskResult(reachable=True, channel=channel, deferred_until=message.release_at)

    def ask_ahead(self, *, stop: Stop, text: str, now: dt.datetime) -> AskResult:
        message, why = prearrival_message_queue(stop=stop, ask=text, fallback_zone=stop.run.depot.time_zone, now=now)
        if message is None:
            return AskResult(reachable=False, reason=why)
        return AskResult(reachable=True, channel=Channel.SMS, deferred_until=message.release_at)

    def conversation(self, *, case_id: int) -> list[dict[str, object]]:
        return conversation_of_case(case_id=case_id)

    def texts_sent(self, *, periods: Sequence[DepotPeriod], group_by: GroupBy | None) -> list[TextsSent]:
        """Outbound SMS the provider took (``sent_at``) in each depot's window; pushes cost nothing and are left out.

        One query for the texts about cases and one for the texts ahead of the driver, each row a body and
        how many times it went, so identical texts are counted once. Reason codes are not split.
        """
        counted: dict[tuple[int, str | None], list[int]] = {}
        sent = Message.objects.filter(
            direction=Message.Direction.OUTBOUND, channel=Channel.SMS, sent_at__isnull=False
        ).order_by()
        for depot, address in (
            ("conversation__case__depot", "conversation__case__order__address"),
            ("conversation__stop__run__depot", "conversation__stop__order__address"),
        ):
            key = group_key(
                None if group_by == "reason_code" else group_by, at="sent_at", depot=depot, reason="", address=address
            )
            rows = (
                sent.filter(within(periods, at="sent_at", depot=f"{depot}_id"))
                .values("body", depot=F(f"{depot}_id"), **({} if key is None else {"key": key}))
                .annotate(texts=Count("pk"))
            )
            for row in rows:
                group = cast(str | None, row.get("key"))  # absent when not grouped
                texts_segments = counted.setdefault((row["depot"], group), [0, 0])
                texts_segments[0] += row["texts"]
                texts_segments[1] += row["texts"] * sms_segments(row["body"])
        return [
            TextsSent(depot_id=depot_id, key=key, texts=texts, segments=segments)
            for (depot_id, key), (texts, segments) in counted.items()
        ]


def _channel(recipient: Recipient) -> str | None:
    """The channel on file, else the other one that works; None when neither reaches them."""
    push = push_configured() and bool(recipient.external_id)
    sms = bool(recipient.phone) and not recipient.opted_out
    if recipient.preferred_channel == Channel.PUSH and push:
        return Channel.PUSH
    if sms:
        return Channel.SMS
    return Channel.PUSH if push else None


class DeskAnswers:
    def reply_to(self, *, from_phone: str) -> Conversation | None:
        conversations = Conversation.objects.filter(recipient__phone=from_phone).select_related(
            "recipient", "case__depot", "case__reason_code", "stop__run__depot"
        )
        return (
            conversations.filter(case__state__in=inbox.open_case_states()).order_by("-created_at").first()
            or conversations.filter(stop__status__in=Stop.ACTIVE_STATUSES).order_by("-created_at").first()
            or conversations.order_by("-created_at").first()
        )

    def reading(self, *, conversation: Conversation) -> str:
        if conversation.case is not None:
            return conversation.case.reason_code.code
        assert conversation.stop_id is not None  # a conversation is about a case or a stop
        return inbox.ahead_reading(conversation.stop_id)

    def confirming(self, *, conversation: Conversation) -> Understanding | None:
        return inbox.case_confirming(conversation.case_id) if conversation.case_id is not None else None

    def replied(self, *, conversation: Conversation, understood: Understanding, now: dt.datetime) -> None:
        if conversation.case_id is not None:
            inbox.case_replied(case_id=conversation.case_id, understood=understood, now=now)
        elif conversation.stop_id is not None:
            inbox.ahead_replied(stop_id=conversation.stop_id, understood=understood, now=now)

    def unreachable(self, *, conversation: Conversation, reason: str) -> None:
        if conversation.case_id is not None:
            inbox.case_unreachable(case_id=conversation.case_id, reason=reason)
        elif conversation.stop_id is not None:
            inbox.ahead_unreachable(stop_id=conversation.stop_id, reason=reason)
