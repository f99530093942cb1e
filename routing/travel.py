"""Travel times between points: straight lines with a circuity factor and a speed by hour, or an OSRM server.

Both answer the same question, ``matrix(points, depart_at=...)``: seconds and
metres between every pair of (lat, lng) points. Matrices are cached per run
plan version, so re-asking for an unchanged run costs nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo

import requests
from django.core.cache import cache

from dispatch.geo import haversine_m
from routing.models import RoutingSettings

Point = tuple[float, float]
OSRM_TIMEOUT = (3.0, 10.0)
MATRIX_CACHE_SECONDS = 6 * 3600


class TravelTimeError(Exception):
    """The travel-time service did not answer usefully."""


@dataclass(frozen=True)
class Matrix:
    seconds: list[list[int]]
    metres: list[list[int]]


class TravelTimes(Protocol):
    def matrix(self, points: Sequence[Point], *, depart_at: dt.datetime) -> Matrix: ...


class StraightLine:
    """Great-circle distance times circuity, at the speed of the hour the trip starts (depot time)."""

    def __init__(self, *, circuity: float, speeds_kmh: Sequence[float], time_zone: ZoneInfo) -> None:
        if len(speeds_kmh) != 24:
            raise ValueError("A speed profile has one speed for each of the 24 hours.")
        self.circuity = circuity
        self.speeds_kmh = list(speeds_kmh)
        self.time_zone = time_zone

    def matrix(self, points: Sequence[Point], *, depart_at: dt.datetime) -> Matrix:
        speed_ms = self.speeds_kmh[depart_at.astimezone(self.time_zone).hour] / 3.6
        metres = [[round(haversine_m(a[0], a[1], b[0], b[1]) * self.circuity) for b in points] for a in points]
        return Matrix(seconds=[[round(d / speed_ms) for d in row] for row in metres], metres=metres)


class Osrm:
    """An OSRM server's table service (``/table/v1/driving``), durations and distances on real roads."""

    def __init__(self, *, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def matrix(self, points: Sequence[Point], *, depart_at: dt.datetime) -> Matrix:
        coordinates = ";".join(f"{lng:.6f},{lat:.6f}" for lat, lng in points)
        try:
            response = requests.get(
                f"{self.base_url}/table/v1/driving/{coordinates}",
                params={"annotations": "duration,distance"},
                timeout=OSRM_TIMEOUT,
            )
            body = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise TravelTimeError(f"OSRM did not answer: {exc.__class__.__name__}") from exc
        if response.status_code != 200 or body.get("code") != "Ok":
            raise TravelTimeError(f"OSRM answered {response.status_code} {body.get('code', '')}".strip())
        try:
            seconds = [[round(value) for value in row] for row in body["durations"]]
            metres = [[round(value) for value in row] for row in body["distances"]]
        except (KeyError, TypeError) as exc:
            # OSRM gives null for a point it cannot reach by road.
            raise TravelTimeError("OSRM left some pairs without a route.") from exc
        return Matrix(seconds=seconds, metres=metres)


def travel_times(*, settings: RoutingSettings, time_zone: ZoneInfo) -> TravelTimes:
    if settings.osrm_url:
        return Osrm(base_url=settings.osrm_url)
    return StraightLine(circuity=settings.circuity, speeds_kmh=settings.speed_profile_kmh, time_zone=time_zone)


def matrix_cached(
    *, run_id: int, plan_version: int, points: Sequence[Point], depart_at: dt.datetime, provider: TravelTimes
) -> Matrix:
    """The matrix for a run's plan version: computed once, then read from the cache until the plan changes."""
    digest = hashlib.sha256(json.dumps([list(p) for p in points]).encode()).hexdigest()[:16]
    key = f"routing:matrix:{run_id}:{plan_version}:{depart_at:%Y%m%d%H}:{digest}"
    cached = cache.get(key)
    if cached is not None:
        return Matrix(seconds=cached["seconds"], metres=cached["metres"])
    matrix = provider.matrix(points, depart_at=depart_at)
    cache.set(key, {"seconds": matrix.seconds, "metres": matrix.metres}, MATRIX_CACHE_SECONDS)
    return matrix
