"""Time `metrics_summary` over a busy day: 10,000 stops, ~8% failed first attempts, their cases.

    psql -h 127.0.0.1 -U postgres -c 'create database dispatch_metricsbench'
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/dispatch_metricsbench
    .venv/bin/python manage.py migrate
    .venv/bin/python bench/metrics.py --runs 5 [--history-days 6]

It refuses to run without DATABASE_URL, so it never writes into the everyday
database. It creates two depots of its own in two time zones (Chicago and
Denver, 60/40), replaces their data on every start, bulk-inserts the day (and
``--history-days`` earlier days, so the first-attempt lookup has a past to
search), runs VACUUM ANALYZE, then times ``metrics_summary`` for both depots over the
day once per grouping: one warm-up, then the median of ``--runs``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import statistics
import sys
import time
import zoneinfo
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEPOTS = (
    # code, zone, latitude, longitude, share of the stops
    ("metrics-bench-chi", "America/Chicago", 41.8847, -87.6633, 0.6),
    ("metrics-bench-den", "America/Denver", 39.7392, -104.9903, 0.4),
)
STOPS_PER_RUN = 125
REASONS = (
    ("RECIPIENT_ABSENT", 0.40),
    ("ACCESS_DENIED", 0.20),
    ("GATE_CLOSED", 0.10),
    ("BUSINESS_CLOSED", 0.10),
    ("WRONG_ACCESS_CODE", 0.08),
    ("ADDRESS_NOT_FOUND", 0.05),
    ("REFUSED", 0.04),
    ("DAMAGED", 0.03),
)
OUTCOMES = (
    ("access_code_provided", 0.18),
    ("safe_drop", 0.14),
    ("neighbour", 0.08),
    ("delivered_on_retry", 0.10),
    ("rescheduled_same_day", 0.10),
    ("rescheduled_later", 0.20),
    ("returned_to_sender", 0.05),
    ("pickup_point", 0.05),
    ("", 0.10),  # still open
)


def _pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([value for value, _ in weighted], weights=[weight for _, weight in weighted])[0]


def _wipe() -> None:
    from dispatch.models import Address, Depot, Driver, Order, Recipient, Run, ScanEvent, Stop, User
    from exceptions.models import CaseEvent, CostModel, ExceptionCase

    depots = Depot.objects.filter(code__in=[code for code, *_ in DEPOTS])
    orders = Order.objects.filter(depot__in=depots)
    address_ids = list(orders.values_list("address_id", flat=True))
    recipient_ids = list(orders.values_list("recipient_id", flat=True))
    user_ids = list(Driver.objects.filter(depot__in=depots).values_list("user_id", flat=True))
    CaseEvent.objects.filter(case__depot__in=depots).delete()
    ExceptionCase.objects.filter(depot__in=depots).delete()
    ScanEvent.objects.filter(stop__run__depot__in=depots).delete()
    Stop.objects.filter(run__depot__in=depots).delete()
    Run.objects.filter(depot__in=depots).delete()
    orders.delete()
    Address.objects.filter(pk__in=address_ids).delete()
    Recipient.objects.filter(pk__in=recipient_ids).delete()
    Driver.objects.filter(depot__in=depots).delete()
    User.objects.filter(pk__in=user_ids).delete()
    CostModel.objects.filter(depot__in=depots).delete()
    depots.delete()


def _build(*, day: dt.date, stops: int, failure_rate: float, history_days: int, seed: int) -> dict[str, int]:
    """Bulk-insert the day and its history; returns row counts."""
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from dispatch.models import Address, Depot, Driver, Order, ReasonCode, Recipient, Run, ScanEvent, Stop, User
    from exceptions.models import CostModel, ExceptionCase

    rng = random.Random(seed)
    reasons = {reason.code: reason for reason in ReasonCode.objects.all()}
    counts = {"stops": 0, "scans": 0, "failed": 0, "cases": 0}
    password = make_password(None)
    with transaction.atomic():
        for code, zone_name, lat, lng, share in DEPOTS:
            zone = zoneinfo.ZoneInfo(zone_name)
            depot = Depot.objects.create(code=code, name=code, time_zone=zone_name, latitude=lat, longitude=lng)
            if code.endswith("chi"):
                CostModel.objects.create(
                    depot=depot,
                    currency="USD",
                    driver_minute_cost=Decimal("0.70"),
                    distance_cost_per_km=Decimal("0.45"),
                    redelivery_cost=Decimal("11.00"),
                )
            depot_stops = round(stops * share)
            n_runs = -(-depot_stops // STOPS_PER_RUN)
            users = User.objects.bulk_create(
                User(username=f"{code}-driver-{index}", password=password) for index in range(n_runs)
            )
            drivers = Driver.objects.bulk_create(Driver(user=user, depot=depot) for user in users)
            for offset in range(history_days, -1, -1):
                service_date = day - dt.timedelta(days=offset)
                _build_day(
                    rng=rng,
                    depot=depot,
                    zone=zone,
                    drivers=drivers,
                    service_date=service_date,
                    stops=depot_stops,
                    failure_rate=failure_rate,
                    reasons=reasons,
                    counts=counts if offset == 0 else None,
                    models=(Address, Order, Recipient, Run, ScanEvent, Stop, ExceptionCase),
                )
    return counts


def _build_day(
    *,
    rng: random.Random,
    depot: Any,
    zone: zoneinfo.ZoneInfo,
    drivers: list[Any],
    service_date: dt.date,
    stops: int,
    failure_rate: float,
    reasons: dict[str, Any],
    counts: dict[str, int] | None,
    models: tuple[Any, ...],
) -> None:
    Address, Order, Recipient, Run, ScanEvent, Stop, ExceptionCase = models
    midnight = dt.datetime.combine(service_date, dt.time(), tzinfo=zone)
    runs = Run.objects.bulk_create(
        Run(
            depot=depot,
            driver=driver,
            service_date=service_date,
            shift_start=midnight + dt.timedelta(hours=8),
            shift_end=midnight + dt.timedelta(hours=20),
        )
        for driver in drivers
    )
    tag = f"{depot.code[-3:]}{service_date:%m%d}"
    addresses = Address.objects.bulk_create(
        Address(
            depot=depot,
            line1=f"{index} Bench St",
            city="Bench",
            postal_code="60600",
            latitude=depot.latitude + rng.uniform(-0.15, 0.15),
            longitude=depot.longitude + rng.uniform(-0.2, 0.2),
        )
        for index in range(stops)
    )
    recipients = Recipient.objects.bulk_create(
        Recipient(depot=depot, name=f"Recipient {index}") for index in range(stops)
    )
    orders = Order.objects.bulk_create(
        Order(reference=f"MB-{tag}-{index}", depot=depot, recipient=recipient, address=address)
        for index, (recipient, address) in enumerate(zip(recipients, addresses, strict=True))
    )
    stop_rows = Stop.objects.bulk_create(
        Stop(
            run=runs[index // STOPS_PER_RUN],
            order=order,
            sequence=index % STOPS_PER_RUN + 1,
            service_minutes=rng.randint(2, 6),
            status=Stop.Status.DELIVERED,
            attempt_count=1,
        )
        for index, order in enumerate(orders)
    )
    scans: list[Any] = []
    failed: list[tuple[Any, Any]] = []
    for index, stop in enumerate(stop_rows):
        at = midnight + dt.timedelta(hours=8, minutes=30) + dt.timedelta(seconds=rng.uniform(0, 11 * 3600))
        code = _pick(rng, REASONS) if rng.random() < failure_rate else ""
        scan = ScanEvent(
            stop=stop,
            driver_id=stop.run.driver_id,
            outcome=ScanEvent.Outcome.FAILED if code else ScanEvent.Outcome.DELIVERED,
            reason_code=reasons[code] if code else None,
            device_time=at,
            received_at=at,
            idempotency_key=f"mb-{tag}-{index}",
        )
        scans.append(scan)
        if code:
            failed.append((stop, scan))
            if rng.random() < 0.3:
                # Tried again later the same run and delivered: a second scan, not a first attempt.
                later = at + dt.timedelta(minutes=rng.uniform(20, 90))
                scans.append(
                    ScanEvent(
                        stop=stop,
                        driver_id=stop.run.driver_id,
                        outcome=ScanEvent.Outcome.DELIVERED,
                        device_time=later,
                        received_at=later,
                        idempotency_key=f"mb-{tag}-{index}-retry",
                    )
                )
    ScanEvent.objects.bulk_create(scans, batch_size=2000)
    cases = []
    for stop, scan in failed:
        outcome = _pick(rng, OUTCOMES)
        opened = scan.received_at
        escalated = opened + dt.timedelta(minutes=10) if rng.random() < 0.15 else None
        resolved = opened + dt.timedelta(minutes=rng.uniform(3, 180)) if outcome else None
        cases.append(
            ExceptionCase(
                depot=depot,
                stop=stop,
                order_id=stop.order_id,
                scan=scan,
                reason_code=scan.reason_code,
                state=ExceptionCase.State.RESOLVED if outcome else ExceptionCase.State.AWAITING_RECIPIENT,
                outcome=outcome,
                opened_at=opened,
                escalated_at=escalated,
                resolved_at=resolved,
                touched_by_dispatcher=escalated is not None or rng.random() < 0.1,
            )
        )
    ExceptionCase.objects.bulk_create(cases, batch_size=2000)
    if counts is not None:
        for key, value in (
            ("stops", len(stop_rows)),
            ("scans", len(scans)),
            ("failed", len(failed)),
            ("cases", len(cases)),
        ):
            counts[key] += value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per grouping (default 5)")
    parser.add_argument("--stops", type=int, default=10_000)
    parser.add_argument("--failure-rate", type=float, default=0.08)
    parser.add_argument("--history-days", type=int, default=0, help="earlier days of the same size (default 0)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be >= 1")
    if not os.environ.get("DATABASE_URL"):
        parser.error(
            "set DATABASE_URL to a scratch database, e.g. postgres://postgres@127.0.0.1:5432/dispatch_metricsbench"
        )

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from dispatch.models import Depot
    from exceptions.analytics import GROUP_BY, metrics_summary

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    print(
        f"machine: {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
        f"Python {platform.python_version()}, PostgreSQL {postgres}, {platform.system()} {platform.release()}"
    )
    print(f"database: {connection.settings_dict['NAME']}")

    day = timezone.localdate(timezone.now(), zoneinfo.ZoneInfo("America/Chicago")) - dt.timedelta(days=1)
    started = time.perf_counter()
    _wipe()
    counts = _build(
        day=day, stops=args.stops, failure_rate=args.failure_rate, history_days=args.history_days, seed=args.seed
    )
    with connection.cursor() as cursor:
        # Autovacuum keeps a live database in this state; the wipe above left dead rows behind.
        cursor.execute("VACUUM ANALYZE")
    print(
        f"built {day}: {counts['stops']:,} stops, {counts['scans']:,} scans, {counts['failed']:,} failed, "
        f"{counts['cases']:,} cases over 2 depots (+{args.history_days} earlier days) "
        f"in {time.perf_counter() - started:.1f} s"
    )

    depot_ids = list(Depot.objects.filter(code__in=[code for code, *_ in DEPOTS]).values_list("pk", flat=True))
    groupings: list[Any] = [None, *GROUP_BY]
    for group_by in groupings:
        metrics_summary(depot_ids=depot_ids, date_from=day, date_to=day, group_by=group_by)  # warm-up
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            result = metrics_summary(depot_ids=depot_ids, date_from=day, date_to=day, group_by=group_by)
            times.append((time.perf_counter() - started) * 1000)
        totals = result["totals"]
        print(
            f"  group_by={group_by or '-':<12} median {statistics.median(times):7.1f} ms "
            f"(min {min(times):.1f}, max {max(times):.1f}); {len(result['groups'])} groups; "
            f"first-attempt success {totals['first_attempt']['success_rate']}, "
            f"{totals['first_attempt']['attempts']:,} attempts"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
