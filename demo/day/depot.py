"""The demo depot and the shape of its day: where it is, its logins, how big a day may be, its shifts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Final

DEPOT_CODE: Final = "chi-demo"
DEPOT_NAME: Final = "Chicago West Loop (demo)"
DEPOT_TIME_ZONE: Final = "America/Chicago"
DEPOT_ADDRESS: Final = "1460 W Randolph St, Chicago, IL 60607"
DEPOT_LATITUDE: Final = 41.8847
DEPOT_LONGITUDE: Final = -87.6633

# Where the demo depot's recipients can collect a parcel: name, address, latitude, longitude, opens, closes, days.
PICKUP_POINTS: Final = (
    ("Walgreens", "1550 N Ashland Ave", 41.9099, -87.6677, dt.time(8), dt.time(22), "0123456"),
    ("CVS", "1201 W Madison St", 41.8818, -87.6575, dt.time(7), dt.time(21), "012345"),
    ("Parcel locker, Union Station", "225 S Canal St", 41.8786, -87.6397, dt.time(6), dt.time(23), "0123456"),
)

# Every demo recipient and address carries this prefix; it is how a re-seed finds them.
DEMO_PREFIX: Final = "demo-"

# Local demo only: fixed so the command can print them.
ADMIN_USERNAME: Final = "admin"
ADMIN_PASSWORD: Final = "admin-demo"  # noqa: S105
DISPATCHER_USERNAME: Final = "dispatcher"
DISPATCHER_PASSWORD: Final = "dispatch-demo"  # noqa: S105
DRIVER_PASSWORD: Final = "driver-demo"  # noqa: S105

# The phone pool (555-0100..0199 in each area code of demo.day.people) must cover every
# recipient and driver with a distinct number.
MAX_STOPS: Final = 10_000
MAX_DRIVERS: Final = 500

SERVICE_RADIUS_KM: Final = 9.5
CIRCUITY: Final = 1.3
SPEED_KMH: Final = 25.0
LOADING_MINUTES: Final = 20
SHIFT_HOURS: Final = 9
SHIFT_START: Final = dt.time(8, 0)  # most drivers'; a few start an hour earlier or later
HISTORY_DAYS: Final = 60
# Earlier parcels per address over HISTORY_DAYS, (count, weight): about one a month on average.
PAST_PARCELS: Final = ((0, 20), (1, 25), (2, 25), (3, 20), (4, 10))
PAST_TRIES: Final = 3
HIGH_VALUE: Final = Decimal("500.00")
BATCH: Final = 1000
# Homes with a 2 or 4 hour window, and with an all-day one; businesses get their receiving hours.
# With ~13% businesses, about 40% of stops end up with a window of hours.
TIMED_WINDOW_SHARE: Final = 0.31
ALL_DAY_WINDOW_SHARE: Final = 0.12


class DemoSeedError(ValueError):
    """The demo day cannot be seeded as asked; the message says what to change."""


def size_check(*, stops: int, drivers: int) -> None:
    if stops < 1:
        raise DemoSeedError(f"--stops must be >= 1 (got {stops}).")
    if stops > MAX_STOPS:
        raise DemoSeedError(
            f"--stops must be <= {MAX_STOPS:,} (got {stops:,}): there are not enough fictional phone numbers."
        )
    if drivers < 1:
        raise DemoSeedError(f"--drivers must be >= 1 (got {drivers}).")
    if drivers > stops:
        raise DemoSeedError(f"--drivers must be <= --stops ({stops}) so every run has a stop (got {drivers}).")
    if drivers > MAX_DRIVERS:
        raise DemoSeedError(f"--drivers must be <= {MAX_DRIVERS} (got {drivers}).")
