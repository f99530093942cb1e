"""The access vault: codes encrypted at rest, revealed only to the assigned driver, every reveal audited."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection, models, transaction
from django.db.models import Q
from django.utils import timezone

from dispatch import crypto
from dispatch.geo import haversine_m
from dispatch.models import AccessCredential, AccessRevealAudit, Run, Stop, User


def access_credentials_reencrypt(*, batch_size: int = 500) -> int:
    """Re-encrypt every stored access secret under the newest key.

    Run after prepending a new key to FIELD_ENCRYPTION_KEYS; once it returns,
    the old key can be removed. Works on the raw tokens so no plaintext is
    held longer than one batch.
    """
    table = AccessCredential._meta.db_table
    updated = 0
    last_id = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, secret FROM {table} WHERE id > %s ORDER BY id LIMIT %s FOR UPDATE",  # noqa: S608
                [last_id, batch_size],
            )
            rows = cursor.fetchall()
            if not rows:
                return updated
            cursor.executemany(
                f"UPDATE {table} SET secret = %s WHERE id = %s",  # noqa: S608
                [(crypto.reencrypt(token), pk) for pk, token in rows],
            )
            updated += len(rows)
            last_id = rows[-1][0]


# --- Revealing a stop's access code to its driver -------------------------------------------------

# A position older than this says nothing about where the driver is now.
POSITION_MAX_AGE = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class Reveal:
    result: str
    credentials: list[AccessCredential]
    distance_m: float | None = None

    @property
    def granted(self) -> bool:
        return self.result == AccessRevealAudit.Result.GRANTED


def _valid_now(credential: AccessCredential, now: dt.datetime) -> bool:
    return (credential.valid_from is None or credential.valid_from <= now) and (
        credential.valid_to is None or credential.valid_to > now
    )


def _usable(credentials: list[AccessCredential], now: dt.datetime) -> list[AccessCredential]:
    """The codes valid now and not flagged, best first (verified, most recent): what a reveal gives."""
    return sorted(
        (credential for credential in credentials if not credential.is_flagged and _valid_now(credential, now)),
        key=lambda credential: (
            credential.last_worked_at is None,
            -(credential.last_worked_at or credential.created_at).timestamp(),
        ),
    )


def _usable_credentials(address_id: int, now: dt.datetime) -> list[AccessCredential]:
    return _usable(list(AccessCredential.objects.filter(address_id=address_id)), now)


class AccessState(models.TextChoices):
    """What a driver knows of an address's codes before revealing one: the first a reveal would give."""

    NONE = "none", "No code on file"
    ON_FILE = "on_file", "A code is on file, not yet tried"
    VERIFIED = "verified", "A code is on file and worked the last time"
    FAILING = "failing", "The code on file failed the last time it was tried"
    FLAGGED = "flagged", "The codes on file failed twice: none is offered; ask dispatch"

    @classmethod
    def revealable(cls) -> tuple[str, ...]:
        """The states a reveal gives a code in."""
        return (cls.ON_FILE, cls.VERIFIED, cls.FAILING)


def access_states(*, address_ids: list[int], now: dt.datetime | None = None) -> dict[int, str]:
    """The vault's state for each address (``AccessState``), in one query. Never a code."""
    now = now or timezone.now()
    found: dict[int, list[AccessCredential]] = {address_id: [] for address_id in address_ids}
    for credential in AccessCredential.objects.filter(address_id__in=address_ids).defer("secret"):
        found[credential.address_id].append(credential)
    states: dict[int, str] = {}
    for address_id, credentials in found.items():
        usable = _usable(credentials, now)
        if usable:
            best = usable[0]
            if best.failure_count:
                states[address_id] = AccessState.FAILING
            else:
                states[address_id] = AccessState.VERIFIED if best.is_verified else AccessState.ON_FILE
        elif any(_valid_now(credential, now) for credential in credentials):
            states[address_id] = AccessState.FLAGGED
        else:
            states[address_id] = AccessState.NONE
    return states


def access_code_reveal(*, user: User, stop_id: int) -> Reveal:
    """Give the stop's access codes to its assigned driver, and audit every request, granted or not.

    Refused when the user is not the stop's driver, the stop is not active, or
    (where the depot sets a radius) the driver's last position is missing,
    stale or too far away. The audit row never holds the code.
    """
    now = timezone.now()
    driver = getattr(user, "driver", None)
    stop = Stop.objects.select_related("run__depot", "order__address").filter(pk=stop_id).first()
    if stop is None:
        raise Stop.DoesNotExist(f"Stop {stop_id} does not exist.")

    distance: float | None = None
    credentials: list[AccessCredential] = []
    if driver is None or stop.run.driver_id != driver.pk:
        result = AccessRevealAudit.Result.NOT_ASSIGNED
    elif stop.status not in Stop.ACTIVE_STATUSES or stop.run.status in (Run.Status.COMPLETED, Run.Status.CANCELLED):
        result = AccessRevealAudit.Result.STOP_NOT_ACTIVE
    else:
        result = AccessRevealAudit.Result.GRANTED
        radius = stop.run.depot.access_reveal_radius_m
        if radius is not None:
            if (
                driver.last_latitude is None
                or driver.last_longitude is None
                or driver.last_seen_at is None
                or now - driver.last_seen_at > POSITION_MAX_AGE
            ):
                result = AccessRevealAudit.Result.NO_POSITION
            else:
                address = stop.order.address
                distance = haversine_m(driver.last_latitude, driver.last_longitude, address.latitude, address.longitude)
                if distance > radius:
                    result = AccessRevealAudit.Result.OUTSIDE_RADIUS
        if result == AccessRevealAudit.Result.GRANTED:
            credentials = _usable_credentials(stop.order.address_id, now)
            if not credentials:
                result = AccessRevealAudit.Result.NO_CODE

    AccessRevealAudit.objects.create(
        at=now,
        user=user,
        stop=stop,
        result=result,
        distance_m=distance,
        credential_ids=[credential.pk for credential in credentials],
    )
    return Reveal(result=result, credentials=credentials, distance_m=distance)


# --- What the operator learns about codes ----------------------------------------------------------


def _revealed_at_stop(stop: Stop) -> set[int]:
    ids: set[int] = set()
    for credential_ids in AccessRevealAudit.objects.filter(
        stop=stop, result=AccessRevealAudit.Result.GRANTED
    ).values_list("credential_ids", flat=True):
        ids.update(credential_ids)
    return ids


def access_credentials_untried(*, stop: Stop, now: dt.datetime | None = None) -> list[AccessCredential]:
    """Verified codes for the stop's address that its driver never revealed at this stop."""
    revealed = _revealed_at_stop(stop)
    return [
        credential
        for credential in _usable_credentials(stop.order.address_id, now or timezone.now())
        if credential.is_verified and credential.pk not in revealed
    ]


def access_credentials_failed(*, stop: Stop, now: dt.datetime | None = None) -> list[AccessCredential]:
    """Count a failure against every code the driver revealed at this stop; returns them, updated.

    A code that fails twice is flagged: reveals and triage skip it until it works again.
    """
    revealed = _revealed_at_stop(stop)
    if not revealed:
        return []
    moment = now or timezone.now()
    credentials = list(
        AccessCredential.objects.select_for_update().filter(pk__in=revealed, address_id=stop.order.address_id)
    )
    for credential in credentials:
        credential.failure_count += 1
        credential.last_failed_at = moment
        credential.save(update_fields=["failure_count", "last_failed_at", "updated_at"])
    return credentials


def access_credentials_worked(*, stop: Stop, now: dt.datetime | None = None) -> int:
    """The stop was delivered after its driver revealed codes: they work; clear their failures."""
    revealed = _revealed_at_stop(stop)
    if not revealed:
        return 0
    return AccessCredential.objects.filter(pk__in=revealed, address_id=stop.order.address_id).update(
        last_worked_at=now or timezone.now(), failure_count=0, updated_at=now or timezone.now()
    )


def access_credential_record(
    *, address_id: int, secret: str, source: str, kind: str = AccessCredential.Kind.GATE
) -> tuple[AccessCredential, bool]:
    """Store a code someone gave us (recipient, dispatcher); the same code again is not a second row.

    Returns the credential and whether it is new. A known code given again gets
    a fresh chance: its failures are cleared.
    """
    secret = secret.strip()
    if not secret:
        raise ValueError("An access code cannot be empty.")
    for credential in AccessCredential.objects.select_for_update().filter(address_id=address_id):
        if credential.secret == secret:
            if credential.failure_count:
                credential.failure_count = 0
                credential.save(update_fields=["failure_count", "updated_at"])
            return credential, False
    return AccessCredential.objects.create(address_id=address_id, secret=secret, source=source, kind=kind), True


def access_credential_supersede(*, credential_id: int, address_id: int, now: dt.datetime | None = None) -> bool:
    """A code the recipient corrected ("no, it's 8824") is no longer valid from now: reveals and triage skip it.

    The row stays, for the audit of what the driver was given. True when it was still valid.
    """
    moment = now or timezone.now()
    return bool(
        AccessCredential.objects.filter(pk=credential_id, address_id=address_id)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=moment))
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lt=moment))
        .update(valid_to=moment, updated_at=moment)
    )
