"""Prevention: the risk of each stop still to be attempted, and the texts sent ahead of the driver.

- ``risk``: how likely each stop is to fail, and why, scored for a day or a run at a time;
- ``prearrival``: who is texted ahead of the driver and when, and what their reply gives the visit;
- ``notices``: what every recipient is told before the driver comes (out for delivery, arriving, delayed).

The names the rest of the desk uses are re-exported here.
"""

from exceptions.prevention.ahead import StopActionRefused, stop_call_place, stop_code_enter, stop_text_now
from exceptions.prevention.notices import notices_due, notices_sweep
from exceptions.prevention.prearrival import (
    prearrival_asks,
    prearrival_daily_share,
    prearrival_reply_apply,
    prearrival_share_cutoff,
    prearrival_sweep,
    prearrival_undelivered,
    prearrival_window_answered,
    prevention_settings,
)

__all__ = [
    "StopActionRefused",
    "notices_due",
    "notices_sweep",
    "prearrival_asks",
    "prearrival_daily_share",
    "prearrival_reply_apply",
    "prearrival_share_cutoff",
    "prearrival_sweep",
    "prearrival_undelivered",
    "prearrival_window_answered",
    "prevention_settings",
    "stop_call_place",
    "stop_code_enter",
    "stop_text_now",
]
