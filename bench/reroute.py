"""Re-routing latency: a recovered stop placed in a day of 40 runs x 40 remaining stops; a 100-stop re-sequence.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dispatch_reroutebench .venv/bin/python bench/reroute.py [--record]

Creates (or reuses) the scratch database and a fresh depot in it, with
--runs drivers on the road, each with --stops remaining stops in its own
sector of a 16 km square around the depot (a quarter of them with a delivery
window). Then, --tries times, a stop of one run fails and is re-inserted with
``routing.services.stop_reinsert``, the whole service as the Celery task runs
it: loading the day, travel-time matrices, the insertion search over every run
and position, and the transaction that writes the plan version.

Timed twice: "cold", with every run's plan version bumped first so no matrix is
in the cache, and "warm", the everyday case where only the runs changed since
the last request miss. Then a run of --resequence-stops stops in random order is
re-sequenced with the admin's time limit (``RoutingSettings``), --repeat times.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import platform
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.scratch import ensure_database, results_record  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
SECTION = "## Re-routing: re-insert into 40 runs x 40 stops, re-sequence 100 stops"
DEPOT = (41.8847, -87.6633)
KM_LAT, KM_LNG = 1 / 111.195, 1 / 83.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--stops", type=int, default=40, help="remaining stops per run (default 40)")
    parser.add_argument("--tries", type=int, default=40, help="re-insertions timed, cold and warm each")
    parser.add_argument("--resequence-stops", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5, help="re-sequences timed")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--record", action="store_true", help="write the result into bench/RESULTS.md")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        print(
            "set DATABASE_URL to a scratch database, e.g. postgres://postgres@127.0.0.1:5432/dispatch_reroutebench",
            file=sys.stderr,
        )
        return 2
    ensure_database(url)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django

    django.setup()
    import ortools  # type: ignore[import-untyped]
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import F
    from django.utils import timezone

    from dispatch.models import Address, Depot, Driver, Order, Recipient, Run, Stop, User
    from routing import services
    from routing.selectors import routing_settings

    call_command("migrate", verbosity=0)
    settings.DEBUG = False
    rng = random.Random(args.seed)
    tag = uuid.uuid4().hex[:6]
    depot = Depot.objects.create(
        code=f"bench-{tag}", name=f"Re-routing bench {tag}", time_zone="America/Chicago",
        latitude=DEPOT[0], longitude=DEPOT[1],
    )  # fmt: skip
    now = timezone.now()
    today = timezone.localdate(now, depot.time_zone)
    counter = iter(range(10**9))

    def point(sector: int, sectors: int) -> tuple[float, float]:
        angle = 2 * math.pi * (sector + rng.random()) / sectors
        radius = 1 + 7 * math.sqrt(rng.random())
        return DEPOT[0] + radius * math.sin(angle) * KM_LAT, DEPOT[1] + radius * math.cos(angle) * KM_LNG

    def order_at(lat: float, lng: float) -> Order:
        n = next(counter)
        phone = f"+1312{5550000 + n % 10000:07d}"
        recipient = Recipient.objects.create(depot=depot, name=f"Recipient {n}", phone=phone)
        address = Address.objects.create(
            depot=depot, line1=f"{n} Bench St", city="Chicago", postal_code="60607", latitude=lat, longitude=lng
        )
        return Order.objects.create(reference=f"RB-{tag}-{n}", depot=depot, recipient=recipient, address=address)

    def run_for(index: int, stops: int, sector: int, sectors: int) -> Run:
        user = User.objects.create(username=f"bench-{tag}-{index}")
        driver = Driver.objects.create(
            user=user, depot=depot, phone=f"+1773{5550000 + index:07d}", vehicle_capacity=200
        )
        run = Run.objects.create(
            depot=depot, driver=driver, service_date=today, status=Run.Status.IN_PROGRESS,
            shift_start=now - dt.timedelta(hours=2), shift_end=now + dt.timedelta(hours=10),
        )  # fmt: skip
        points = sorted((point(sector, sectors) for _ in range(stops)), key=lambda p: math.dist(p, DEPOT))
        created = []
        for number, (lat, lng) in enumerate(points, start=1):
            windowed = rng.random() < 0.25
            created.append(
                Stop(
                    run=run,
                    order=order_at(lat, lng),
                    sequence=number,
                    window_start=now if windowed else None,
                    window_end=now + dt.timedelta(minutes=90 + 12 * number) if windowed else None,
                )
            )
        Stop.objects.bulk_create(created)
        lat, lng = points[0]
        Driver.objects.filter(pk=driver.pk).update(last_latitude=lat, last_longitude=lng, last_seen_at=now)
        return run

    started = time.monotonic()
    runs = [run_for(i, args.stops, i, args.runs) for i in range(args.runs)]
    print(f"seeded {args.runs} runs x {args.stops} stops in {time.monotonic() - started:.1f} s")

    def recovered(run: Run) -> Stop:
        sector = runs.index(run)
        lat, lng = point(sector, args.runs)
        last = Stop.objects.filter(run=run).order_by("-sequence").values_list("sequence", flat=True).first() or 0
        return Stop.objects.create(
            run=run, order=order_at(lat, lng), sequence=last + 1, status=Stop.Status.FAILED, attempt_count=1
        )

    def timed_reinserts(cold: bool) -> tuple[list[float], dict[str, int]]:
        times: list[float] = []
        outcomes: dict[str, int] = {}
        for attempt in range(args.tries):
            run = runs[rng.randrange(len(runs))]
            stop = recovered(run)
            windowed = attempt % 2 == 0
            start = timezone.now() + dt.timedelta(hours=2) if windowed else None
            end = start + dt.timedelta(hours=2) if start else None
            if cold:
                Run.objects.filter(depot=depot).update(plan_version=F("plan_version") + 1)
            began = time.perf_counter()
            change = services.stop_reinsert(stop_id=stop.pk, window_start=start, window_end=end, requested_by="bench")
            times.append(time.perf_counter() - began)
            key = (change.operation or "not placed") + (" (handover)" if "handover" in change.summary else "")
            outcomes[key] = outcomes.get(key, 0) + 1
        return times, outcomes

    cold, cold_outcomes = timed_reinserts(cold=True)
    warm, warm_outcomes = timed_reinserts(cold=False)

    config = routing_settings()
    big = run_for(len(runs), args.resequence_stops, 0, args.runs)
    reseq: list[float] = []
    gains: list[str] = []
    for _ in range(args.repeat):
        stops = list(Stop.objects.filter(run=big))
        numbers = list(range(1, len(stops) + 1))
        rng.shuffle(numbers)
        for stop, number in zip(stops, numbers, strict=True):
            stop.sequence = number
        Stop.objects.bulk_update(stops, ["sequence"])
        began = time.perf_counter()
        change = services.run_resequence(run_id=big.pk, requested_by="bench")
        reseq.append(time.perf_counter() - began)
        gains.append(f"{change.added_seconds / 60:+.0f} min" if change.placed else change.reason)

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0].split()[0]
    machine = (
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, OR-Tools {ortools.__version__}, "
        f"PostgreSQL {postgres}, {platform.system()} {platform.release()}"
    )
    ms = 1000
    lines = [
        f"re-insert, {args.runs} runs x {args.stops} remaining stops, cold matrices ({args.tries} tries): "
        f"p50 {statistics.median(cold) * ms:.0f} ms, **p95 {percentile(cold, 0.95) * ms:.0f} ms**, "
        f"max {max(cold) * ms:.0f} ms; {cold_outcomes}",
        f"re-insert, warm matrices ({args.tries} tries): p50 {statistics.median(warm) * ms:.0f} ms, "
        f"p95 {percentile(warm, 0.95) * ms:.0f} ms, max {max(warm) * ms:.0f} ms; {warm_outcomes}",
        f"re-sequence of a {args.resequence_stops}-stop run in random order, time limit "
        f"{config.resequence_time_limit_s} s ({args.repeat} runs): median {statistics.median(reseq):.2f} s, "
        f"**max {max(reseq):.2f} s**; return time {', '.join(gains)}",
    ]
    for line in lines:
        print(line)
    if args.record:
        section = "\n".join(
            [
                SECTION,
                "",
                "- Command: `DATABASE_URL=postgres://postgres@127.0.0.1:5432/dispatch_reroutebench "
                ".venv/bin/python bench/reroute.py`",
                f"- Machine: {machine}",
                *[f"- {line}" for line in lines],
                "- Target: re-insert p95 under 300 ms including matrix work; re-sequence of 100 stops under 2 s.",
                f"- Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
                "",
            ]
        )
        results_record(heading=SECTION, section=section)
        print(f"recorded in {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
