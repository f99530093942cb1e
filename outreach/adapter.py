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

from dispatch.models import PickupPoint, Recipient, Stop
from exceptions import inbox, ports
from exceptions.analytics.figures import GroupBy
from exceptions.analytics.periods import DepotPeriod, group_key, within
from exceptions.models import ExceptionCase
from exceptions.ports import AskResult, ReplyIntent, TextsSent, Topic, Understanding, place_words
from outreach import wording
from outreach.backends import push_configured, whatsapp_configured
from outreach.calls import CallError, call_place, voice_configured
from outreach.links import link_for, link_url
from outreach.models import Call, Channel, Conversation, Message, MessageTemplate
from outreach.outcome_words import eta_words, pickup_words, slot_words
from outreach.readback import CONFIRM_KEYS, heard_words, next_words
from outreach.segments import sms_segments
from outreach.services import (
    ahead_message_queue,
    conversation_of_case,
    message_queue,
    message_send_now,
    message_words_queue,
    prearrival_message_queue,
)

UNREACHABLE = "The recipient cannot be reached: opted out of texts and no app to push to."

TEMPLATES = {
    Topic.ACCESS_CODE: MessageTemplate.Key.ASK_ACCESS_CODE,
    Topic.WINDOW: MessageTemplate.Key.ASK_WINDOW,
    Topic.ALTERNATIVES: MessageTemplate.Key.ASK_ALTERNATIVES,
    Topic.DIRECTIONS: MessageTemplate.Key.ASK_DIRECTIONS,
    Topic.IN_PERSON: MessageTemplate.Key.ASK_WINDOW,
}
# The notices before the driver comes, per ``StopNotice.Kind``.
NOTICE_KEYS = {
    "out_for_delivery": MessageTemplate.Key.NOTICE_OUT_FOR_DELIVERY,
    "arriving": MessageTemplate.Key.NOTICE_ARRIVING,
    "delayed": MessageTemplate.Key.NOTICE_DELAYED,
}
# The text that tells the recipient how their case ended, per outcome.
OUTCOME_KEYS = {
    ExceptionCase.Outcome.SAFE_DROP: MessageTemplate.Key.OUTCOME_LEFT,
    ExceptionCase.Outcome.NEIGHBOUR: MessageTemplate.Key.OUTCOME_NEIGHBOUR,
    ExceptionCase.Outcome.RESCHEDULED_SAME_DAY: MessageTemplate.Key.OUTCOME_RESCHEDULED,
    ExceptionCase.Outcome.RESCHEDULED_LATER: MessageTemplate.Key.OUTCOME_RESCHEDULED,
    ExceptionCase.Outcome.PICKUP_POINT: MessageTemplate.Key.OUTCOME_PICKUP_POINT,
    ExceptionCase.Outcome.RETURNED_TO_SENDER: MessageTemplate.Key.OUTCOME_RETURNED,
    ExceptionCase.Outcome.CANCELLED: MessageTemplate.Key.OUTCOME_CANCELLED,
}


class SmsOutreach:
    def ask(self, *, case: ExceptionCase, topic: str, reprompt: bool) -> AskResult:
        recipient = case.order.recipient
        channel = _channel(recipient)
        if channel is None:
            return AskResult(reachable=False, reason="The recipient opted out of texts and has no app to push to.")
        key = MessageTemplate.Key.REPROMPT if reprompt else TEMPLATES.get(topic, MessageTemplate.Key.ASK_ALTERNATIVES)
        problem = wording.problem_words(case.reason_code, recipient.language)
        if topic == Topic.IN_PERSON and not reprompt:
            problem = wording.in_person_words(recipient.language)
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
                "link": link_url(link_for(stop=case.stop)),
            },
        )
        return AskResult(reachable=True, channel=channel, deferred_until=message.release_at)

    def notify_outcome(self, *, case: ExceptionCase) -> None:
        channel = _channel(case.order.recipient)
        if channel is None:
            return
        key, context = _outcome_text(case)
        message_queue(
            case=case, channel=channel, template_key=key, idempotency_key=f"outcome:{case.version}", context=context
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
        if final and case.outcome == ExceptionCase.Outcome.PICKUP_POINT:
            # Where to collect it says all a read-back would, and more.
            self.notify_outcome(case=case)
            return
        what = "done" if final else "slot" if heard.intent == ReplyIntent.RESCHEDULE else "driver"
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
            },
            secret=heard.code,
        )

    def read_back_ahead(self, *, stop: Stop, heard: Understanding, what: str, now: dt.datetime) -> None:
        recipient = stop.order.recipient
        zone = recipient.time_zone or stop.run.depot.time_zone
        link = link_url(link_for(stop=stop, now=now)) if what == "full" else ""
        ahead_message_queue(
            stop=stop,
            key=MessageTemplate.Key.READ_BACK,
            context={
                "first_name": recipient.first_name,
                "order": stop.order.reference,
                "heard": heard_words(heard=heard, now=now, zone=zone, language=recipient.language),
                "next": next_words(what=what, language=recipient.language).format(link=link),
            },
            idempotency_key=f"readback:ahead:{stop.pk}:{now.timestamp():.0f}:{what}",
            fallback_zone=stop.run.depot.time_zone,
            now=now,
            channel=_ahead_channel(recipient),
            secret=heard.code,
        )

    def send_now(self, *, case: ExceptionCase, message_id: int) -> bool:
        return message_send_now(case_id=case.pk, message_id=message_id)

    def can_call(self, *, recipient: Recipient) -> bool:
        return voice_configured() and bool(recipient.phone)

    def call(self, *, case: ExceptionCase, caller_phone: str, user_id: int, caller: str = "dispatcher") -> AskResult:
        conversation, _ = Conversation.objects.get_or_create(case=case, defaults={"recipient": case.order.recipient})
        return _call(
            conversation, caller=caller, caller_phone=caller_phone, user_id=user_id, about=case.order.reference
        )

    def call_ahead(self, *, stop: Stop, caller_phone: str, user_id: int, caller: str = "driver") -> AskResult:
        conversation, _ = Conversation.objects.get_or_create(stop=stop, defaults={"recipient": stop.order.recipient})
        return _call(
            conversation, caller=caller, caller_phone=caller_phone, user_id=user_id, about=stop.order.reference
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

    def ask_ahead(self, *, stop: Stop, asks: list[str], now: dt.datetime) -> AskResult:
        zone = stop.order.recipient.time_zone or stop.run.depot.time_zone
        text = wording.asks_words(asks, language=stop.order.recipient.language, arrival=stop.planned_arrival, zone=zone)
        channel = _ahead_channel(stop.order.recipient)
        message, why = prearrival_message_queue(
            stop=stop, ask=text, fallback_zone=stop.run.depot.time_zone, now=now, channel=channel
        )
        if message is None:
            return AskResult(reachable=False, reason=why)
        return AskResult(reachable=True, channel=channel, deferred_until=message.release_at)

    def notify_ahead(self, *, stop: Stop, kind: str, asks: list[str], stops_away: int, now: dt.datetime) -> AskResult:
        recipient = stop.order.recipient
        zone = recipient.time_zone or stop.run.depot.time_zone
        language, arrival = recipient.language, stop.planned_arrival
        context = {
            "first_name": recipient.first_name,
            "order": stop.order.reference,
            "when": eta_words(
                arrival=arrival, hours=1 if kind == "arriving" else 2, now=now, zone=zone, language=language
            ),
            "stops": wording.stops_words(stops_away, language),
            "ask": wording.ask_in_notice(asks, language=language, arrival=arrival, zone=zone),
            "link": link_url(link_for(stop=stop, now=now)),
        }
        message, why = ahead_message_queue(
            stop=stop,
            key=NOTICE_KEYS[kind],
            context=context,
            idempotency_key=f"notice:{kind}:{stop.pk}",
            fallback_zone=stop.run.depot.time_zone,
            now=now,
            channel=_ahead_channel(recipient),
        )
        if message is None:
            return AskResult(reachable=False, reason=why)
        return AskResult(reachable=True, channel=message.channel, deferred_until=message.release_at)

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


def _ahead_channel(recipient: Recipient) -> str:
    """Ahead of the driver: WhatsApp for those who prefer it, else a text (a push goes only about a case)."""
    return Channel.WHATSAPP if _channel(recipient) == Channel.WHATSAPP else Channel.SMS


def _outcome_text(case: ExceptionCase) -> tuple[str, dict[str, str]]:
    """The text for how the case ended and what fills it in: the place, the neighbour, the day and window, the
    pickup point; a delivery otherwise."""
    recipient = case.order.recipient
    language, detail = recipient.language, case.outcome_detail or {}
    key = OUTCOME_KEYS.get(ExceptionCase.Outcome(case.outcome), MessageTemplate.Key.OUTCOME_DELIVERED)
    context = {"first_name": recipient.first_name, "order": case.order.reference}
    if key == MessageTemplate.Key.OUTCOME_LEFT:
        context["place"] = place_words(str(detail.get("place") or ""), language)
    elif key == MessageTemplate.Key.OUTCOME_NEIGHBOUR:
        context["neighbour"] = str(detail.get("neighbour") or detail.get("place") or "")
    elif key == MessageTemplate.Key.OUTCOME_RESCHEDULED:
        new_stop = Stop.objects.filter(pk=detail.get("new_stop_id") or 0).select_related("order__recipient").first()
        context["when"] = slot_words(
            detail=detail,
            arrival=new_stop.planned_arrival if new_stop is not None else None,
            now=timezone.now(),
            zone=recipient.time_zone or case.depot.time_zone,
            language=language,
        )
        if new_stop is not None and new_stop.status == Stop.Status.PENDING:
            # The parcel is on a run again: the recipient may still change it, on the new stop's page.
            context["change"] = wording.change_words(link_url(link_for(stop=new_stop)), language)
    elif key == MessageTemplate.Key.OUTCOME_PICKUP_POINT:
        point = PickupPoint.objects.filter(pk=detail.get("pickup_point_id") or 0, depot_id=case.depot_id).first()
        context["pickup"] = pickup_words(point, case.depot, language)
    return key, context


def _channel(recipient: Recipient) -> str | None:
    """The channel on file, else the other one that works; None when none reaches them."""
    push = push_configured() and bool(recipient.external_id)
    sms = bool(recipient.phone) and not recipient.opted_out
    if recipient.preferred_channel == Channel.PUSH and push:
        return Channel.PUSH
    if recipient.preferred_channel == Channel.WHATSAPP and sms and whatsapp_configured():
        return Channel.WHATSAPP
    if sms:
        return Channel.SMS
    return Channel.PUSH if push else None


def _call(conversation: Conversation, *, caller: str, caller_phone: str, user_id: int, about: str) -> AskResult:
    try:
        call_place(
            conversation=conversation, caller_phone=caller_phone, caller=caller, placed_by_id=user_id, about=about
        )
    except CallError as exc:
        return AskResult(reachable=False, reason=str(exc))
    return AskResult(reachable=True)


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

    def call_ended(self, *, call: Call, summary: str) -> None:
        case_id = call.conversation.case_id
        if case_id is not None:
            inbox.case_call_ended(
                case_id=case_id, summary=summary, user_id=call.placed_by_id, call_id=call.pk, caller=call.caller
            )

    def link_conversation(self, *, stop: Stop) -> Conversation | None:
        case = (
            ExceptionCase.objects.filter(stop=stop, state__in=inbox.open_case_states())
            .select_related("order__recipient")
            .order_by("-opened_at")
            .first()
        )
        if case is not None:
            conversation, _ = Conversation.objects.get_or_create(
                case=case, defaults={"recipient": case.order.recipient}
            )
            return conversation
        if stop.status in (Stop.Status.PENDING, Stop.Status.ARRIVED):
            # Ahead of the driver: what the recipient chooses reaches the stop (and the driver) before the visit.
            conversation, _ = Conversation.objects.get_or_create(
                stop=stop, defaults={"recipient": stop.order.recipient}
            )
            return conversation
        return None

    def windows_open(
        self, *, stop: Stop, windows: Sequence[tuple[dt.datetime, dt.datetime]], now: dt.datetime
    ) -> list[tuple[dt.datetime, dt.datetime]]:
        return ports.routing().windows_open(stop=stop, windows=windows, now=now)

    def stop_eta(self, *, stop: Stop, now: dt.datetime) -> dt.datetime | None:
        return ports.routing().stop_eta(stop=stop, now=now)

    def unreachable(self, *, conversation: Conversation, reason: str) -> None:
        if conversation.case_id is not None:
            inbox.case_unreachable(case_id=conversation.case_id, reason=reason)
        elif conversation.stop_id is not None:
            inbox.ahead_unreachable(stop_id=conversation.stop_id, reason=reason)
