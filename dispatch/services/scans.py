"""Scans from the driver app: one transaction records the attempt and opens the case."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from dispatch import ports
from dispatch.models import Driver, Order, ReasonCode, Run, ScanEvent, Stop, WebhookEvent
from dispatch.services.locations import driver_position_record
from dispatch.services.stops import stop_status_set
from dispatch.services.webhooks import webhook_events_batched, webhook_events_emit


class ScanRejected(Exception):
    """The scan cannot be recorded as sent; the message says why and what to do."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid") -> None:
        super().__init__(message)
        self.field = field
        self.code = code


class IdempotencyConflict(Exception):
    """The key was already used for a different scan."""


class StopNotFound(Exception):
    """No such stop on this driver's runs."""


@dataclass(frozen=True)
class ScanOutcome:
    response: dict[str, Any]
    replayed: bool


PHOTO_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/heic": ".heic", "image/heif": ".heif"}


def _photo_path(driver: Driver, photo: File[bytes]) -> str:
    extension = PHOTO_EXTENSIONS.get(getattr(photo, "content_type", ""), ".jpg")
    return f"scans/{driver.pk}/{uuid.uuid4().hex}{extension}"


def scan_fingerprint(fields: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def _earlier(driver: Driver, idempotency_key: str) -> ScanEvent | None:
    return ScanEvent.objects.filter(driver=driver, idempotency_key=idempotency_key).first()


def _replay(scan: ScanEvent, fingerprint: str) -> ScanOutcome:
    if scan.request_fingerprint and scan.request_fingerprint != fingerprint:
        raise IdempotencyConflict(
            "This Idempotency-Key was already used for a different scan; use a new key for a new scan."
        )
    return ScanOutcome(response=scan.response_body or {}, replayed=True)


def scan_record(
    *,
    driver: Driver,
    stop_id: int,
    outcome: str,
    reason: ReasonCode | None,
    device_time: dt.datetime,
    latitude: float | None,
    longitude: float | None,
    notes: str,
    photo: File[bytes] | None,
    idempotency_key: str,
    accuracy_m: float | None = None,
) -> ScanOutcome:
    """Record a delivered or failed scan; a failed one opens (or joins) the stop's exception case.

    A replay with the same key returns the first response and changes nothing,
    even when the stop has moved on since.
    """
    if outcome == ScanEvent.Outcome.FAILED and reason is None:
        raise ScanRejected("A failed scan needs a reason code.", field="reason_code")
    if outcome == ScanEvent.Outcome.FAILED and reason is not None and reason.photo_required and not photo:
        raise ScanRejected(f"{reason.code} needs a photo of the problem.", field="photo")

    fingerprint = scan_fingerprint(
        {
            "stop": stop_id,
            "outcome": outcome,
            "reason": reason.code if reason else None,
            "device_time": device_time.isoformat(),
            "lat": latitude,
            "lng": longitude,
            "notes": notes,
            "photo": bool(photo),
            # Only when sent: a scan first sent before the field existed replays to the same fingerprint.
            **({"accuracy": accuracy_m} if accuracy_m is not None else {}),
        }
    )
    # The photo is written before the transaction: no file I/O while rows are locked.
    photo_name = default_storage.save(_photo_path(driver, photo), photo) if photo else ""
    scan = ScanEvent(
        stop_id=stop_id,
        driver=driver,
        outcome=outcome,
        reason_code=reason,
        device_time=device_time,
        latitude=latitude,
        longitude=longitude,
        accuracy_m=None if accuracy_m is None or latitude is None else round(accuracy_m),
        notes=notes,
        photo=photo_name,
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint,
    )
    try:
        # The scan's events (the order's status, the case, the scan) go out with one look-up of the endpoints.
        with transaction.atomic(), webhook_events_batched():
            result = _record(scan)
    except IntegrityError:
        # The key is taken (a replay, or a concurrent twin that committed first): answer with its result.
        if photo_name:
            default_storage.delete(photo_name)
        earlier = _earlier(driver, idempotency_key)
        if earlier is None:
            raise
        return _replay(earlier, fingerprint)
    except Exception:
        if photo_name:
            default_storage.delete(photo_name)
        raise
    if result.replayed and photo_name:
        default_storage.delete(photo_name)
    return result


def _record(scan: ScanEvent) -> ScanOutcome:
    """Save an unsaved scan against its stop, under the stop's row lock, with everything it changes."""
    # Only the stop row is locked: it serializes scans of one stop; the order is written under it.
    try:
        stop = (
            Stop.objects.select_for_update(of=("self",))
            .select_related("run", "order")
            .order_by()
            .get(pk=scan.stop_id, run__driver=scan.driver)
        )
    except Stop.DoesNotExist:
        raise StopNotFound(f"Stop {scan.stop_id} is not on your runs.") from None
    if stop.status not in Stop.ACTIVE_STATUSES:
        # A replay of the scan that closed the stop still gets its first answer.
        earlier = _earlier(scan.driver, scan.idempotency_key)
        if earlier is not None:
            return _replay(earlier, scan.request_fingerprint)
        raise ScanRejected(
            f"Stop {stop.pk} is already {stop.get_status_display().lower()}; it takes no more scans.",
            code="stop_not_active",
        )

    scan.stop = stop
    scan.save(force_insert=True)
    if scan.latitude is not None and scan.longitude is not None:
        # A scan made at the door is the driver's freshest fix: "moved on" is judged from it, not an older ping.
        driver_position_record(
            driver_id=scan.driver_id, latitude=scan.latitude, longitude=scan.longitude, at=scan.device_time
        )
    order = stop.order
    attempted_before = stop.attempt_count > 0
    stop.attempt_count += 1
    failed = scan.outcome == ScanEvent.Outcome.FAILED
    stop_status_set(
        stop=stop,
        status=Stop.Status.FAILED if failed else Stop.Status.DELIVERED,
        order_status=Order.Status.ATTEMPT_FAILED if failed else Order.Status.DELIVERED,
        also_save=["attempt_count"],
    )
    if stop.run.status == Run.Status.PLANNED:
        # The run's first scan: it is on the road, so routing may hand it other drivers' stops.
        Run.objects.filter(pk=stop.run_id, status=Run.Status.PLANNED).update(status=Run.Status.IN_PROGRESS)

    case_id = ports.desk().scan_failed(scan=scan, first_failure=not attempted_before) if failed else None
    if not failed and attempted_before:
        # A stop that failed before may have a case waiting for this very delivery.
        ports.desk().scan_delivered(scan=scan)

    response: dict[str, Any] = {
        "scan_id": scan.pk,
        "stop_id": stop.pk,
        "outcome": scan.outcome,
        "reason_code": scan.reason_code.code if scan.reason_code else None,
        "attempt": stop.attempt_count,
        "stop_status": stop.status,
        "case_id": case_id,
    }
    ScanEvent.objects.filter(pk=scan.pk).update(response_body=response)
    if failed:
        webhook_events_emit(
            depot_id=order.depot_id, events=[(WebhookEvent.SCAN_FAILED, {**response, "order": order.reference})]
        )
    return ScanOutcome(response=response, replayed=False)
