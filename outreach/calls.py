"""Calls that connect, through Twilio Voice.

A dispatcher (or a driver) presses Call: Twilio rings their own phone first, from the company's number, and when
they answer it says which parcel the call is about and dials the recipient, again showing the company's number
(``<Dial callerId>``). Neither side sees the other's number, and ours never reach a log.

Twilio reports the caller's leg to ``twilio/call-status`` (ringing, answered, ended, or not answered) and how the
recipient's leg went to ``twilio/call-dialed`` (the ``<Dial>``'s action: answered with its duration, busy, no
answer, failed). Each ending goes to the desk, which puts it on the case's timeline.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import requests
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

from outreach.backends import RedirectingHttpClient, TwilioHttpClient
from outreach.models import Call, Conversation

logger = logging.getLogger(__name__)

RING_SECONDS = 30


class CallError(Exception):
    """The call could not be placed; the message says why, for the person who pressed Call."""


@dataclass(frozen=True)
class CallEnded:
    """How a call ended, in words for the timeline."""

    call: Call
    summary: str


def voice_number() -> str:
    """The company's number both sides see."""
    return str(settings.TWILIO_VOICE_NUMBER or settings.TWILIO_FROM_NUMBER)


def voice_configured() -> bool:
    return bool(settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN and voice_number())


def _client() -> Client:
    timeout, base_url = settings.TWILIO_HTTP_TIMEOUT, settings.TWILIO_API_BASE_URL
    http = RedirectingHttpClient(base_url=base_url, timeout=timeout) if base_url else TwilioHttpClient(timeout=timeout)
    return Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http)


def _public(name: str, **query: object) -> str:
    path = reverse(name)
    if query:
        path += "?" + "&".join(f"{key}={value}" for key, value in query.items())
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


def call_place(
    *, conversation: Conversation, caller_phone: str, caller: str, placed_by_id: int | None, about: str
) -> Call:
    """Ring ``caller_phone`` and bridge the conversation's recipient; ``about`` (the parcel) is said to the caller.

    ``CallError`` when there is no line, no number to call, or Twilio would not place it."""
    if not voice_configured():
        raise CallError("No phone line is set up (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_VOICE_NUMBER).")
    recipient_phone = str(conversation.recipient.phone or "")
    if not recipient_phone:
        raise CallError("The recipient has no phone number on file.")
    if not caller_phone:
        # A driver's number is checked where the driver asks (the driver API); this is a dispatcher's.
        raise CallError("Add your phone number to your user (Admin, Users) to call from the board.")
    call = Call.objects.create(conversation=conversation, caller=caller, placed_by_id=placed_by_id)
    twiml = VoiceResponse()
    # The reference letter by letter: "L M 4 9 6 5 4" is heard right where "LM-49654" is not.
    twiml.say(f"Connecting you to the recipient of parcel {' '.join(about)}.")
    dial = twiml.dial(
        caller_id=voice_number(),
        timeout=RING_SECONDS,
        action=_public("twilio-call-dialed", call=call.pk),
        method="POST",
    )
    dial.number(recipient_phone)
    try:
        placed = _client().calls.create(
            to=caller_phone,
            from_=voice_number(),
            twiml=str(twiml),
            timeout=RING_SECONDS,
            status_callback=_public("twilio-call-status"),
            status_callback_event=["ringing", "answered", "completed"],
            status_callback_method="POST",
        )
    except TwilioRestException as exc:
        _failed(call, f"Twilio refused the call ({exc.code}).")
        raise CallError(f"Twilio refused the call ({exc.code}): check your phone number.") from exc
    except requests.RequestException as exc:
        _failed(call, "Twilio did not answer.")
        raise CallError("Twilio did not answer: try again in a moment.") from exc
    call.provider_sid, call.status = str(placed.sid), str(placed.status or Call.Status.QUEUED)
    call.save(update_fields=["provider_sid", "status"])
    return call


def _failed(call: Call, error: str) -> None:
    call.status, call.error, call.ended_at = Call.Status.FAILED, error, timezone.now()
    call.save(update_fields=["status", "error", "ended_at"])


def call_status_record(*, provider_sid: str, status: str) -> CallEnded | None:
    """Twilio's word on the caller's leg; the ending when the caller never got to talk (busy, no answer)."""
    with transaction.atomic():
        call = Call.objects.select_for_update().filter(provider_sid=provider_sid).first()
        if call is None or status not in Call.Status.values or call.status in Call.ENDED:
            return None
        call.status = status
        ended = status in Call.ENDED
        if ended:
            call.ended_at = timezone.now()
        call.save(update_fields=["status", "ended_at"])
    if not ended or call.recipient_status:
        return None  # the recipient's leg already said how the call went
    words = {
        Call.Status.COMPLETED: "ended before the recipient was dialled",
        Call.Status.BUSY: "your phone was busy",
        Call.Status.NO_ANSWER: "your phone was not answered",
    }.get(Call.Status(status), "it could not be placed")
    return CallEnded(call=call, summary=f"Call to the recipient not connected: {words}")


def call_dialed_record(*, call_id: int, dial_status: str, duration: int | None) -> CallEnded | None:
    """How the recipient's leg went (the ``<Dial>``'s action): once per call."""
    with transaction.atomic():
        call = Call.objects.select_for_update().filter(pk=call_id).first()
        if call is None or call.recipient_status:
            return None
        call.recipient_status = dial_status[:16] or "failed"
        call.duration_s = duration if dial_status == "completed" else 0
        call.save(update_fields=["recipient_status", "duration_s"])
    if dial_status == "completed":
        minutes, seconds = divmod(duration or 0, 60)
        talk = f"{minutes} min {seconds} s" if minutes else f"{seconds} s"
        return CallEnded(call=call, summary=f"Call with the recipient: answered, {talk}")
    words = {"busy": "their line was busy", "no-answer": "they did not answer", "canceled": "you hung up first"}
    return CallEnded(call=call, summary=f"Call to the recipient: {words.get(dial_status, 'it did not connect')}")
