"""Travel times: straight lines by the hour's speed, an OSRM server's table, and the per-version cache."""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
import zoneinfo
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from routing.models import RoutingSettings
from routing.selectors import routing_settings
from routing.travel import Matrix, Osrm, StraightLine, TravelTimeError, matrix_cached, travel_times

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
LOOP, WICKER_PARK = (41.8818, -87.6298), (41.9088, -87.6796)  # about 5.2 km apart


def at(hour: int) -> dt.datetime:
    return dt.datetime(2026, 11, 18, hour, 0, tzinfo=CHICAGO)


def test_straight_line_time_follows_the_hours_speed():
    speeds = [30.0] * 24
    speeds[8] = 15.0
    model = StraightLine(circuity=1.3, speeds_kmh=speeds, time_zone=CHICAGO)

    night, rush = model.matrix([LOOP, WICKER_PARK], depart_at=at(2)), model.matrix([LOOP, WICKER_PARK], depart_at=at(8))

    assert night.metres[0][1] == rush.metres[0][1]
    assert 6500 < night.metres[0][1] < 7000  # 5.2 km, times 1.3
    assert rush.seconds[0][1] == pytest.approx(2 * night.seconds[0][1], abs=1)
    assert night.seconds[0][0] == 0


def test_a_speed_profile_needs_24_hours():
    with pytest.raises(ValueError, match="24 hours"):
        StraightLine(circuity=1.3, speeds_kmh=[30.0] * 12, time_zone=CHICAGO)


class _FakeOsrm(ThreadingHTTPServer):
    daemon_threads = True
    body: dict[str, Any] = {}
    status = 200
    paths: list[str] = []


@pytest.fixture
def osrm() -> Iterator[_FakeOsrm]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return None

        def do_GET(self) -> None:
            server: _FakeOsrm = self.server  # type: ignore[assignment]
            server.paths.append(self.path)
            data = json.dumps(server.body).encode()
            self.send_response(server.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = _FakeOsrm(("127.0.0.1", 0), Handler)
    server.paths = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_osrm_table_is_read_as_seconds_and_metres(osrm):
    osrm.body = {"code": "Ok", "durations": [[0, 612.4], [598.6, 0]], "distances": [[0, 6810.2], [6790.9, 0]]}
    host, port = osrm.server_address[:2]

    matrix = Osrm(base_url=f"http://{host!s}:{port}/").matrix([LOOP, WICKER_PARK], depart_at=at(9))

    assert matrix == Matrix(seconds=[[0, 612], [599, 0]], metres=[[0, 6810], [6791, 0]])
    assert osrm.paths[0].startswith("/table/v1/driving/-87.629800,41.881800;-87.679600,41.908800?")
    assert "annotations=duration%2Cdistance" in osrm.paths[0]


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (400, {"code": "InvalidQuery"}, "400 InvalidQuery"),
        (200, {"code": "Ok", "durations": [[0, None], [1, 0]], "distances": [[0, 1], [1, 0]]}, "without a route"),
    ],
)
def test_osrm_failures_are_clear(osrm, status, body, message):
    osrm.status, osrm.body = status, body
    host, port = osrm.server_address[:2]

    with pytest.raises(TravelTimeError, match=message):
        Osrm(base_url=f"http://{host!s}:{port}").matrix([LOOP, WICKER_PARK], depart_at=at(9))


@pytest.mark.django_db
def test_settings_pick_the_provider_and_matrices_are_cached_per_plan_version(osrm):
    settings = routing_settings()
    assert isinstance(travel_times(settings=settings, time_zone=CHICAGO), StraightLine)
    host, port = osrm.server_address[:2]
    RoutingSettings.objects.filter(pk=1).update(osrm_url=f"http://{host!s}:{port}")
    provider = travel_times(settings=routing_settings(), time_zone=CHICAGO)
    osrm.body = {"code": "Ok", "durations": [[0, 60], [60, 0]], "distances": [[0, 900], [900, 0]]}

    run = uuid.uuid4().int % 10**9  # the cache is Redis, shared by every run of the suite
    first = matrix_cached(run_id=run, plan_version=1, points=[LOOP, WICKER_PARK], depart_at=at(9), provider=provider)
    again = matrix_cached(run_id=run, plan_version=1, points=[LOOP, WICKER_PARK], depart_at=at(9), provider=provider)
    matrix_cached(run_id=run, plan_version=2, points=[LOOP, WICKER_PARK], depart_at=at(9), provider=provider)

    assert first == again
    assert len(osrm.paths) == 2


def test_osrm_rectangular_tables_name_their_sources_and_destinations(osrm):
    osrm.body = {"code": "Ok", "durations": [[60.2, 120.0]], "distances": [[800.4, 1600.0]]}
    host, port = osrm.server_address[:2]

    table = Osrm(base_url=f"http://{host!s}:{port}").table([LOOP], [WICKER_PARK, LOOP], depart_at=at(9))

    assert table == Matrix(seconds=[[60, 120]], metres=[[800, 1600]])
    path = osrm.paths[0]
    assert path.startswith("/table/v1/driving/-87.629800,41.881800;-87.679600,41.908800;-87.629800,41.881800?")
    assert "sources=0" in path
    assert "destinations=1%3B2" in path


def test_straight_line_tables_match_the_full_matrix():
    model = StraightLine(circuity=1.35, speeds_kmh=[25.0] * 24, time_zone=CHICAGO)
    points = [LOOP, WICKER_PARK, (41.95, -87.65)]

    full = model.matrix(points, depart_at=at(9))
    rows = model.table(points[1:], points, depart_at=at(9))

    assert rows.metres == full.metres[1:]
    assert rows.seconds == full.seconds[1:]
    assert full.metres[0][1] == full.metres[1][0] > 0
