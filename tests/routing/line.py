"""A small depot on a north-south line, where travel times can be checked by hand.

Travel is straight lines at 36 km/h (10 m/s) with no circuity (the routing suite's ``flat_city``), so a
kilometre north is exactly 100 seconds, and points on one meridian add up: going via a point between two
others costs no extra distance. Times are on the suite's clock (``tests.clock``).
"""

from __future__ import annotations

import datetime as dt

from dispatch.models import Driver, Run, Stop
from routing import solver
from routing.feasibility import plan_violations
from routing.models import RoutingSettings
from routing.state import run_problem, runs_state
from routing.travel import travel_times
from tests.clock import NOW, TODAY, local
from tests.factories import RunFactory, StopFactory

DEPOT = (41.8847, -87.6633)
METRES_PER_DEGREE = 111_195.08  # of latitude, on the sphere dispatch.geo uses


def north(km: float) -> tuple[float, float]:
    return (DEPOT[0] + km * 1000 / METRES_PER_DEGREE, DEPOT[1])


def failed_at(stop: Stop) -> Stop:
    """The driver tried the stop and failed: it is no longer among the remaining stops."""
    Stop.objects.filter(pk=stop.pk).update(status=Stop.Status.FAILED, attempt_count=1)
    stop.refresh_from_db()
    return stop


def place(driver: Driver, km: float, *, minutes_ago: float = 0) -> None:
    driver.last_latitude, driver.last_longitude = north(km)
    driver.last_seen_at = NOW - dt.timedelta(minutes=minutes_ago)
    driver.save(update_fields=["last_latitude", "last_longitude", "last_seen_at"])


def run_with_stops(
    driver: Driver,
    kms: list[float],
    *,
    day: dt.date = TODAY,
    start: tuple[int, int] = (8, 0),
    end: tuple[int, int] = (17, 0),
    status: str = Run.Status.IN_PROGRESS,
    **stop_fields: object,
) -> tuple[Run, list[Stop]]:
    run: Run = RunFactory(
        driver=driver,
        depot=driver.depot,
        service_date=day,
        shift_start=local(*start, day=day),
        shift_end=local(*end, day=day),
        status=status,
    )
    stops: list[Stop] = []
    for number, km in enumerate(kms, start=1):
        lat, lng = north(km)
        stops.append(
            StopFactory(
                run=run,
                sequence=number,
                order__depot=driver.depot,
                order__address__latitude=lat,
                order__address__longitude=lng,
                **stop_fields,
            )
        )
    return run, stops


def remaining(run: Run) -> list[int]:
    return list(
        Stop.objects.filter(run=run, status__in=(Stop.Status.PENDING, Stop.Status.ARRIVED))
        .order_by("sequence")
        .values_list("pk", flat=True)
    )


def assert_feasible(run: Run, *, now: dt.datetime = NOW) -> None:
    """Check the run's current plan with the independent checker: windows, shift end, capacity."""
    state = runs_state(runs=Run.objects.filter(pk=run.pk), now=now)[0]
    settings = RoutingSettings.objects.get(pk=1)
    candidate = run_problem(
        state=state, origin=now, provider=travel_times(settings=settings, time_zone=run.depot.time_zone)
    )
    route = solver.schedule(problem=candidate.problem, vehicle=candidate.vehicle, stop_ids=state.order)
    solution = solver.Solution(routes=[route], dropped=[], status="ROUTING_SUCCESS", solve_seconds=0)
    assert plan_violations(problem=candidate.problem, solution=solution) == []
