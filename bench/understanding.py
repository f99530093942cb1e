"""Time reply understanding on one core: the public reply corpus plus ours, parsed over and over.

    .venv/bin/python bench/understanding.py [--runs 5] [--seconds 1.0]

Each run parses the corpora repeatedly for --seconds and counts replies; the figure is the median
of the runs' replies/s. The process is pinned to one CPU where the OS allows it. No database.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import platform
import statistics
import sys
import time
import zoneinfo
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPORA = (
    ROOT.parent / "shared" / "benchmarks" / "replies" / "public.csv",
    ROOT / "tests" / "outreach" / "replies.csv",
    ROOT / "bench" / "replies" / "blind.csv",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="timed runs (default 5)")
    parser.add_argument("--seconds", type=float, default=1.0, help="length of each run (default 1.0)")
    args = parser.parse_args()
    if args.runs < 1 or args.seconds <= 0:
        parser.error("--runs must be >= 1 and --seconds > 0")

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django

    django.setup()
    from outreach.understanding import reply_understand

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    zone = zoneinfo.ZoneInfo("America/Chicago")
    replies = []
    for path in CORPORA:
        if not path.exists():
            print(f"skipped (not found): {path}")
            continue
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                replies.append((row["reply"], dt.datetime.fromisoformat(row["sent_at"]), row["reason_code"]))
    if not replies:
        parser.error("no corpus found")

    machine = (
        f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), pinned to 1, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )
    print(
        f"reply_understand over {len(replies)} replies ({', '.join(p.name for p in CORPORA if p.exists())}), "
        f"{args.runs} runs of {args.seconds:g} s"
    )
    print(f"machine: {machine}")

    rates = []
    for run in range(1, args.runs + 1):
        parsed = 0
        started = time.perf_counter()
        deadline = started + args.seconds
        while time.perf_counter() < deadline:
            for text, sent_at, reason_code in replies:
                reply_understand(text=text, sent_at=sent_at, time_zone=zone, reason_code=reason_code)
            parsed += len(replies)
        rates.append(parsed / (time.perf_counter() - started))
        print(f"  run {run}: {rates[-1]:,.0f} replies/s")
    median = statistics.median(rates)
    print(f"median: {median:,.0f} replies/s (min {min(rates):,.0f}, max {max(rates):,.0f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
