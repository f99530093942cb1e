"""Failed-scan intake under sustained load, against the production ASGI server.

    .venv/bin/python bench/scan_load.py --rate 200 --seconds 60 [--record]

Creates (or reuses) the scratch database named by --database, fills it with
drivers, runs and enough stops for every scan to hit a fresh stop, starts
Uvicorn with config.settings.production (2 workers) on 127.0.0.1, and drives
POST /api/v1/driver/stops/{id}/scans at a fixed arrival rate (open loop: a
slow answer does not slow the senders down). Then it checks that every scan
the server accepted is stored exactly once, with exactly one case.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"
sys.path.insert(0, str(ROOT))

from bench.scratch import uvicorn_serving  # noqa: E402

SECTION = "## Driver API: failed-scan intake"


def server_env(database_url: str) -> dict[str, str]:
    from cryptography.fernet import Fernet

    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DATABASE_URL": database_url,
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/4"),
        "SECRET_KEY": "bench-" + "x" * 60,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PUBLIC_BASE_URL": "https://127.0.0.1",
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "SECURE_SSL_REDIRECT": "false",
        "THROTTLE_DRIVER": "100000/min",
        "LOG_LEVEL": "WARNING",
        "CACHE_KEY_PREFIX": "scanbench",
    }


def prepare(database_url: str, drivers: int, stops: int) -> list[tuple[str, list[int]]]:
    """Fresh drivers with tokens and stops; returns (token, stop ids) per driver."""
    import dj_database_url
    import psycopg2
    from psycopg2 import sql

    cfg = dj_database_url.parse(database_url)
    conn = psycopg2.connect(dbname="postgres", user=cfg["USER"], password=cfg["PASSWORD"] or None,
                            host=cfg["HOST"], port=cfg["PORT"])  # fmt: skip
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [cfg["NAME"]])
        if not cursor.fetchone():
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(cfg["NAME"])))
    conn.close()

    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.utils import timezone

    from demo.day.seed import demo_day_seed
    from dispatch.models import ApiToken, Depot, Driver, Stop
    from dispatch.services import api_token_issue

    demo_day_seed(stops=stops, drivers=drivers, seed=7)

    def depot_now() -> dt.datetime:
        return timezone.now().astimezone(Depot.objects.get(code="chi-demo").time_zone)

    plan = []
    for driver in Driver.objects.filter(depot__code="chi-demo").select_related("user"):
        ApiToken.objects.filter(user=driver.user).delete()
        _, key = api_token_issue(user=driver.user, kind=ApiToken.Kind.DRIVER, name="bench")
        ids = list(
            Stop.objects.filter(
                run__driver=driver, status=Stop.Status.PENDING, run__service_date=timezone.localdate(depot_now())
            )
            .order_by("sequence")
            .values_list("pk", flat=True)
        )
        plan.append((key, ids))
    return plan


async def drive(base: str, plan: list[tuple[str, list[int]]], rate: float, seconds: float) -> dict:
    import aiohttp

    jobs = [(key, stop) for key, ids in plan for stop in ids]
    # Interleave drivers so consecutive scans come from different phones.
    jobs.sort(key=lambda job: (plan_index(plan, job), 0))
    total = int(rate * seconds)
    if total > len(jobs):
        raise SystemExit(f"{total} scans need {total} fresh stops; only {len(jobs)} prepared. Raise --stops.")
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors: list[str] = []
    accepted_keys: list[tuple[int, str]] = []
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(key: str, stop: int) -> None:
            idem = str(uuid.uuid4())
            body = {
                "outcome": "failed",
                "reason_code": "ACCESS_DENIED",
                "device_time": dt.datetime.now(dt.UTC).isoformat(),
                "latitude": 41.88,
                "longitude": -87.66,
            }
            headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": idem}
            started = time.perf_counter()
            try:
                async with session.post(f"{base}/api/v1/driver/stops/{stop}/scans", json=body, headers=headers) as r:
                    await r.read()
                    latencies.append(time.perf_counter() - started)
                    statuses[r.status] = statuses.get(r.status, 0) + 1
                    if r.status == 201:
                        accepted_keys.append((stop, idem))
            except Exception as exc:
                errors.append(repr(exc))

        tasks = []
        start = time.perf_counter()
        for index in range(total):
            due = start + index / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            key, stop = jobs[index]
            tasks.append(asyncio.create_task(one(key, stop)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    return {
        "sent": total,
        "elapsed": elapsed,
        "latencies": latencies,
        "statuses": statuses,
        "errors": errors,
        "accepted": accepted_keys,
    }


_plan_position: dict[tuple[str, int], int] = {}


def plan_index(plan: list[tuple[str, list[int]]], job: tuple[str, int]) -> int:
    if not _plan_position:
        for _, ids in plan:
            for position, stop in enumerate(ids):
                _plan_position[(_, stop)] = position
    return _plan_position[job]


def verify(accepted: list[tuple[int, str]]) -> tuple[int, int, int]:
    from django.db.models import Count

    from dispatch.models import ScanEvent
    from exceptions.models import ExceptionCase

    stops = [stop for stop, _ in accepted]
    scans = ScanEvent.objects.filter(stop_id__in=stops)
    duplicates = scans.values("stop_id").annotate(n=Count("id")).filter(n__gt=1).count()
    cases = ExceptionCase.objects.filter(stop_id__in=stops).count()
    return scans.count(), duplicates, cases


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=200.0, help="scans per second (default 200)")
    parser.add_argument("--seconds", type=float, default=60.0, help="duration (default 60)")
    parser.add_argument("--workers", type=int, default=2, help="Uvicorn workers (default 2)")
    parser.add_argument("--drivers", type=int, default=60)
    parser.add_argument("--stops", type=int, default=10000, help="stops prepared (at most 10,000; one per scan)")
    parser.add_argument(
        "--database", default="postgres://postgres@127.0.0.1:5432/dispatch_scanbench", help="scratch database URL"
    )
    parser.add_argument("--record", action="store_true", help="write the result into bench/RESULTS.md")
    args = parser.parse_args()

    print(f"preparing {args.stops} stops for {args.drivers} drivers in {args.database} ...", flush=True)
    plan = prepare(args.database, args.drivers, args.stops)
    with uvicorn_serving(server_env(args.database), workers=args.workers) as server:
        print(f"driving {args.rate:.0f} scans/s for {args.seconds:.0f} s at {server.base} ...", flush=True)
        result = asyncio.run(drive(server.base, plan, args.rate, args.seconds))

    stored, duplicates, cases = verify(result["accepted"])
    lat = [value * 1000 for value in result["latencies"]]
    achieved = len(lat) / result["elapsed"]
    p50, p95, p99 = (percentile(lat, share) for share in (0.50, 0.95, 0.99))
    machine = f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()} {platform.release()}"
    errors = len(result["errors"]) + sum(n for status, n in result["statuses"].items() if status != 201)
    lines = [
        f"sent {result['sent']} scans in {result['elapsed']:.1f} s: {achieved:.1f} scans/s answered",
        f"latency ms: p50 {p50:.1f}, p95 {p95:.1f}, p99 {p99:.1f}, max {max(lat):.1f}, mean {statistics.mean(lat):.1f}",
        f"statuses {dict(sorted(result['statuses'].items()))}, transport errors {len(result['errors'])}",
        f"stored exactly once: {stored} scans for {len(result['accepted'])} accepted, {duplicates} duplicates, "
        f"{cases} cases",
    ]
    for line in lines:
        print(line)
    ok = errors == 0 and duplicates == 0 and stored == len(result["accepted"]) == cases
    print(f"scan_load: {achieved:.0f} scans/s, p95 {p95:.1f} ms, errors {errors}, exactly-once {'yes' if ok else 'NO'}")
    if args.record:
        command = f".venv/bin/python bench/scan_load.py --rate {args.rate:.0f} --seconds {args.seconds:.0f}"
        section = "\n".join(
            [
                SECTION,
                "",
                f"- Command: `{command}`",
                f"- Machine: {machine}; server: Uvicorn, {args.workers} workers, config.settings.production; "
                "load generator (aiohttp, open loop) on the same machine",
                *[f"- {line}" for line in lines],
                f"- Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
                "",
            ]
        )
        text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
        if SECTION in text:
            head, _, rest = text.partition(SECTION)
            tail = rest.split("\n## ", 1)
            text = head + section + ("\n## " + tail[1] if len(tail) > 1 else "")
        else:
            text = text.rstrip("\n") + "\n\n" + section
        RESULTS.write_text(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
