"""Deployment checks of outreach: production must really send its texts.

Without Twilio's credentials the SMS backend falls back to the console, which is right on a laptop and
silent data loss in production: every question and update would be printed to a log and never reach a
recipient. ``manage.py check --deploy`` fails on it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register

NOT_SENDING = ("outreach.backends.ConsoleBackend", "outreach.backends.LocmemBackend")


@register(Tags.security, deploy=True)
def sms_really_sent(app_configs: Any, **kwargs: Any) -> list[Error]:
    backend = settings.OUTREACH_SMS_BACKEND
    if backend in NOT_SENDING:
        return [
            Error(
                f"OUTREACH_SMS_BACKEND is {backend}: texts would be kept in this process, never sent.",
                hint="Set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER (or "
                "TWILIO_MESSAGING_SERVICE_SID), or point OUTREACH_SMS_BACKEND at a backend that sends.",
                id="outreach.E001",
            )
        ]
    if backend == "outreach.backends.TwilioBackend":
        missing = [name for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN") if not getattr(settings, name, "")]
        if not (settings.TWILIO_FROM_NUMBER or settings.TWILIO_MESSAGING_SERVICE_SID):
            missing.append("TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID")
        if missing:
            return [
                Error(
                    f"Texts go through Twilio, but {', '.join(missing)} is not set.",
                    hint="Set them from the Twilio console; every send would fail without them.",
                    id="outreach.E002",
                )
            ]
    return []
