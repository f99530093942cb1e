"""GPS pings from the driver app, stored one row per batch."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from dispatch.models import Driver, LocationBatch

MAX_PINGS_PER_BATCH = 500
# Offsets are stored as 32-bit milliseconds; a day fits with room to spare.
MAX_BATCH_SPAN = dt.timedelta(hours=24)


@dataclass(frozen=True)
class Ping:
    at: dt.datetime
    latitude: float
    longitude: float
    accuracy_m: float | None = None


def locations_record(*, driver: Driver, pings: list[Ping]) -> LocationBatch:
    """Store a batch of pings and move the driver's last known position to the newest one.

    The position only moves forward in time, so a late batch from a phone that
    was offline does not drag the driver back on the map.
    """
    if not pings:
        raise ValueError("A batch needs at least one ping.")
    if len(pings) > MAX_PINGS_PER_BATCH:
        raise ValueError(f"A batch holds at most {MAX_PINGS_PER_BATCH} pings.")
    ordered = sorted(pings, key=lambda ping: ping.at)
    first, last = ordered[0], ordered[-1]
    if last.at - first.at > MAX_BATCH_SPAN:
        raise ValueError("A batch spans at most 24 hours.")
    with transaction.atomic():
        batch = LocationBatch.objects.create(
            driver=driver,
            first_at=first.at,
            last_at=last.at,
            offsets_ms=[round((ping.at - first.at).total_seconds() * 1000) for ping in ordered],
            latitudes=[ping.latitude for ping in ordered],
            longitudes=[ping.longitude for ping in ordered],
            accuracies_m=[ping.accuracy_m for ping in ordered],
        )
        driver_position_record(driver_id=driver.pk, latitude=last.latitude, longitude=last.longitude, at=last.at)
    return batch


def driver_position_record(*, driver_id: int, latitude: float, longitude: float, at: dt.datetime) -> None:
    """Where the driver was at ``at`` (a GPS ping, or a scan made at a door), unless a newer fix is on file."""
    at = min(at, timezone.now())  # a phone's clock a little ahead is not a fix from the future
    Driver.objects.filter(pk=driver_id).filter(Q(last_seen_at__isnull=True) | Q(last_seen_at__lt=at)).update(
        last_latitude=latitude, last_longitude=longitude, last_seen_at=at
    )
