"""The operator at scale: open 10,000 cases through the scan service, triage them, sweep their timers.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dispatch_workflowbench .venv/bin/python bench/workflow.py [--record]

Creates (or reuses) the scratch database, migrates it, seeds a demo day of
--stops stops, then:
1. fails every stop through ``scan_record`` (the driver API's service) and
   times ``case_open`` inside each scan's transaction;
2. triages every case (what the Celery task does), with an outreach adapter
   that reaches everyone and sends nothing;
3. times the beat sweep over all open cases: with nothing due, with every
   reply deadline due (one batch of --batch timers), and with every SLA
   breached at once.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.scratch import ensure_database, results_record  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
SECTION = "## Operator: open, triage and sweep 10,000 cases"
# A morning mix, without the reason codes that need a photo.
REASONS = [
    ("RECIPIENT_ABSENT", 60),
    ("ACCESS_DENIED", 25),
    ("WRONG_ACCESS_CODE", 8),
    ("ADDRESS_NOT_FOUND", 4),
    ("REFUSED", 3),
]


class ReachableOutreach:
    """Everyone can be reached; nothing is sent."""

    def ask(self, *, case: Any, topic: str, reprompt: bool) -> Any:
        from exceptions.ports import AskResult

        return AskResult(reachable=True, channel="sms")

    def notify_outcome(self, *, case: Any) -> None:
        return None


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stops", type=int, default=10000, help="stops, one case each (default 10,000)")
    parser.add_argument("--drivers", type=int, default=100)
    parser.add_argument("--batch", type=int, default=500, help="timers one sweep fires (default 500, as beat's)")
    parser.add_argument("--record", action="store_true", help="write the result into bench/RESULTS.md")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL")
    if not url:
        parser.error(
            "set DATABASE_URL to a scratch database, e.g. postgres://postgres@127.0.0.1:5432/dispatch_workflowbench"
        )
    ensure_database(url)

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django

    django.setup()
    import random

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Count
    from django.utils import timezone

    from demo.day.seed import demo_day_seed
    from dispatch.models import ReasonCode, ScanEvent, Stop
    from dispatch.services import scans
    from exceptions import inbox, ports, tasks, workflow
    from exceptions.models import ExceptionCase

    call_command("migrate", verbosity=0)
    settings.DEBUG = False  # local settings log every query in memory; production does not
    settings.EXCEPTIONS_OUTREACH = "__main__.ReachableOutreach"
    ports.outreach.cache_clear()
    # Triage runs here, in process, right after; nothing goes to a broker a worker might be reading.
    tasks.case_triage_task.delay = lambda case_id: None  # type: ignore[method-assign,assignment,return-value]

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    machine = (
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, PostgreSQL {postgres}, "
        f"{platform.system()} {platform.release()}"
    )
    print(f"machine: {machine}")
    print(f"seeding a demo day of {args.stops} stops ...", flush=True)
    ExceptionCase.objects.all().delete()
    demo_day_seed(stops=args.stops, drivers=args.drivers, seed=7)

    open_times: list[float] = []
    real_open = inbox.case_open  # the name the desk's door opens cases with

    def timed_open(*, scan: ScanEvent, first_failure: bool = False) -> ExceptionCase:
        started = time.perf_counter()
        try:
            return real_open(scan=scan, first_failure=first_failure)
        finally:
            open_times.append(time.perf_counter() - started)

    inbox.case_open = timed_open
    reasons = {reason.code: reason for reason in ReasonCode.objects.all()}
    rng = random.Random(7)
    codes = [code for code, weight in REASONS for _ in range(weight)]
    progress = time.perf_counter()
    stops = list(Stop.objects.filter(status=Stop.Status.PENDING).select_related("run__driver").order_by("pk"))
    scan_times: list[float] = []
    started_all = time.perf_counter()
    for stop in stops:
        started = time.perf_counter()
        scans.scan_record(
            driver=stop.run.driver,
            stop_id=stop.pk,
            outcome=ScanEvent.Outcome.FAILED,
            reason=reasons[rng.choice(codes)],
            device_time=timezone.now(),
            latitude=None,
            longitude=None,
            notes="",
            photo=None,
            idempotency_key=uuid.uuid4().hex,
        )
        scan_times.append(time.perf_counter() - started)
        if time.perf_counter() - progress > 30:
            progress = time.perf_counter()
            print(f"  {len(scan_times)} scans, {statistics.mean(scan_times) * 1000:.1f} ms each", flush=True)
    opened_in = time.perf_counter() - started_all
    inbox.case_open = real_open
    # Autovacuum analyzes tables that grow this fast within a minute or so; here it is done at once,
    # so triage's plans see 10,000 failed scans, not the empty tables of the start.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    case_ids = list(ExceptionCase.objects.filter(state=ExceptionCase.State.OPENED).values_list("pk", flat=True))
    print(f"opened {len(case_ids)} cases in {opened_in:.1f} s", flush=True)

    triage_times: list[float] = []
    for case_id in case_ids:
        started = time.perf_counter()
        workflow.case_triage(case_id=case_id)
        triage_times.append(time.perf_counter() - started)
    states = dict(ExceptionCase.objects.order_by().values_list("state").annotate(n=Count("id")))
    print(f"triaged: {states}", flush=True)

    now = timezone.now()
    idle = []
    for _ in range(5):
        started = time.perf_counter()
        result = workflow.case_timers_sweep(now=now)
        idle.append(time.perf_counter() - started)
        assert result.fired == result.breached == 0, result
    started = time.perf_counter()
    due = workflow.case_timers_sweep(now=now + dt.timedelta(minutes=16), timer_limit=args.batch)
    due_time = time.perf_counter() - started
    started = time.perf_counter()
    storm = workflow.case_timers_sweep(now=now + dt.timedelta(minutes=120), limit=len(case_ids))
    storm_time = time.perf_counter() - started
    after = ExceptionCase.objects.filter(state=ExceptionCase.State.ESCALATED, sla_breached_at__isnull=False).count()

    ms = 1000.0
    lines = [
        f"case_open inside the scan transaction, {len(open_times)} cases: "
        f"p50 {statistics.median(open_times) * ms:.2f} ms, "
        f"p95 {percentile(open_times, 0.95) * ms:.2f} ms, p99 {percentile(open_times, 0.99) * ms:.2f} ms "
        f"(whole scan_record: p50 {statistics.median(scan_times) * ms:.2f} ms, "
        f"p95 {percentile(scan_times, 0.95) * ms:.2f} ms)",
        f"triage, {len(triage_times)} cases: p50 {statistics.median(triage_times) * ms:.2f} ms, "
        f"p95 {percentile(triage_times, 0.95) * ms:.2f} ms, total {sum(triage_times):.1f} s; "
        f"states after: {states}",
        f"sweep over {len(case_ids)} open cases with nothing due: median {statistics.median(idle) * ms:.1f} ms "
        f"(runs: {', '.join(f'{t * ms:.1f}' for t in idle)})",
        f"sweep with every reply deadline due: fired {due.fired} timers (batch {args.batch}) in {due_time:.2f} s, "
        f"{due_time / max(due.fired, 1) * ms:.2f} ms per timer",
        f"sweep with every SLA breached: escalated {storm.breached} cases in bulk in {storm_time:.2f} s "
        f"({after} escalated with a breach recorded)",
    ]
    for line in lines:
        print(line)
    if args.record:
        section = "\n".join(
            [
                SECTION,
                "",
                "- Command: `DATABASE_URL=postgres://postgres@127.0.0.1:5432/dispatch_workflowbench "
                ".venv/bin/python bench/workflow.py`",
                f"- Machine: {machine}",
                *[f"- {line}" for line in lines],
                f"- Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
                "",
            ]
        )
        results_record(heading=SECTION, section=section)
        print(f"recorded in {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
