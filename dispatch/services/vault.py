"""The access vault: codes encrypted at rest, revealed only to the assigned driver, every reveal audited."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection, transaction
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


def _usable_credentials(address_id: int, now: dt.datetime) -> list[AccessCredential]:
    """Codes for the address that are valid now and not flagged, best first (verified, most recent)."""
    candidates = AccessCredential.objects.filter(address_id=address_id, failure_count__lt=2).filter(
        Q(valid_from__isnull=True) | Q(valid_from__lte=now), Q(valid_to__isnull=True) | Q(valid_to__gt=now)
    )
    return sorted(
        candidates,
        key=lambda credential: (
            credential.last_worked_at is None,
            -(credential.last_worked_at or credential.created_at).timestamp(),
        ),
    )


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
