"""Prevention: scoring a 2,000-stop day's risk of failure per stop with ``exceptions.prevention.risk.risk_score_day``.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dispatch_riskbench .venv/bin/python bench/risk.py [--record]

Creates (or reuses) the scratch database, migrates it and seeds the demo day
(``demo_day_seed``: --stops stops over --drivers runs, with a month of past
failures at some addresses and the vault's access codes, verified, unverified
and flagged). Then scores the whole day --runs times after one warm-up (the
first pass writes the rows, the later ones update them, as a refresh after
ETAs move does) and reports the median and the maximum, the queries of one
pass, the rows written and how the scores fall. The target is under 2 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.scratch import ensure_database, results_record  # noqa: E402

SECTION = "## Prevention: scoring a day's stops"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/dispatch_riskbench"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stops", type=int, default=2000)
    parser.add_argument("--drivers", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=5, help="timed passes (default 5)")
    parser.add_argument("--record", action="store_true", help="write the result into bench/RESULTS.md")
    args = parser.parse_args()
    url = os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    ensure_database(url)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from demo.day.seed import demo_day_seed
    from dispatch.models import Depot
    from exceptions.models import StopRisk
    from exceptions.prevention.risk import risk_score_day

    call_command("migrate", verbosity=0)
    settings.DEBUG = False  # local settings keep every query in memory; production does not
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    machine = (
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, PostgreSQL {postgres}, "
        f"{platform.system()} {platform.release()}"
    )
    print(f"machine: {machine}")
    print(f"seeding a demo day of {args.stops} stops, {args.drivers} drivers, seed {args.seed} ...", flush=True)
    summary = demo_day_seed(stops=args.stops, drivers=args.drivers, seed=args.seed)
    depot = Depot.objects.get(code=summary.depot_code)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"day {summary.service_date}: {summary.stops} stops, {summary.credentials} access codes "
        f"({summary.verified_credentials} verified, {summary.flagged_credentials} flagged), "
        f"{summary.past_failed_scans} past failed scans at {summary.history_addresses} addresses"
    )

    StopRisk.objects.filter(stop__run__depot=depot).delete()
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        written = risk_score_day(depot_id=depot.pk, service_date=summary.service_date)
    first = time.perf_counter() - started
    times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        rows = risk_score_day(depot_id=depot.pk, service_date=summary.service_date)
        times.append(time.perf_counter() - started)
        assert rows == written, (rows, written)

    statements = [q for q in queries.captured_queries if q["sql"] not in ("BEGIN", "COMMIT")]
    risks = list(StopRisk.objects.filter(stop__run__depot=depot).values_list("score", "reasons", "missing"))
    scores = [score for score, _, _ in risks]
    above = {threshold: sum(1 for score in scores if score > threshold) for threshold in (0.0, 0.3, 0.5)}
    by_reason = Counter(reason["code"] for _, reasons, _ in risks for reason in reasons)
    asks = Counter(ask for _, _, missing in risks for ask in missing)
    deciles = statistics.quantiles(scores, n=10)
    ms = 1000
    lines = [
        f"{written} stops scored (rows written per pass) in {len(statements)} queries (+ BEGIN/COMMIT around "
        "the upsert); "
        f"first pass (insert) {first * ms:.0f} ms; re-scoring ({args.runs} passes, update): "
        f"**median {statistics.median(times) * ms:.0f} ms**, max {max(times) * ms:.0f} ms "
        f"({', '.join(f'{t * ms:.0f}' for t in times)} ms). Target under 2 s.",
        f"Scores: {above[0.0]} above 0, **{above[0.3]} above 0.3, {above[0.5]} above 0.5**; "
        f"median {statistics.median(scores):.2f}, p90 {deciles[8]:.2f}, max {max(scores):.2f}.",
        "Reasons given: " + ", ".join(f"{code} {n}" for code, n in by_reason.most_common()) + ".",
        "To ask for: " + ", ".join(f"{ask} {n}" for ask, n in asks.most_common()) + ".",
    ]
    for line in lines:
        print(line)
    if args.record:
        section = "\n".join(
            [
                SECTION,
                "",
                f"- Command: `DATABASE_URL={DEFAULT_URL} .venv/bin/python bench/risk.py --record` "
                f"(demo day: {args.stops} stops, {args.drivers} drivers, seed {args.seed})",
                f"- Machine: {machine}",
                *[f"- {line}" for line in lines],
                f"- Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
                "",
            ]
        )
        results_record(heading=SECTION, section=section)
        print(f"recorded in {(ROOT / 'bench' / 'RESULTS.md').relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
