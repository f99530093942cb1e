"""Which pickup point a parcel goes to when its recipient will collect it."""

from __future__ import annotations

import re

from dispatch.geo import haversine_m
from dispatch.models import Address, PickupPoint

_WORD = re.compile(r"[a-z0-9]+")


def pickup_point_choose(*, depot_id: int, address: Address, named: str = "") -> PickupPoint | None:
    """The depot's open pickup point the recipient named ("the walgreens on ashland"), else the nearest to their
    address, else the first by name; None when the depot has none."""
    points = list(PickupPoint.objects.filter(depot_id=depot_id, active=True))
    if not points:
        return None
    said = set(_WORD.findall(named.lower()))
    if said:
        for point in points:
            name = set(_WORD.findall(point.name.lower()))
            if name and name <= said:
                return point
    located = [p for p in points if p.latitude is not None and p.longitude is not None]
    if located and address.latitude is not None and address.longitude is not None:
        return min(located, key=lambda p: haversine_m(address.latitude, address.longitude, p.latitude, p.longitude))
    return points[0]
