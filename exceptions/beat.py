"""Periodic tasks of the operator, for ``CELERY_BEAT_SCHEDULE`` (see dispatch/beat.py for how beat loads them)."""

from __future__ import annotations

from typing import Any

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "exceptions.case_timers_sweep": {
        "task": "exceptions.case_timers_sweep",
        "schedule": 15.0,
        "options": {"expires": 12.0},
    },
    # The operator's routing port relays slot searches whose task was lost; the case's routing
    # timer (above) still hands the case to a dispatcher if routing never answers.
    "routing.slot_requests_relay": {
        "task": "routing.slot_requests_relay",
        "schedule": 30.0,
        "options": {"expires": 25.0},
    },
    # Drivers drift from the plan through the day; the risk of what is left moves with them.
    "exceptions.risk_score_day": {
        "task": "exceptions.risk_score_day",
        "schedule": 600.0,
        "options": {"expires": 540.0},
    },
    # Texts ahead of the driver: the notices due (out for delivery, arriving, delayed), and a risky stop's
    # question the minute its lead time begins (in the notice when both are due).
    "exceptions.prearrival_sweep": {
        "task": "exceptions.prearrival_sweep",
        "schedule": 60.0,
        "options": {"expires": 50.0},
    },
}
