"""Time `manage.py seed_demo` at demo size: 2,000 stops, 40 drivers, each run replacing the last.

    createdb: psql -h 127.0.0.1 -U postgres -c 'create database dispatch_seedbench'
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/dispatch_seedbench
    .venv/bin/python manage.py migrate
    .venv/bin/python bench/seed.py --runs 5 [--record]

It refuses to run without DATABASE_URL, so it never replaces the demo in the
everyday database by accident. --record writes the result into bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import platform
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"
SECTION = "## seed_demo (2,000 stops, 40 drivers)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="timed runs (default 5)")
    parser.add_argument("--stops", type=int, default=2000)
    parser.add_argument("--drivers", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--record", action="store_true", help=f"write the result into {RESULTS.relative_to(ROOT)}")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be >= 1")
    if not os.environ.get("DATABASE_URL"):
        parser.error(
            "set DATABASE_URL to a scratch database, e.g. postgres://postgres@127.0.0.1:5432/dispatch_seedbench"
        )

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    machine = (
        f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
        f"Python {platform.python_version()}, PostgreSQL {postgres}, {platform.system()} {platform.release()}"
    )
    command = (
        f".venv/bin/python bench/seed.py --runs {args.runs}"
        + (f" --stops {args.stops}" if args.stops != 2000 else "")
        + (f" --drivers {args.drivers}" if args.drivers != 40 else "")
    )
    print(f"seed_demo --stops {args.stops} --drivers {args.drivers} --seed {args.seed}, {args.runs} runs")
    print(f"machine: {machine}")
    print(f"database: {connection.settings_dict['NAME']}")

    times = []
    for run in range(1, args.runs + 1):
        started = time.perf_counter()
        call_command("seed_demo", stops=args.stops, drivers=args.drivers, seed=args.seed, stdout=io.StringIO())
        times.append(time.perf_counter() - started)
        print(f"  run {run}: {times[-1]:.2f} s")
    median = statistics.median(times)
    print(f"median: {median:.2f} s (min {min(times):.2f}, max {max(times):.2f})")

    if args.record:
        section = "\n".join(
            [
                SECTION,
                "",
                f"- Command: `DATABASE_URL=postgres://postgres@127.0.0.1:5432/dispatch_seedbench {command}`",
                f"- Machine: {machine}",
                f"- Median: **{median:.2f} s** for {args.stops:,} stops / {args.drivers} drivers "
                "(each run replaces the previous demo day)",
                f"- All runs (s): {', '.join(f'{t:.2f}' for t in times)}",
                "- Each run: delete the previous demo day, plan in memory, bulk-insert ~10k rows in one transaction, "
                "hash three demo passwords (PBKDF2, in parallel threads), then score every stop for risk "
                "(as a plan import does, so Risky stops is full at once).",
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
