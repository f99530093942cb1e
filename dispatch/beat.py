"""Periodic tasks of the dispatch app, for ``CELERY_BEAT_SCHEDULE``.

django_celery_beat's DatabaseScheduler copies ``beat_schedule`` into its tables
when beat starts, so these entries exist in every environment without a data
migration; edit them here, not in the admin (the next beat start resets them).
"""

from __future__ import annotations

from typing import Any

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "dispatch.webhook_sweep": {
        "task": "dispatch.webhook_sweep",
        "schedule": 30.0,
        # A sweep that waited past the next one is redundant: drop it rather than run two.
        "options": {"expires": 25.0},
    },
}
