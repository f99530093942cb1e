"""Twilio's webhooks: replies and delivery statuses. Each request is signed; anything unsigned gets 403.

The signature covers the public URL Twilio called and every POST parameter,
so it is checked against ``PUBLIC_BASE_URL`` (behind a TLS proxy the request
itself says http://, and a client could claim anything in its headers).
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from outreach import calls, ports
from outreach.services import INBOUND_SID_MAX, inbound_receive, message_status_record

TWIML = "application/xml"
# Twilio's own SIDs are 34 characters.
SID_MAX = INBOUND_SID_MAX


def _param(request: HttpRequest, name: str) -> str:
    """A POST parameter without NUL characters, which no text column can store (the rest of the text is kept)."""
    return request.POST.get(name, "").replace("\x00", "")


def _signed(request: HttpRequest) -> bool:
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not settings.TWILIO_AUTH_TOKEN:
        return False
    url = settings.PUBLIC_BASE_URL.rstrip("/") + request.get_full_path()
    params = {key: request.POST.get(key, "") for key in request.POST}
    return bool(RequestValidator(settings.TWILIO_AUTH_TOKEN).validate(url, params, signature))


def _twiml(reply: str = "") -> HttpResponse:
    inner = f"<Message>{escape(reply)}</Message>" if reply else ""
    return HttpResponse(f'<?xml version="1.0" encoding="UTF-8"?><Response>{inner}</Response>', content_type=TWIML)


@csrf_exempt
@require_POST
def twilio_inbound(request: HttpRequest) -> HttpResponse:
    if not _signed(request):
        return HttpResponseForbidden("Invalid Twilio signature.")
    sid, sender = _param(request, "MessageSid"), _param(request, "From")
    if not sid or not sender:
        return HttpResponse("MessageSid and From are required.", status=400)
    if len(sid) > SID_MAX:
        return HttpResponse(f"MessageSid is longer than {SID_MAX} characters: not a Twilio message.", status=400)
    result = inbound_receive(provider_sid=sid, from_phone=sender, body=_param(request, "Body"))
    return _twiml(result.reply)


@csrf_exempt
@require_POST
def twilio_status(request: HttpRequest) -> HttpResponse:
    if not _signed(request):
        return HttpResponseForbidden("Invalid Twilio signature.")
    code = _param(request, "ErrorCode")
    message_status_record(
        provider_sid=_param(request, "MessageSid")[:SID_MAX],
        provider_status=_param(request, "MessageStatus"),
        error_code=int(code) if code.isascii() and code.isdigit() and len(code) < 10 else None,
    )
    return HttpResponse(status=204)


def _told(ended: calls.CallEnded | None) -> None:
    if ended is not None:
        ports.desk().call_ended(call=ended.call, summary=ended.summary)


@csrf_exempt
@require_POST
def twilio_call_status(request: HttpRequest) -> HttpResponse:
    """The caller's leg: ringing, answered, ended or never answered."""
    if not _signed(request):
        return HttpResponseForbidden("Invalid Twilio signature.")
    _told(
        calls.call_status_record(
            provider_sid=_param(request, "CallSid")[:SID_MAX], status=_param(request, "CallStatus")
        )
    )
    return HttpResponse(status=204)


@csrf_exempt
@require_POST
def twilio_call_dialed(request: HttpRequest) -> HttpResponse:
    """The recipient's leg, when the ``<Dial>`` ends: answered and for how long, busy, no answer."""
    if not _signed(request):
        return HttpResponseForbidden("Invalid Twilio signature.")
    call_id, duration = request.GET.get("call", ""), _param(request, "DialCallDuration")
    if not call_id.isascii() or not call_id.isdigit() or len(call_id) > 18:
        return HttpResponse("call must be the call's id.", status=400)
    ended = calls.call_dialed_record(
        call_id=int(call_id),
        dial_status=_param(request, "DialCallStatus"),
        duration=int(duration) if duration.isascii() and duration.isdigit() and len(duration) < 7 else None,
    )
    _told(ended)
    return _twiml()
