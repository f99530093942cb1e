"""The demo day planned in memory, as unsaved rows: runs swept around the depot, arrivals, windows, history.

Only the day's seeded stream decides what is in it; nothing is written here (``demo.day.seed`` writes it).
"""

from __future__ import annotations

import datetime as dt
import math
import random
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass

from demo.day.depot import (
    ALL_DAY_WINDOW_SHARE,
    CIRCUITY,
    DEPOT_LATITUDE,
    DEPOT_LONGITUDE,
    LOADING_MINUTES,
    SHIFT_HOURS,
    SPEED_KMH,
    TIMED_WINDOW_SHARE,
    DemoSeedError,
)
from demo.day.draw import local_time, pick
from demo.day.history import FAILURE_NOTES, plan_credentials, plan_history
from demo.day.people import FIRST_NAMES_EN, FIRST_NAMES_ES, LAST_NAMES_EN, LAST_NAMES_ES, phone_numbers
from demo.day.places import BUSINESS, BUSINESS_HOURS, BUSINESS_NOTES, Delivery, plan_deliveries
from demo.day.streets import EARTH_RADIUS_KM, distance_km, point_offset
from dispatch.models import AccessCredential, Depot, Driver, Order, ReasonCode, Run, ScanEvent, Stop, User


@dataclass
class DayPlan:
    deliveries: list[Delivery]
    credentials: list[AccessCredential]
    driver_users: list[User]
    drivers: list[Driver]
    runs: list[Run]
    past_runs: list[Run]
    orders: list[Order]
    spare_references: list[str]
    stops: list[Stop]
    scans: list[ScanEvent]
    timed_window_stops: int
    all_day_window_stops: int
    late_runs: int
    history_addresses: int


def _sweep(deliveries: list[Delivery], drivers: int) -> list[list[Delivery]]:
    """Split the day into ``drivers`` wedges around the depot, equal in stops: each run is one area."""
    km_per_degree = math.radians(1) * EARTH_RADIUS_KM
    scale = math.cos(math.radians(DEPOT_LATITUDE))
    for delivery in deliveries:
        latitude, longitude = delivery.site.point
        x = (longitude - DEPOT_LONGITUDE) * scale * km_per_degree
        y = (latitude - DEPOT_LATITUDE) * km_per_degree
        delivery.site.xy = (x, y)
        delivery.angle = math.atan2(y, x) % math.tau
    ordered = sorted(deliveries, key=lambda d: (d.angle, d.site.index, d.address.unit))
    # Start the sweep after the widest empty sector (the lake, here) so no wedge straddles it.
    count = len(ordered)
    gaps = [(ordered[(i + 1) % count].angle - ordered[i].angle) % math.tau for i in range(count)]
    start = (max(range(count), key=gaps.__getitem__) + 1) % count
    ordered = ordered[start:] + ordered[:start]

    cuts = [round(i * count / drivers) for i in range(drivers + 1)]
    for i in range(1, drivers):
        # Keep a building's deliveries in one run when the cut can move to the end of it.
        cut = cuts[i]
        while cut < cuts[i + 1] - 1 and ordered[cut].site is ordered[cut - 1].site:
            cut += 1
        if ordered[cut].site is not ordered[cut - 1].site:
            cuts[i] = cut
    return [ordered[cuts[i] : cuts[i + 1]] for i in range(drivers)]


def _sequence(wedge: list[Delivery]) -> list[Delivery]:
    """Nearest neighbour, starting from the depot."""
    remaining = list(wedge)
    x, y = 0.0, 0.0  # the depot
    route: list[Delivery] = []
    while remaining:
        nearest = min(
            range(len(remaining)), key=lambda i: (remaining[i].site.xy[0] - x) ** 2 + (remaining[i].site.xy[1] - y) ** 2
        )
        delivery = remaining.pop(nearest)
        route.append(delivery)
        x, y = delivery.site.xy
    return route


def _window(rng: random.Random, delivery: Delivery) -> tuple[int, int] | None:
    """A time window (minutes after midnight) that contains the planned arrival, or None."""
    arrival = delivery.arrival_minutes
    if delivery.site.building_type == BUSINESS:
        fitting = [
            ((open_, close), weight) for open_, close, weight in BUSINESS_HOURS if open_ * 60 <= arrival < close * 60
        ]
        if not fitting:
            return None
        open_, close = pick(rng, fitting)
        return open_ * 60, close * 60
    roll = rng.random()
    if roll < TIMED_WINDOW_SHARE:
        hours = 2 if rng.random() < 0.55 else 4
        starts = [h for h in range(24) if h * 60 <= arrival < (h + hours) * 60]
        daytime = [h for h in starts if h >= 7 and h + hours <= 21]
        if not starts:
            return None
        start = rng.choice(daytime or starts)
        return start * 60, (start + hours) * 60
    if roll < TIMED_WINDOW_SHARE + ALL_DAY_WINDOW_SHARE and 8 * 60 <= arrival < 20 * 60:
        return 8 * 60, 20 * 60
    return None


def day_plan(
    rng: random.Random,
    *,
    seed: int,
    depot: Depot,
    stops: int,
    driver_usernames: list[str],
    service_date: dt.date,
    shift_start: dt.time,
    tz: zoneinfo.ZoneInfo,
    reason_codes: dict[str, ReasonCode],
) -> DayPlan:
    """The whole day as unsaved model instances. Only ``rng`` decides what is in it."""
    drivers = len(driver_usernames)
    deliveries = plan_deliveries(rng, depot=depot, stops=stops, service_date=service_date, tz=tz)
    phones = phone_numbers(rng, len(deliveries) + drivers)
    driver_phones, recipient_phones = phones[:drivers], phones[drivers:]
    for delivery, phone in zip(deliveries, recipient_phones, strict=True):
        delivery.recipient.phone = phone

    # Today's runs: a wedge of the map each, nearest neighbour from the depot,
    # arrivals at straight-line distance x circuity at city speed plus service time.
    # Most shifts start at ``shift_start``, a few an hour earlier or later (minutes after local midnight).
    usual = shift_start.hour * 60 + shift_start.minute
    shift_starts = [usual + pick(rng, ((0, 80), (-60, 10), (60, 10))) for _ in range(drivers)]
    routes = [_sequence(wedge) for wedge in _sweep(deliveries, drivers)]
    late_runs = 0
    for run_index, route in enumerate(routes):
        clock = (shift_starts[run_index] + LOADING_MINUTES) * 60.0
        here = (DEPOT_LATITUDE, DEPOT_LONGITUDE)
        for delivery in route:
            clock += distance_km(here, delivery.site.point) * CIRCUITY / SPEED_KMH * 3600
            delivery.arrival_minutes = round(clock / 60)
            delivery.run_index = run_index
            clock = (delivery.arrival_minutes + delivery.service_minutes) * 60.0
            here = delivery.site.point
        if clock > (shift_starts[run_index] + SHIFT_HOURS * 60) * 60:
            late_runs += 1

    windows: dict[bool, int] = {True: 0, False: 0}  # all-day?
    for route in routes:
        for delivery in route:
            window = _window(rng, delivery)
            if window is not None:
                windows[window == (8 * 60, 20 * 60)] += 1
                delivery.order.window_start = local_time(service_date, window[0], tz)
                delivery.order.window_end = local_time(service_date, window[1], tz)
            if delivery.site.building_type == BUSINESS:
                open_, close = (window[0] // 60, window[1] // 60) if window else (9, 17)
                delivery.address.building_notes = (
                    f"Receiving {open_:02d}:00-{close:02d}:00. {rng.choice(BUSINESS_NOTES)}"
                )

    flagged = plan_credentials(rng, deliveries, service_date=service_date, tz=tz)
    past = plan_history(rng, deliveries, flagged)
    missing = {a.reason for a in past if a.reason} - set(reason_codes)
    if missing:
        raise DemoSeedError(f"Reason codes {sorted(missing)} are missing; run `manage.py migrate` first.")

    driver_users = [
        User(
            username=username,
            first_name=rng.choice(FIRST_NAMES_EN + FIRST_NAMES_ES),
            last_name=rng.choice(LAST_NAMES_EN + LAST_NAMES_ES),
            email=f"{username}@example.com",
        )
        for username in driver_usernames
    ]
    driver_rows = []
    for run_index, user in enumerate(driver_users):
        parcels = sum(d.order.parcel_count for d in routes[run_index])
        capacity = max(rng.choice((120, 150, 180, 200)), math.ceil(parcels * 1.15 / 10) * 10)
        driver_rows.append(Driver(user=user, depot=depot, phone=driver_phones[run_index], vehicle_capacity=capacity))
    runs = [
        Run(
            depot=depot,
            driver=driver,
            service_date=service_date,
            shift_start=local_time(service_date, shift_starts[i], tz),
            shift_end=local_time(service_date, shift_starts[i] + SHIFT_HOURS * 60, tz),
            status=Run.Status.PLANNED,
            external_ref=f"demo-{service_date:%Y%m%d}-{driver_usernames[i]}",
        )
        for i, driver in enumerate(driver_rows)
    ]
    stop_rows = [
        Stop(
            run=runs[run_index],
            order=delivery.order,
            sequence=sequence,
            planned_arrival=local_time(service_date, delivery.arrival_minutes, tz),
            window_start=delivery.order.window_start,
            window_end=delivery.order.window_end,
            service_minutes=delivery.service_minutes,
            status=Stop.Status.PENDING,
        )
        for run_index, route in enumerate(routes)
        for sequence, delivery in enumerate(route, start=1)
    ]

    # History. A failed attempt's stop ends "rescheduled" (or "cancelled" when
    # the order then went back to the sender), never in an active status, so it
    # cannot clash with another stop of its order.
    past_runs: dict[tuple[int, int], Run] = {}
    past_stops: dict[tuple[int, int], list[Stop]] = defaultdict(list)
    scans: list[ScanEvent] = []
    for n, attempt in enumerate(past, start=1):
        key = (attempt.delivery.run_index, attempt.days_before)
        day = service_date - dt.timedelta(days=attempt.days_before)
        if key not in past_runs:
            past_runs[key] = Run(
                depot=depot,
                driver=driver_rows[attempt.delivery.run_index],
                service_date=day,
                shift_start=local_time(day, 8 * 60, tz),
                shift_end=local_time(day, 17 * 60, tz),
                status=Run.Status.COMPLETED,
                external_ref=f"demo-{day:%Y%m%d}-{driver_usernames[attempt.delivery.run_index]}",
            )
        if attempt.reason is None:
            status = Stop.Status.DELIVERED
        else:
            status = Stop.Status.CANCELLED if attempt.final else Stop.Status.RESCHEDULED
        planned = local_time(day, attempt.minutes, tz)
        stop = Stop(
            run=past_runs[key],
            order=attempt.order,
            sequence=0,  # numbered below, once the run's stops are known
            planned_arrival=planned,
            service_minutes=attempt.delivery.service_minutes,
            status=status,
            attempt_count=1,
        )
        past_stops[key].append(stop)
        device_time = planned + dt.timedelta(minutes=rng.randint(-15, 25))
        latitude, longitude = point_offset(
            attempt.delivery.site.point, north_m=rng.uniform(-25, 25), east_m=rng.uniform(-25, 25)
        )
        scans.append(
            ScanEvent(
                stop=stop,
                driver=driver_rows[attempt.delivery.run_index],
                outcome=ScanEvent.Outcome.FAILED if attempt.reason else ScanEvent.Outcome.DELIVERED,
                reason_code=reason_codes[attempt.reason] if attempt.reason else None,
                latitude=latitude,
                longitude=longitude,
                notes=rng.choice(FAILURE_NOTES[attempt.reason]) if attempt.reason else "",
                device_time=device_time,
                received_at=device_time + dt.timedelta(seconds=rng.randint(2, 40)),
                idempotency_key=f"demo-{seed}-{n:06d}",
            )
        )
        if attempt.reason == "WRONG_ACCESS_CODE":
            for credential in attempt.delivery.site.credentials:
                if credential.last_failed_at is None or credential.last_failed_at < device_time:
                    credential.last_failed_at = device_time
    for delivery in deliveries:
        for credential in delivery.site.credentials:
            failed_since_it_worked = credential.last_failed_at is not None and (
                credential.last_worked_at is None or credential.last_worked_at < credential.last_failed_at
            )
            if failed_since_it_worked and not credential.failure_count:
                credential.failure_count = 1
    for run_stops in past_stops.values():
        run_stops.sort(key=lambda stop: stop.planned_arrival or service_date)
        for sequence, stop in enumerate(run_stops, start=1):
            stop.sequence = sequence

    # References: LM- and 5-6 digits, unique; spares replace any already taken in the database.
    orders = [d.order for d in deliveries] + list({id(a.order): a.order for a in past}.values())
    references = [f"LM-{n}" for n in rng.sample(range(10_000, 1_000_000), len(orders) + 500)]
    for order, reference in zip(orders, references, strict=False):
        order.reference = reference

    return DayPlan(
        deliveries=deliveries,
        credentials=[c for site in dict.fromkeys(d.site for d in deliveries) for c in site.credentials],
        driver_users=driver_users,
        drivers=driver_rows,
        runs=runs,
        past_runs=list(past_runs.values()),
        orders=orders,
        spare_references=references[len(orders) :],
        stops=stop_rows + [stop for run_stops in past_stops.values() for stop in run_stops],
        scans=scans,
        timed_window_stops=windows[False],
        all_day_window_stops=windows[True],
        late_runs=late_runs,
        history_addresses=len({id(a.delivery) for a in past}),
    )
