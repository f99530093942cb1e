"""Signing the driver app in on a phone: a dispatcher issues a short code, the phone trades it for its own token.

The code is what a person can read out or type: eight letters and digits with none that look alike (no 0/O, 1/I/L),
shown as ``ABCD-EFGH``. It is used once and expires after ``SIGN_IN_CODE_LIFETIME``; only its SHA-256 is stored.
Guessing one is held back by the sign-in endpoint's throttle (a few tries a minute per address) against about
8.5 * 10^11 codes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from dispatch.models import ApiToken, Driver, DriverSignInCode, User
from dispatch.services.tokens import api_token_issue

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
SIGN_IN_CODE_LIFETIME = dt.timedelta(minutes=15)


class SignInRefused(Exception):
    """The code is not one that signs in now: unknown, used, expired, or its driver is no longer active."""


def sign_in_code_normalise(text: str) -> str:
    """What the driver typed, as issued: upper case, without spaces or dashes."""
    return "".join(character for character in text.upper() if character.isalnum())


def _code_hash(code: str) -> str:
    return hashlib.sha256(sign_in_code_normalise(code).encode()).hexdigest()


def sign_in_code_display(code: str) -> str:
    """``ABCDEFGH`` as ``ABCD-EFGH``: easier to read out and to type."""
    return f"{code[:4]}-{code[4:]}"


def sign_in_code_issue(
    *, driver: Driver, issued_by: User | None, lifetime: dt.timedelta = SIGN_IN_CODE_LIFETIME
) -> tuple[DriverSignInCode, str]:
    """A new code for ``driver``'s phone; returns it with the code, which is not stored and cannot be shown again."""
    code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    now = timezone.now()
    record = DriverSignInCode.objects.create(
        driver=driver, code_hash=_code_hash(code), issued_by=issued_by, created_at=now, expires_at=now + lifetime
    )
    return record, code


def driver_sign_in(*, code: str, device: str = "") -> tuple[ApiToken, str, Driver]:
    """Trade a sign-in code for a driver token of the phone's own; the code is spent. Raises SignInRefused."""
    now = timezone.now()
    with transaction.atomic():
        record = (
            DriverSignInCode.objects.select_for_update()
            .select_related("driver__user", "driver__depot")
            .filter(code_hash=_code_hash(code))
            .first()
        )
        if record is None or record.used_at is not None or record.expires_at <= now:
            raise SignInRefused
        driver = record.driver
        if not driver.active or not driver.user.is_active:
            raise SignInRefused
        name = f"Driver app on {device.strip()[:60]}" if device.strip() else "Driver app"
        token, key = api_token_issue(user=driver.user, kind=ApiToken.Kind.DRIVER, name=name)
        record.used_at = now
        record.token = token
        record.save(update_fields=["used_at", "token"])
    return token, key, driver


def driver_language_set(*, driver: Driver, language: str) -> None:
    """The language the driver reads dispatch's instructions in, from the next one on (the app's language button)."""
    driver.language = language
    driver.save(update_fields=["language"])
