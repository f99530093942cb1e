"""The active reason codes, as every failed scan asks for them.

Held in each process for a short while: a scan validates its reason code
without a query. A change in admin is seen at once by the process that made
it and within ``TTL`` by the others.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from dispatch.models import ReasonCode

TTL = 30.0

_lock = threading.Lock()
_cache: tuple[float, dict[str, ReasonCode]] | None = None


def reason_codes_active() -> dict[str, ReasonCode]:
    """Active reason codes by code. Treat the rows as read-only."""
    global _cache
    with _lock:
        if _cache is None or time.monotonic() - _cache[0] > TTL:
            _cache = (time.monotonic(), {reason.code: reason for reason in ReasonCode.objects.filter(active=True)})
        return _cache[1]


def reason_codes_forget() -> None:
    global _cache
    with _lock:
        _cache = None


@receiver([post_save, post_delete], sender=ReasonCode)
def _forget(**kwargs: Any) -> None:
    reason_codes_forget()
