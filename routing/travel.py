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

import numpy as np
import requests
from django.core.cache import cache

from dispatch.geo import EARTH_RADIUS_M
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
    # Remote providers are cached per run plan version; a local computation is cheaper than a cache read.
    remote: bool

    def matrix(self, points: Sequence[Point], *, depart_at: dt.datetime) -> Matrix: ...

    def table(self, sources: Sequence[Point], destinations: Sequence[Point], *, depart_at: dt.datetime) -> Matrix:
        """Rows for the sources, columns for the destinations: what a re-insertion needs."""
        ...


class StraightLine:
    """Great-circle distance times circuity, at the speed of the hour the trip starts (depot time)."""

    remote = False

    def __init__(self, *, circuity: float, speeds_kmh: Sequence[float], time_zone: ZoneInfo) -> None:
        if len(speeds_kmh) != 24:
            raise ValueError("A speed profile has one speed for each of the 24 hours.")
        self.circuity = circuity
        self.speeds_kmh = list(speeds_kmh)
        self.time_zone = time_zone

    def matrix(self, points: Sequence[Point], *, depart_at: dt.datetime) -> Matrix:
        return self.table(points, points, depart_at=depart_at)

    def table(self, sources: Sequence[Point], destinations: Sequence[Point], *, depart_at: dt.datetime) -> Matrix:
        speed_ms = self.speeds_kmh[depart_at.astimezone(self.time_zone).hour] / 3.6
        if not sources or not destinations:
            return Matrix(seconds=[[] for _ in sources], metres=[[] for _ in sources])
        # Vectorised great-circle distances: a 1,600-point day is 2.5 million pairs.
        src = np.radians(np.asarray(sources, dtype=float))
        dst = np.radians(np.asarray(destinations, dtype=float))
        dlat = dst[None, :, 0] - src[:, None, 0]
        dlng = dst[None, :, 1] - src[:, None, 1]
        h = np.sin(dlat / 2) ** 2 + np.cos(src[:, None, 0]) * np.cos(dst[None, :, 0]) * np.sin(dlng / 2) ** 2
        metres = np.rint(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(h, 1.0))) * self.circuity)
        seconds = np.rint(metres / speed_ms)
        return Matrix(seconds=seconds.astype(int).tolist(), metres=metres.astype(int).tolist())


class Osrm:
    """An OSRM server's table service (``/table/v1/driving``), durations and distances on real roads."""

    remote = True

    def __init__(self, *, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def matrix(self, points: Sequence[Point], *, depart_at: dt.datetime) -> Matrix:
        return self._table(points, {})

    def table(self, sources: Sequence[Point], destinations: Sequence[Point], *, depart_at: dt.datetime) -> Matrix:
        count = len(sources)
        params = {
            "sources": ";".join(str(i) for i in range(count)),
            "destinations": ";".join(str(count + i) for i in range(len(destinations))),
        }
        return self._table([*sources, *destinations], params)

    def _table(self, points: Sequence[Point], params: dict[str, str]) -> Matrix:
        coordinates = ";".join(f"{lng:.6f},{lat:.6f}" for lat, lng in points)
        try:
            response = requests.get(
                f"{self.base_url}/table/v1/driving/{coordinates}",
                params={"annotations": "duration,distance", **params},
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


@dataclass(frozen=True)
class RunPoints:
    run_id: int
    plan_version: int
    points: Sequence[Point]
    depart_at: dt.datetime


def _key(request: RunPoints) -> str:
    digest = hashlib.sha256(json.dumps([list(p) for p in request.points]).encode()).hexdigest()[:16]
    return f"routing:matrix:{request.run_id}:{request.plan_version}:{request.depart_at:%Y%m%d%H}:{digest}"


def matrices_cached(*, requests: Sequence[RunPoints], provider: TravelTimes) -> list[Matrix]:
    """Each run's matrix for its plan version. A remote provider is asked once per version (one cache
    round trip for the whole day); straight lines are computed, which measured cheaper than reading them."""
    if not provider.remote:
        return [provider.matrix(r.points, depart_at=r.depart_at) for r in requests]
    keys = [_key(r) for r in requests]
    cached = cache.get_many(keys)
    matrices: list[Matrix] = []
    fresh: dict[str, dict[str, list[list[int]]]] = {}
    for key, request in zip(keys, requests, strict=True):
        hit = cached.get(key)
        if hit is not None:
            matrices.append(Matrix(seconds=hit["seconds"], metres=hit["metres"]))
            continue
        matrix = provider.matrix(request.points, depart_at=request.depart_at)
        fresh[key] = {"seconds": matrix.seconds, "metres": matrix.metres}
        matrices.append(matrix)
    if fresh:
        cache.set_many(fresh, MATRIX_CACHE_SECONDS)
    return matrices


def matrix_cached(
    *, run_id: int, plan_version: int, points: Sequence[Point], depart_at: dt.datetime, provider: TravelTimes
) -> Matrix:
    """The matrix for one run's plan version (see ``matrices_cached``)."""
    request = RunPoints(run_id=run_id, plan_version=plan_version, points=points, depart_at=depart_at)
    return matrices_cached(requests=[request], provider=provider)[0]
