"""Celery tasks of the outreach app, on the ``outreach`` queue: each takes an id and calls a service."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from outreach import reconcile, services


@shared_task(name="outreach.message_send", bind=True, acks_late=True, max_retries=services.MAX_SEND_ATTEMPTS)
def message_send_task(self: Any, message_id: int) -> str:
    """Send one message at most once; a busy or broken Twilio is tried again with backoff and jitter."""
    result = services.message_send(message_id=message_id)
    if result.retry:
        # The service chose the wait and wrote it on the message: this retry comes when the row allows it.
        raise self.retry(countdown=result.retry_in)
    return result.status


# The sweep runs every 30 s (outreach/beat.py); what it enqueues expires before the next one.
SWEEP_ENQUEUE_EXPIRES = 60.0


@shared_task(name="outreach.messages_sweep", ignore_result=True)
def messages_sweep_task() -> int:
    """Enqueue messages released from quiet hours or whose enqueue was lost; mark stale claims unknown."""
    due, _stale = services.messages_sweep()
    for message_id in due:
        message_send_task.apply_async(args=(message_id,), expires=SWEEP_ENQUEUE_EXPIRES)
    for message_id in reconcile.messages_unknown_due():
        message_reconcile_task.apply_async(args=(message_id,), expires=SWEEP_ENQUEUE_EXPIRES)
    return len(due)


@shared_task(name="outreach.message_reconcile", ignore_result=True)
def message_reconcile_task(message_id: int) -> str:
    """Ask Twilio whether it took a message we never heard back about; one it never took is queued again."""
    return reconcile.message_reconcile(message_id=message_id)
