"""The routing suite runs in a flat city on a still clock.

The clock stands at 10:00 on a Wednesday in Chicago (``tests.clock.NOW``). Travel is straight lines at
36 km/h (10 m/s) with no circuity, so a kilometre north is exactly 100 seconds; tests/routing/line.py
builds days on a north-south line through the depot, where travel times can be checked by hand.
"""

from __future__ import annotations

import pytest

from routing.models import RoutingSettings


@pytest.fixture(autouse=True)
def _still_clock(ten_am) -> None:
    """Every routing test runs at ``tests.clock.NOW`` on a clock that stands still."""


@pytest.fixture(autouse=True)
def flat_city(db) -> RoutingSettings:
    settings, _ = RoutingSettings.objects.get_or_create(pk=1)
    settings.circuity = 1.0
    settings.speed_profile_kmh = [36.0] * 24
    settings.handover_minutes = 20
    settings.save()
    return settings
