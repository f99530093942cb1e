"""Celery tasks of the dispatch app: each takes ids and calls a service.

Both webhook tasks are idempotent. A duplicate or late ``webhook_deliver_task``
loses the service's claim and does nothing; the sweep only enqueues, and
enqueueing a delivery twice sends it once. Neither retries through Celery:
a delivery's retries are rows with a ``next_attempt_at``, which the next sweep
picks up, so nothing waits in Redis on a long countdown.
"""

from __future__ import annotations

from celery import shared_task

from dispatch.services import webhooks

# The sweep runs every 30 s (dispatch/beat.py). What it enqueues expires after two sweeps,
# so a backlog behind a stopped worker holds at most a couple of copies of each delivery.
SWEEP_ENQUEUE_EXPIRES = 60.0


@shared_task(name="dispatch.webhook_deliver", ignore_result=True)
def webhook_deliver_task(delivery_id: int) -> None:
    """One attempt at one delivery; quietly nothing if it is gone, done, not due or claimed elsewhere."""
    webhooks.webhook_deliver(delivery_id=delivery_id)


@shared_task(name="dispatch.webhook_sweep", ignore_result=True)
def webhook_sweep_task() -> int:
    """Enqueue due, unclaimed pending deliveries: lost on-commit enqueues and scheduled retries."""
    return webhooks.webhook_deliveries_relay(limit=webhooks.SWEEP_BATCH, expires=SWEEP_ENQUEUE_EXPIRES)
