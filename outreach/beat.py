"""Periodic tasks of the outreach app, for ``CELERY_BEAT_SCHEDULE`` (see dispatch/beat.py)."""

from __future__ import annotations

from typing import Any

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "outreach.messages_sweep": {
        "task": "outreach.messages_sweep",
        "schedule": 30.0,
        "options": {"expires": 25.0},
    },
}
