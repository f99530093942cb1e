"""What a dispatcher does for a stop before the driver comes: call its recipient, put a code in the vault."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from dispatch import driver_words
from dispatch.models import AccessCredential, DriverInstruction, Stop, User
from dispatch.services.instructions import instruction_push
from dispatch.services.vault import access_credential_record
from exceptions import ports
from exceptions.models import StopRisk
from exceptions.prevention.prearrival import prearrival_ask


class StopActionRefused(Exception):
    """The action cannot be done for this stop now; the message says why, for the dispatcher."""


def stop_call_place(*, stop: Stop, user: User) -> None:
    """Ring the dispatcher's own phone, then the stop's recipient, both shown the company's number."""
    phone = str(user.phone or "")  # without one, outreach says where to add it
    placed = ports.outreach().call_ahead(stop=stop, caller_phone=phone, user_id=user.pk, caller="dispatcher")
    if not placed.reachable:
        raise StopActionRefused(placed.reason)


def stop_text_now(*, stop: Stop, now: dt.datetime | None = None) -> None:
    """Ask the stop's recipient now what its risk says is missing, whatever the day's share and lead (a
    dispatcher's call); once per stop ever, as every text ahead."""
    risk = StopRisk.objects.filter(stop=stop).first()
    result, why = prearrival_ask(
        stop=stop,
        score=risk.score if risk is not None else 0.0,
        missing=list(risk.missing) if risk is not None else [],
        now=now or timezone.now(),
    )
    if result == "taken":
        raise StopActionRefused("This stop's recipient was already texted ahead of the driver: one text per stop.")
    if result == "skipped":
        raise StopActionRefused(f"Not texted: {why}")


def stop_code_enter(*, stop: Stop, user: User, code: str) -> None:
    """A code the dispatcher learned for the stop's address: to the vault, and the driver told to reveal it."""
    if not code.strip():
        raise StopActionRefused("Enter the access code.")
    with transaction.atomic():  # the vault locks the address's codes while it compares
        access_credential_record(
            address_id=stop.order.address_id, secret=code, source=AccessCredential.Source.DISPATCHER
        )
        instruction_push(
            driver=stop.run.driver,
            kind=DriverInstruction.Kind.ACCESS_CODE,
            text=driver_words.CODE_AHEAD_DISPATCHER,
            stop=stop,
            payload={"prearrival": True, "by": user.get_username()},
        )
