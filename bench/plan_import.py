"""Time plan_import on a big day: a fresh 10,000-stop plan, the same plan re-sent, and an updated plan.

    psql -h 127.0.0.1 -U postgres -c 'create database dispatch_planbench'
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/dispatch_planbench
    .venv/bin/python manage.py migrate
    .venv/bin/python bench/plan_import.py --stops 10000 --runs 3 [--record]

It refuses to run without DATABASE_URL, so it never writes into the everyday
database. It creates its own depot ("plan-bench") and drivers, and wipes that
depot's plan data before every fresh import. --record writes the result into
bench/RESULTS.md. ``plan_document`` and ``plan_document_updated`` are plain
Python, so tests build their documents with them too.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import os
import platform
import random
import re
import statistics
import sys
import time
import zoneinfo
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"
SECTION = "## plan_import (10,000-stop plan)"
DEPOT = "plan-bench"
ZONE = "America/Chicago"
AREA_CODES = ("312", "773", "872")


def _at(day: dt.date, minutes: int, zone: zoneinfo.ZoneInfo) -> str:
    return (dt.datetime.combine(day, dt.time(0), tzinfo=zone) + dt.timedelta(minutes=minutes)).isoformat()


def plan_document(
    *,
    depot: str,
    service_date: dt.date,
    drivers: list[str],
    stops: int,
    prefix: str = "B",
    time_zone: str = ZONE,
    seed: int = 1,
) -> dict[str, Any]:
    """A valid plan: ``stops`` stops spread over one run per driver; about 1 recipient in 10 has two orders."""
    rng = random.Random(seed)
    zone = zoneinfo.ZoneInfo(time_zone)
    runs: list[dict[str, Any]] = [
        {
            "external_ref": f"{prefix}-RUN-{index + 1}",
            "driver": username,
            "shift_start": _at(service_date, 8 * 60, zone),
            "shift_end": _at(service_date, 19 * 60, zone),
            "stops": [],
        }
        for index, username in enumerate(drivers)
    ]
    for number in range(stops):
        run = runs[number % len(runs)]
        sequence = len(run["stops"]) + 1
        customer = number - 1 if number % 10 == 1 else number  # every tenth recipient gets a second order
        window_start = 8 * 60 + rng.randrange(0, 8) * 60
        order: dict[str, Any] = {
            "reference": f"{prefix}-{number:06d}",
            "window_start": _at(service_date, window_start, zone),
            "window_end": _at(service_date, window_start + 180, zone),
            "declared_value": f"{rng.randint(5, 900)}.{rng.randint(0, 99):02d}",
            "parcel_count": rng.randint(1, 4),
            "signature_required": rng.random() < 0.1,
            "recipient": {
                "external_id": f"{prefix}-C-{customer:06d}",
                "name": f"Recipient {customer}",
                "phone": f"+1{AREA_CODES[customer % 3]}{200 + customer % 700:03d}{customer % 10_000:04d}",
                "language": "es" if customer % 7 == 0 else "en",
            },
            "address": {
                "external_ref": f"{prefix}-A-{customer:06d}",
                "line1": f"{100 + customer} N Milwaukee Ave",
                "unit": f"{customer % 12 + 1}" if customer % 4 == 0 else "",
                "city": "Chicago",
                "region": "IL",
                "postal_code": f"606{customer % 50:02d}",
                "latitude": round(41.85 + (customer * 7919 % 10_000) / 100_000, 6),
                "longitude": round(-87.75 + (customer * 104_729 % 10_000) / 100_000, 6),
                "building_type": "multi_unit" if customer % 4 == 0 else "house",
            },
        }
        if number % 5 == 0:
            order["access_codes"] = [{"kind": "gate", "code": f"{customer % 10_000:04d}#"}]
        run["stops"].append(
            {
                "sequence": sequence,
                "planned_arrival": _at(service_date, 8 * 60 + sequence * 3, zone),
                "service_minutes": 3,
                "order": order,
            }
        )
    return {"depot": depot, "service_date": service_date.isoformat(), "runs": runs}


def plan_document_updated(document: dict[str, Any], *, prefix: str = "B") -> dict[str, Any]:
    """The planner's second version: a window moved on every 10th order, 1% dropped, 1% added, a run re-sequenced."""
    updated = copy.deepcopy(document)
    total = sum(len(run["stops"]) for run in updated["runs"])
    for run in updated["runs"]:
        for index, stop in enumerate(run["stops"]):
            if index % 10 == 0:
                start = dt.datetime.fromisoformat(stop["order"]["window_start"]) + dt.timedelta(hours=1)
                stop["order"]["window_start"] = start.isoformat()
                stop["order"]["window_end"] = (start + dt.timedelta(hours=3)).isoformat()
        run["stops"] = [stop for index, stop in enumerate(run["stops"]) if index % 100 != 50]
    first = updated["runs"][0]["stops"]
    first.reverse()
    for sequence, stop in enumerate(first, start=1):
        stop["sequence"] = sequence
    last = updated["runs"][-1]["stops"]
    template = last[-1]
    for number in range(max(1, total // 100)):
        stop = copy.deepcopy(template)
        stop["sequence"] = max(other["sequence"] for other in last) + 1
        stop["order"]["reference"] = f"{prefix}-N{number:06d}"
        stop["order"].pop("access_codes", None)
        last.append(stop)
    return updated


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stops", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3, help="timed repetitions of each case (default 3)")
    parser.add_argument("--drivers", type=int, default=40, help="runs in the plan, one per driver (default 40)")
    parser.add_argument(
        "--no-drf", action="store_true", help="skip timing DRF's nested serializers on the same document"
    )
    parser.add_argument("--record", action="store_true", help=f"write the result into {RESULTS.relative_to(ROOT)}")
    args = parser.parse_args()
    if args.runs < 1 or args.stops < 1 or args.drivers < 1:
        parser.error("--runs, --stops and --drivers must be >= 1")
    if not os.environ.get("DATABASE_URL"):
        parser.error(
            "set DATABASE_URL to a scratch database, e.g. postgres://postgres@127.0.0.1:5432/dispatch_planbench"
        )

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django

    django.setup()
    from django.db import connection

    from dispatch.models import AccessCredential, Address, Depot, Driver, Order, Recipient, Run, Stop, User
    from dispatch.services.plans import _e164, plan_import

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        row = cursor.fetchone()
    postgres = row[0] if row else "?"
    machine = (
        f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
        f"Python {platform.python_version()}, PostgreSQL {postgres}, {platform.system()} {platform.release()}"
    )
    print(f"plan_import: {args.stops:,} stops over {args.drivers} runs, {args.runs} repetitions")
    print(f"machine: {machine}")
    print(f"database: {connection.settings_dict['NAME']}")

    depot, _ = Depot.objects.get_or_create(
        code=DEPOT,
        defaults={"name": "Plan benchmark", "time_zone": ZONE, "latitude": 41.88, "longitude": -87.66},
    )
    usernames = [f"plan-bench-{number:02d}" for number in range(1, args.drivers + 1)]
    for username in usernames:
        user, _ = User.objects.get_or_create(username=username)
        Driver.objects.get_or_create(user=user, defaults={"depot": depot})
    service_date = dt.date(2030, 1, 15)
    prefix = "PB"
    first = plan_document(depot=DEPOT, service_date=service_date, drivers=usernames, stops=args.stops, prefix=prefix)
    second = plan_document_updated(first, prefix=prefix)

    def wipe() -> None:
        Stop.objects.filter(run__depot=depot).delete()
        Run.objects.filter(depot=depot).delete()
        Order.objects.filter(depot=depot).delete()
        AccessCredential.objects.filter(address__external_ref__startswith=f"{prefix}-A-").delete()
        Address.objects.filter(external_ref__startswith=f"{prefix}-A-").delete()
        Recipient.objects.filter(external_id__startswith=f"{prefix}-C-").delete()

    timings: dict[str, list[float]] = {"fresh": [], "resend": [], "update": []}
    summaries: dict[str, dict[str, Any]] = {}
    for repetition in range(1, args.runs + 1):
        wipe()
        for case, document in (("fresh", first), ("resend", first), ("update", second)):
            # Cold phone-number cache each time: a re-sent plan may well reach another worker process.
            _e164.cache_clear()
            started = time.perf_counter()
            result = plan_import(document=document)
            timings[case].append(time.perf_counter() - started)
            summaries[case] = result.summary
            print(f"  {repetition}. {case:<6} {timings[case][-1]:6.2f} s  stops {result.summary['stops']}")
    if not args.no_drf:
        # What validating with the API's nested serializers would cost (they check less: no E.164, no database).
        from dispatch.api.plans import PlanImportView
        from dispatch.services.plans import _parse_plan

        timings["drf_validation"], timings["own_validation"] = [], []
        for _ in range(args.runs):
            started = time.perf_counter()
            assert PlanImportView.InputSerializer(data=first).is_valid()
            timings["drf_validation"].append(time.perf_counter() - started)
            _e164.cache_clear()
            started = time.perf_counter()
            _parse_plan(first)
            timings["own_validation"].append(time.perf_counter() - started)
    medians = {case: statistics.median(values) for case, values in timings.items()}
    for case, value in medians.items():
        print(f"median {case}: {value:.2f} s")
    assert summaries["resend"]["stops"]["unchanged"] == args.stops, summaries["resend"]
    wipe()

    if args.record:
        command = (
            "DATABASE_URL=postgres://postgres@127.0.0.1:5432/dispatch_planbench "
            f".venv/bin/python bench/plan_import.py --stops {args.stops} --runs {args.runs}"
            + (f" --drivers {args.drivers}" if args.drivers != 40 else "")
        )
        upd = summaries["update"]["stops"]
        section = "\n".join(
            [
                SECTION,
                "",
                f"- Command: `{command}`",
                f"- Machine: {machine}",
                f"- Plan: {args.stops:,} stops over {args.drivers} runs; {args.stops:,} orders, "
                f"~{args.stops * 9 // 10:,} recipients and addresses, {args.stops // 5:,} access codes "
                "(encrypted); `plan_import` called directly: validation, then one transaction; phone-number cache "
                "cleared before each call. `--runs` is the number of timed repetitions (as in bench/seed.py); the "
                "plan has one run per driver (`--drivers`).",
                f"- Median, first import (everything created): **{medians['fresh']:.2f} s**",
                f"- Median, same plan re-sent (nothing written): **{medians['resend']:.2f} s**",
                f"- Median, updated plan (windows moved on 10% of orders, {upd['cancelled']} stops dropped, "
                f"{upd['created']} added, one run reversed; {upd['updated']} stops updated): "
                f"**{medians['update']:.2f} s**",
                *(
                    [
                        f"- Validation alone: DRF nested serializers (the API's documented shape; no E.164 or "
                        f"database checks) **{medians['drf_validation']:.2f} s** vs the service's own validator "
                        f"(with E.164) **{medians['own_validation']:.2f} s**: why the service validates in plain "
                        "Python."
                    ]
                    if "drf_validation" in medians
                    else []
                ),
                "- All runs (s): "
                + "; ".join(f"{case} {', '.join(f'{t:.2f}' for t in values)}" for case, values in timings.items()),
                f"- Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
                "",
            ]
        )
        text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
        pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
        text = pattern.sub(lambda _: section + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
        RESULTS.write_text(text.rstrip() + "\n")
        print(f"recorded in {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
