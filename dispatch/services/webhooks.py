"""Outbound webhooks: an outbox row per (event, endpoint) in the event's transaction, delivered after commit.

How a delivery travels
----------------------
``webhook_events_emit`` writes one ``WebhookDelivery`` per subscribed endpoint
inside the caller's transaction and enqueues ``webhook_deliver_task`` on commit.
If that enqueue is lost (Redis down, process killed right after commit), the
beat-driven ``webhook_sweep_task`` finds the due row and enqueues it again.
Retries are driven the same way: a failed attempt moves ``next_attempt_at``
forward and the sweep picks the row up once it is due (no long countdowns,
which Redis would redeliver after its visibility timeout).

Every attempt first claims its row with a conditional UPDATE that also counts
the attempt, so a duplicate task does nothing and a worker killed mid-request
cannot loop forever: its claim expires, the sweep re-enqueues, and after
``MAX_ATTEMPTS`` the row is given up.

What receivers get (for integrators)
------------------------------------
``POST <endpoint url>`` with a JSON body::

    {"id": "<event uuid>", "event": "scan.failed", "created_at": "<ISO 8601>", "data": {...}}

and these headers:

``Content-Type: application/json``
``X-Dispatch-Event``      the event name, as in the body.
``X-Dispatch-Delivery``   the event's uuid (the body's ``id``). The same event
                          may arrive more than once (we retry when we cannot
                          tell whether you got it): deduplicate on this value.
``X-Dispatch-Timestamp``  Unix time in seconds when this attempt was signed.
``X-Dispatch-Signature``  ``v1=<hex>``, where ``<hex>`` is the lowercase hex
                          HMAC-SHA256, keyed with the endpoint's shared secret
                          (UTF-8), of ``"{timestamp}.{raw body}"``: the
                          timestamp header's value, a dot, then the request
                          body bytes exactly as received (do not re-serialize
                          the JSON). The header may carry several
                          comma-separated ``v1=`` values (e.g. while a secret
                          is rotated); accept the request if any one matches.

To verify: recompute the HMAC, compare it in constant time
(``hmac.compare_digest``), and reject timestamps more than five minutes from
your clock to blunt replays. ``webhook_signature_verify`` below does exactly
that. Answer any 2xx to acknowledge. We retry 408, 429, 5xx, timeouts and
connection errors with exponential backoff (full jitter, from 30 s up to one
hour) for up to ``MAX_ATTEMPTS`` attempts; any other status (redirects
included: they are not followed) is taken as a rejection and not retried.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import random
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from dispatch.models import WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

SIGNATURE_VERSION = "v1"
# How far a receiver should let our clock and theirs (plus queueing) drift before calling it a replay.
SIGNATURE_TOLERANCE = dt.timedelta(minutes=5)
# (connect, read) in seconds: together well below the task's 30 s soft limit.
REQUEST_TIMEOUT: float | tuple[float, float] = (5.0, 10.0)
MAX_ATTEMPTS = 8
BACKOFF_BASE = dt.timedelta(seconds=30)
BACKOFF_CAP = dt.timedelta(hours=1)
SWEEP_BATCH = 500
# Worth another try: the receiver is busy, down or slow, not saying no.
TRANSIENT_STATUSES = frozenset({408, 429})
USER_AGENT = "dispatch-webhooks/1"

_PENDING = WebhookDelivery.Status.PENDING
_DELIVERED = WebhookDelivery.Status.DELIVERED
_FAILED = WebhookDelivery.Status.FAILED


# --- Emitting ------------------------------------------------------------------------------------------------------


# Events of one piece of work (a scan: the order's status, the case, the scan) queued together.
_batch: ContextVar[dict[int, list[tuple[str, dict[str, Any]]]] | None] = ContextVar("webhook_batch", default=None)


@contextmanager
def webhook_events_batched() -> Iterator[None]:
    """Events emitted inside are queued together when the block ends, still inside the caller's transaction:
    one look-up of the endpoints for the work, whichever functions emit its events. Nothing if it raises."""
    if _batch.get() is not None:
        yield
        return
    pending: dict[int, list[tuple[str, dict[str, Any]]]] = {}
    token = _batch.set(pending)
    try:
        yield
    finally:
        _batch.reset(token)
    for depot_id, events in pending.items():
        webhook_events_emit(depot_id=depot_id, events=events)


def webhook_events_emit(*, depot_id: int, events: Sequence[tuple[str, dict[str, Any]]]) -> list[WebhookDelivery]:
    """Queue events for every active endpoint subscribed to them (this depot's or all depots').

    Runs inside the caller's transaction: a rollback queues nothing, a commit
    queues them durably; delivery starts on commit and the sweeper catches any
    enqueue that was lost. Inside ``webhook_events_batched`` they wait for the block's end.
    """
    if not events:
        return []
    pending = _batch.get()
    if pending is not None:
        pending.setdefault(depot_id, []).extend(events)
        return []
    names = sorted({name for name, _ in events})
    endpoints = list(
        WebhookEndpoint.objects.filter(active=True, events__overlap=names).filter(
            Q(depot__isnull=True) | Q(depot_id=depot_id)
        )
    )
    if not endpoints:
        return []
    deliveries: list[WebhookDelivery] = []
    for name, payload in events:
        # One id per event, shared by its copies to each endpoint: receivers deduplicate on it.
        event_id = uuid.uuid4()
        deliveries.extend(
            WebhookDelivery(endpoint=endpoint, event=name, event_id=event_id, payload=payload)
            for endpoint in endpoints
            if name in endpoint.events
        )
    created = WebhookDelivery.objects.bulk_create(deliveries)
    _enqueue_on_commit([delivery.pk for delivery in created])
    return created


def _enqueue_on_commit(ids: list[int]) -> None:
    if ids:
        transaction.on_commit(lambda: _enqueue(ids), robust=True)


def _enqueue(ids: list[int], *, expires: float | None = None) -> None:
    from dispatch.tasks import webhook_deliver_task

    options: dict[str, Any] = {} if expires is None else {"expires": expires}
    for delivery_id in ids:
        webhook_deliver_task.apply_async((delivery_id,), **options)


# --- Signing -------------------------------------------------------------------------------------------------------


def webhook_signature(secret: str, timestamp: int | str, body: bytes | str) -> str:
    """The ``X-Dispatch-Signature`` value for this body at this time: ``v1=<hex HMAC-SHA256>``."""
    raw = body.encode() if isinstance(body, str) else body
    message = str(timestamp).encode() + b"." + raw
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def webhook_signature_verify(
    *,
    secret: str,
    timestamp: str | int | None,
    body: bytes | str,
    signature: str | None,
    tolerance: dt.timedelta = SIGNATURE_TOLERANCE,
    now: float | None = None,
) -> bool:
    """Whether ``signature`` (an ``X-Dispatch-Signature`` header) signs ``body`` at a recent ``timestamp``.

    ``timestamp`` and ``signature`` are the raw header values (None when missing);
    ``body`` is the request body exactly as received.
    """
    if not secret or timestamp is None or not signature:
        return False
    try:
        sent_at = int(timestamp)
    except (TypeError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - sent_at) > tolerance.total_seconds():
        return False
    expected = webhook_signature(secret, sent_at, body).encode()
    candidates = [part.strip().encode() for part in signature.split(",")]
    # Compare against every candidate (no early exit), each in constant time.
    matches = [hmac.compare_digest(expected, candidate) for candidate in candidates]
    return any(matches)


# --- Delivering ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Outcome:
    status_code: int | None
    error: str
    retry: bool
    retry_after: dt.timedelta | None = None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def webhook_deliver(*, delivery_id: int) -> None:
    """Make one attempt at a delivery, if it is due and nobody else is at it.

    Must run outside any transaction: the claim has to be visible to other
    workers at once, and the HTTP request must not hold a connection's
    transaction or row locks open.
    """
    now = timezone.now()
    lease = now + _claim_duration()
    # The claim: a duplicate task, an early sweep or a second worker all touch 0 rows and stop here.
    # The attempt is counted now, before the request, so a worker killed mid-request still uses one up.
    # Only this row's own columns in the WHERE: Postgres re-checks them when two claims race on the row.
    claimed = (
        WebhookDelivery.objects.filter(pk=delivery_id, status=_PENDING, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .filter(attempts__lt=MAX_ATTEMPTS)
        .update(claimed_until=lease, attempts=F("attempts") + 1)
    )
    if claimed != 1:
        return
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None:  # the endpoint was deleted since the claim
        return
    endpoint = delivery.endpoint
    if not endpoint.active:
        _finish(delivery, lease, _Outcome(status_code=None, error="Endpoint is inactive; not sent.", retry=False))
        return

    body = _body(delivery)
    timestamp = int(timezone.now().timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Dispatch-Event": delivery.event,
        "X-Dispatch-Delivery": str(delivery.event_id),
        "X-Dispatch-Timestamp": str(timestamp),
        "X-Dispatch-Signature": webhook_signature(endpoint.secret, timestamp, body),
    }
    outcome = _post(endpoint.url, body, headers)
    _finish(delivery, lease, outcome)


def _claim_duration() -> dt.timedelta:
    # Longer than the task's hard time limit: a live attempt never loses its claim,
    # a dead worker's claim lapses and the sweep takes the row again.
    hard_limit = getattr(settings, "CELERY_TASK_TIME_LIMIT", None) or 60
    return dt.timedelta(seconds=hard_limit + 30)


def _body(delivery: WebhookDelivery) -> bytes:
    document = {
        "id": str(delivery.event_id),
        "event": delivery.event,
        "created_at": delivery.created_at.isoformat(),
        "data": delivery.payload,
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True, default=str).encode()


def _post(url: str, body: bytes, headers: dict[str, str]) -> _Outcome:
    try:
        # stream=True: we need the status line only, never the receiver's body.
        with requests.post(
            url, data=body, headers=headers, timeout=REQUEST_TIMEOUT, allow_redirects=False, stream=True
        ) as response:
            code = response.status_code
            retry_after = _retry_after(response.headers.get("Retry-After"))
            reason = (response.reason or "")[:100]
    except requests.Timeout:
        return _Outcome(status_code=None, error="Timed out waiting for the receiver.", retry=True)
    except requests.ConnectionError as exc:
        # The message would name the URL (tokens in a query string included): keep the kind only.
        return _Outcome(status_code=None, error=f"Could not connect ({type(exc).__name__}).", retry=True)
    except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema):
        return _Outcome(status_code=None, error="The endpoint URL is not valid.", retry=False)
    if 200 <= code < 300:
        return _Outcome(status_code=code, error="", retry=False)
    error = f"HTTP {code} {reason}".strip()
    if code in TRANSIENT_STATUSES or code >= 500:
        return _Outcome(status_code=code, error=error, retry=True, retry_after=retry_after)
    if 300 <= code < 400:
        error = f"{error} (redirects are not followed; point the endpoint at the final URL)"
    return _Outcome(status_code=code, error=error, retry=False)


def _retry_after(value: str | None) -> dt.timedelta | None:
    """A Retry-After given in seconds; the HTTP-date form is rare for webhooks and ignored."""
    if value and value.strip().isdigit():
        return dt.timedelta(seconds=int(value.strip()))
    return None


def webhook_backoff(*, attempts: int, retry_after: dt.timedelta | None = None) -> dt.timedelta:
    """How long to wait after the ``attempts``-th failed attempt: exponential, capped, full jitter.

    Full jitter (uniform between zero and the exponential ceiling) spreads out
    retries of many deliveries that failed together, e.g. when a receiver was down.
    A receiver's Retry-After is honoured as a floor, within the cap.
    """
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(attempts - 1, 0)))
    delay = dt.timedelta(seconds=random.uniform(0, ceiling.total_seconds()))  # noqa: S311 - jitter, not a secret
    if retry_after is not None:
        delay = max(delay, min(retry_after, BACKOFF_CAP))
    return delay


def _finish(delivery: WebhookDelivery, lease: dt.datetime, outcome: _Outcome) -> None:
    now = timezone.now()
    changes: dict[str, Any] = {"claimed_until": None, "last_status_code": outcome.status_code}
    if outcome.delivered:
        changes.update(status=_DELIVERED, delivered_at=now, last_error="")
    elif outcome.retry and delivery.attempts < MAX_ATTEMPTS:
        changes.update(
            last_error=outcome.error[:500],
            next_attempt_at=now + webhook_backoff(attempts=delivery.attempts, retry_after=outcome.retry_after),
        )
    else:
        error = outcome.error
        if outcome.retry:
            error = f"Gave up after {delivery.attempts} attempts. Last: {error}"
        changes.update(status=_FAILED, last_error=error[:500])
    # Only while we still hold the claim we took: the lease value doubles as the claim's token.
    updated = WebhookDelivery.objects.filter(pk=delivery.pk, status=_PENDING, claimed_until=lease).update(**changes)
    # Ids, event and status code only: never the URL, the secret or the body.
    logger.log(
        logging.INFO if outcome.delivered else logging.WARNING,
        "webhook delivery %s (%s to endpoint %s) attempt %s: %s, HTTP %s%s",
        delivery.pk,
        delivery.event,
        delivery.endpoint_id,
        delivery.attempts,
        changes.get("status", "retry scheduled"),
        outcome.status_code,
        "" if updated else " (not recorded: the claim was lost)",
    )


# --- Sweeping and retrying -----------------------------------------------------------------------------------------


def webhook_deliveries_due(*, limit: int = SWEEP_BATCH) -> list[int]:
    """Ids of pending deliveries that are due and that nobody holds, oldest due first (the partial index)."""
    now = timezone.now()
    return list(
        WebhookDelivery.objects.filter(status=_PENDING, next_attempt_at__lte=now, attempts__lt=MAX_ATTEMPTS)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def webhook_deliveries_relay(*, limit: int = SWEEP_BATCH, expires: float | None = None) -> int:
    """Enqueue the due deliveries (lost enqueues, scheduled retries); give up on abandoned ones. Returns the count.

    Enqueueing twice is harmless (the claim lets one through), and ``expires``
    stops a backlog of sweeps from piling up copies while workers are down.
    """
    webhook_deliveries_abandon()
    ids = webhook_deliveries_due(limit=limit)
    _enqueue(ids, expires=expires)
    return len(ids)


def webhook_deliveries_abandon() -> int:
    """Fail deliveries whose last allowed attempt died with its worker (claim lapsed, no outcome recorded)."""
    now = timezone.now()
    return WebhookDelivery.objects.filter(status=_PENDING, attempts__gte=MAX_ATTEMPTS, claimed_until__lt=now).update(
        status=_FAILED,
        claimed_until=None,
        last_error=f"Gave up after {MAX_ATTEMPTS} attempts; the last one ended without an answer.",
    )


def webhook_deliveries_retry(*, delivery_ids: Sequence[int]) -> int:
    """Send these deliveries again now: failed ones with a fresh attempt budget, waiting ones early.

    Delivered deliveries, attempts in flight and ones the sweep is about to give
    up are left alone. Returns how many were queued.
    """
    now = timezone.now()
    with transaction.atomic():
        # Locked so that a worker's claim or a second admin cannot slip between the read and the write.
        rows = dict(
            WebhookDelivery.objects.select_for_update()
            .filter(pk__in=delivery_ids)
            .filter(
                Q(status=_FAILED)
                | Q(
                    Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
                    status=_PENDING,
                    attempts__lt=MAX_ATTEMPTS,
                )
            )
            .order_by("pk")
            .values_list("pk", "status")
        )
        revived = [pk for pk, status in rows.items() if status == _FAILED]
        hurried = [pk for pk, status in rows.items() if status == _PENDING]
        WebhookDelivery.objects.filter(pk__in=revived).update(
            status=_PENDING, attempts=0, next_attempt_at=now, claimed_until=None
        )
        WebhookDelivery.objects.filter(pk__in=hurried).update(next_attempt_at=now)
        _enqueue_on_commit(list(rows))
    return len(rows)
