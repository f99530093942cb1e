"""The board's first load: GET /api/v1/board/snapshot with 5,000 open cases, timed in process.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dispatch_boardbench .venv/bin/python bench/board_load.py

Creates (or reuses) the scratch database, migrates it, seeds a demo day of
--cases stops, then writes one failed scan, one open case and three timeline
lines per stop in bulk (a morning's mix of states, priorities and SLA clocks),
and gives every driver a position. The demo dispatcher then asks for the
snapshot through Django's test client (the whole request: session, DRF, the
queries, JSON rendering); the median of --runs requests after one warm-up is
the figure. The target is well under 1 s.
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
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.scratch import ensure_database  # noqa: E402

# State, share of the open cases.
STATES = [("awaiting_recipient", 55), ("escalated", 20), ("resolving", 15), ("triaging", 5), ("opened", 5)]
REASONS = ["RECIPIENT_ABSENT", "ACCESS_DENIED", "WRONG_ACCESS_CODE", "ADDRESS_NOT_FOUND", "REFUSED"]


def seed_cases(count: int, rng: random.Random) -> int:
    """One open case per pending stop of the demo day, written in bulk; returns how many."""
    from django.db import transaction
    from django.utils import timezone

    from dispatch.models import Driver, ReasonCode, ScanEvent, Stop
    from exceptions.models import CaseEvent, ExceptionCase

    now = timezone.now()
    reasons = {reason.code: reason for reason in ReasonCode.objects.filter(code__in=REASONS)}
    states = [state for state, weight in STATES for _ in range(weight)]
    stops = list(Stop.objects.filter(status=Stop.Status.PENDING).select_related("run").order_by("pk")[:count])
    with transaction.atomic():
        for driver in Driver.objects.filter(depot__runs__stops__in=stops).distinct():
            driver.last_latitude = 41.88 + rng.uniform(-0.1, 0.1)
            driver.last_longitude = -87.65 + rng.uniform(-0.1, 0.1)
            driver.last_seen_at = now - dt.timedelta(seconds=rng.randint(5, 600))
            driver.save(update_fields=["last_latitude", "last_longitude", "last_seen_at"])
        scans = ScanEvent.objects.bulk_create(
            ScanEvent(
                stop=stop,
                driver_id=stop.run.driver_id,
                outcome=ScanEvent.Outcome.FAILED,
                reason_code=reasons[rng.choice(REASONS)],
                device_time=now,
                received_at=now - dt.timedelta(minutes=rng.randint(0, 240)),
                idempotency_key=uuid.uuid4().hex,
            )
            for stop in stops
        )
        Stop.objects.filter(pk__in=[stop.pk for stop in stops]).update(status=Stop.Status.FAILED, attempt_count=1)
        cases = []
        for stop, scan in zip(stops, scans, strict=True):
            state = rng.choice(states)
            cases.append(
                ExceptionCase(
                    depot_id=stop.run.depot_id,
                    stop=stop,
                    order_id=stop.order_id,
                    scan=scan,
                    reason_code=scan.reason_code,
                    state=state,
                    priority=rng.choice([1, 2, 2, 3, 3, 3, 3, 4, 5]),
                    opened_at=scan.received_at,
                    sla_due_at=scan.received_at + dt.timedelta(minutes=30),
                    sla_breached_at=now if state == "escalated" and rng.random() < 0.3 else None,
                    requires_approval=state == "escalated" and rng.random() < 0.2,
                    escalation_reason="The recipient asked for a call." if state == "escalated" else "",
                    next_action="reply_deadline" if state == "awaiting_recipient" else "",
                    next_action_due_at=now + dt.timedelta(minutes=15) if state == "awaiting_recipient" else None,
                    version=4,
                )
            )
        cases = ExceptionCase.objects.bulk_create(cases)
        CaseEvent.objects.bulk_create(
            CaseEvent(
                case=case, at=case.opened_at + dt.timedelta(seconds=step), kind=kind, actor="automation", summary=text
            )
            for case in cases
            for step, (kind, text) in enumerate(
                [
                    ("scan", f"Failed scan: {case.reason_code.code}"),
                    ("decision", "Triage: attempt 1 at this order, 0 failed before at this address"),
                    ("message_out", "Asked the recipient (window) by sms"),
                ]
            )
        )
    return len(cases)


def board_day_seed(cases: int) -> int:
    """A demo day of ``cases`` stops with one open case each (what both board benches measure); returns how many."""
    from django.db import connection

    from demo.day.seed import demo_day_seed
    from exceptions.models import ExceptionCase

    print(f"seeding a demo day of {cases} stops and one open case each ...", flush=True)
    ExceptionCase.objects.all().delete()
    demo_day_seed(stops=cases, drivers=40, seed=7)
    opened = seed_cases(cases, random.Random(7))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return opened


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=5000, help="open cases (default 5,000)")
    parser.add_argument("--runs", type=int, default=5, help="timed requests (default 5)")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL")
    if not url:
        parser.error(
            "set DATABASE_URL to a scratch database, e.g. postgres://postgres@127.0.0.1:5432/dispatch_boardbench"
        )
    ensure_database(url)

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from demo.day.depot import DISPATCHER_USERNAME
    from dispatch.models import User

    call_command("migrate", verbosity=0)
    settings.DEBUG = False  # local settings keep every query in memory; production does not
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    print(
        f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, PostgreSQL {postgres}, "
        f"{platform.system()} {platform.release()}"
    )
    opened = board_day_seed(args.cases)

    client = Client()
    client.force_login(User.objects.get(username=DISPATCHER_USERNAME))
    warm = client.get("/api/v1/board/snapshot")
    assert warm.status_code == 200, warm.content[:500]
    body = warm.json()
    assert len(body["cases"]) == opened, (len(body["cases"]), opened)

    times = []
    for _ in range(args.runs):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get("/api/v1/board/snapshot")
            times.append(time.perf_counter() - started)
        assert response.status_code == 200
    median = statistics.median(times) * 1000
    print(
        f"{len(queries.captured_queries)} queries, {len(response.content) / 1e6:.1f} MB of JSON, "
        f"counters {body['counters']}; runs (ms): {', '.join(f'{t * 1000:.0f}' for t in times)}"
    )
    print(f"board snapshot, {opened} open cases: median {median:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
