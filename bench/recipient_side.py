"""The recipient's side in the simulated day: the self-service link and the notices, each on and off, same seeds.

    .venv/bin/python bench/recipient_side.py [--seeds 6] [--stops 400] [--drivers 10] [--jobs 2] [--record]

Each run is ``manage.py simulate_day`` in its own process and scratch database (``bench/simulation.py``'s runner),
prevention on. The settings: nobody uses the link (``--link-share 0``) or the sourced default does (30 % of answers
given on the page, ``demo/simulation/behaviour.py``), notices off or on (the depot's defaults: out for delivery,
arriving 3 stops ahead, delayed), and the ends of the two assumptions behind them: 60 % of answers on the page, and
a notice read without a reply getting 20 % of those who will be out to arrange to be in (``--heads-up 0.2``; no
published figure, 0 by default).

Money, per 1,000 parcels planned: failed attempts x 17.20 USD (PRODUCT.md), SMS segments x 0.0083 USD (Twilio's US
price, ``demo/simulation/report.py``); "net" is the change in both against no link and no notices, the same seeds.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.scratch import ensure_database, results_record  # noqa: E402
from bench.simulation import FAILED_ATTEMPT_COST, Setting, _mean_range, _run  # noqa: E402

SECTION = "## The recipient's side in the simulated day: `bench/recipient_side.py`"
BASELINE = "no link, no notices"


def _settings(seeds: int) -> list[Setting]:
    return [
        Setting(BASELINE, ("--link-share", "0"), seeds),
        Setting("link", (), seeds),
        Setting("notices", ("--notices", "--link-share", "0"), seeds),
        Setting("link and notices", ("--notices",), seeds),
        Setting("link 60 % and notices", ("--notices", "--link-share", "0.6"), seeds),
        Setting("link and notices, heads-up 0.2", ("--notices", "--heads-up", "0.2"), seeds),
    ]


def _per_1000(value: float, stops: int) -> float:
    return value / stops * 1000


def _figures(day: dict[str, Any], base: dict[str, Any], stops: int) -> dict[str, float | None]:
    failed_cost = day["failed_attempts"] * FAILED_ATTEMPT_COST
    base_cost = base["failed_attempts"] * FAILED_ATTEMPT_COST
    return {
        "Exceptions": day["exceptions"],
        "Failed attempts": day["failed_attempts"],
        "Failed parcels": day["failed_parcels"],
        "First-attempt success, %": day["first_attempt_success"],
        "Rescued without a dispatcher, %": day["rescued_without_dispatcher_share"],
        "Answers given on the page": sum(day["people"]["answers_on_the_page"].values()),
        "Wrong actions": day["wrong_actions"],
        "SMS per parcel": day["sms_segments"] / stops,
        "SMS cost per 1,000 parcels, USD": _per_1000(day["sms_cost"], stops),
        "Failed attempts' cost per 1,000 parcels, USD": _per_1000(failed_cost, stops),
        "Net against no link, no notices, per 1,000 parcels, USD": _per_1000(
            (base_cost - failed_cost) - (day["sms_cost"] - base["sms_cost"]), stops
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--stops", type=int, default=400)
    parser.add_argument("--drivers", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--record", action="store_true", help="write the table into bench/RESULTS.md")
    args = parser.parse_args()
    if args.seeds < 1 or args.jobs < 1:
        parser.error("--seeds and --jobs must be at least 1")
    for slot in range(args.jobs):
        url = f"postgres://postgres@127.0.0.1:5432/bench_simulation_{slot}"
        ensure_database(url)
        env = dict(os.environ, DATABASE_URL=url)
        env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
        manage = [str(ROOT / ".venv/bin/python"), "manage.py", "migrate", "-v0"]
        subprocess.run(manage, cwd=ROOT, env=env, check=True)  # noqa: S603
    settings = _settings(args.seeds)
    jobs = [(setting, seed) for setting in settings for seed in range(1, setting.seeds + 1)]
    started = time.perf_counter()
    results: dict[tuple[str, int], dict[str, Any]] = {}
    free = list(range(args.jobs))
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(max_workers=args.jobs) as pool:

        def work(job: tuple[Setting, int]) -> None:
            slot = free.pop()
            try:
                setting, seed = job
                results[(setting.name, seed)] = _run(args, setting, seed, True, slot, Path(tmp))
                print(f"{setting.name}, seed {seed}: done", flush=True)
            finally:
                free.append(slot)

        list(pool.map(work, jobs))
    minutes = (time.perf_counter() - started) / 60

    per_setting = {
        setting.name: [
            _figures(results[(setting.name, seed)], results[(BASELINE, seed)], args.stops)
            for seed in range(1, args.seeds + 1)
        ]
        for setting in settings
    }
    names = list(next(iter(per_setting.values()))[0])
    header = ["Figure", *[setting.name for setting in settings]]
    table = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name in names:
        digits = 2 if name == "SMS per parcel" else 1
        cells = [_mean_range([day[name] for day in per_setting[s.name]], digits) for s in settings]
        table.append("| " + " | ".join([name, *cells]) + " |")
    print("\n".join(table))
    if args.record:
        section = "\n".join(
            [
                SECTION,
                "",
                f"- Command: `.venv/bin/python bench/recipient_side.py --seeds {args.seeds} --stops {args.stops} "
                f"--drivers {args.drivers} --jobs {args.jobs} --record` (seeds 1-{args.seeds}, each under every "
                f"setting; service date 2026-11-18, exception rate 0.10, prevention on, 3 dispatchers; "
                f"{minutes:.0f} min on this machine).",
                "- Each cell: the mean over the seeds, the lowest and highest in brackets.",
                "",
                *table,
            ]
        )
        results_record(heading=SECTION, section=section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
