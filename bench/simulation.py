"""The simulated day over many seeds: the figures' mean and range, how they move with the assumptions, and prevention.

    .venv/bin/python bench/simulation.py [--seeds 10] [--sensitivity-seeds 5] [--stops 400] [--jobs 2] [--record]

Each run is ``manage.py simulate_day`` in its own process, on its own scratch database and Redis prefix (``--jobs``
of them at once). At the sourced defaults (``demo/simulation/behaviour.py``) every seed runs twice, prevention on
and off, so prevention is measured as the difference on the same days. Then each assumption is moved to the ends
of its range, on fewer seeds: reply rates (x0.5, x1.5), persistence (0.5, 0.95), and what an unanswered text ahead
does (heads-up 0.2, with prevention on and off).

Money: a failed attempt costs 17.20 USD (PRODUCT.md's 17-18 USD), an SMS segment 0.0083 USD (Twilio's US price).
Prevention's net per 1,000 parcels is (failed attempts without prevention - with) x 17.20 - the extra SMS cost,
per parcel planned, times 1,000.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.scratch import ensure_database, results_record  # noqa: E402

SECTION = "## A simulated day over ten seeds: `bench/simulation.py`"
FAILED_ATTEMPT_COST = 17.20
DATE = "2026-11-18"  # a Wednesday; the world's schedules follow the weekday


@dataclass(frozen=True)
class Setting:
    name: str
    args: tuple[str, ...]
    seeds: int  # how many seeds (the first N)


def _run(
    args: argparse.Namespace, setting: Setting, seed: int, prevention: bool, slot: int, out: Path
) -> dict[str, Any]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/bench_simulation_{slot}",
        CACHE_KEY_PREFIX=f"benchsim{slot}",
        CHANNEL_LAYER_PREFIX=f"benchsim{slot}:ws",
        DJANGO_SETTINGS_MODULE="config.settings.local",
    )
    directory = out / f"{setting.name}-{seed}-{'on' if prevention else 'off'}".replace(" ", "_")
    command = [
        str(ROOT / ".venv/bin/python"), "manage.py", "simulate_day", "--stops", str(args.stops),
        "--drivers", str(args.drivers), "--seed", str(seed), "--date", DATE, "--out", str(directory),
        *setting.args, *([] if prevention else ["--no-prevention"]),
    ]  # fmt: skip
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)  # noqa: S603
    return json.loads(next(directory.glob("*.json")).read_text())


def _mean_range(values: Sequence[float | None], digits: int = 1) -> str:
    known = [v for v in values if v is not None]
    if not known:
        return "n/a"
    return f"{statistics.mean(known):.{digits}f} ({min(known):.{digits}f}-{max(known):.{digits}f})"


FIGURES: tuple[tuple[str, Callable[[dict[str, Any]], float | None]], ...] = (
    ("Rescued without a dispatcher, %", lambda f: f["rescued_without_dispatcher_share"]),
    ("As the product counts it, %", lambda f: f["rescued_as_the_product_counts_share"]),
    ("No-touch (cases), %", lambda f: f["no_touch_share"]),
    ("Median to outcome, min", lambda f: f["minutes_to_outcome_median"]),
    ("Failed parcels", lambda f: f["failed_parcels"]),
    ("Exceptions", lambda f: f["exceptions"]),
    ("Wrong actions", lambda f: f["wrong_actions"]),
    ("Unanswered requests", lambda f: f["unanswered_requests"]),
    ("First-attempt success, %", lambda f: f["first_attempt_success"]),
    ("Desk's value per 1,000 parcels (analytics), USD", lambda f: _number(f.get("desk_value_per_1000_parcels"))),
)


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _prevention(pairs: list[tuple[dict[str, Any], dict[str, Any]]], stops: int) -> dict[str, str]:
    fewer = [
        100.0 * (off["exceptions"] - on["exceptions"]) / off["exceptions"] for on, off in pairs if off["exceptions"]
    ]
    averted = [off["failed_attempts"] - on["failed_attempts"] for on, off in pairs]
    net = [
        ((off["failed_attempts"] - on["failed_attempts"]) * FAILED_ATTEMPT_COST - (on["sms_cost"] - off["sms_cost"]))
        / stops
        * 1000
        for on, off in pairs
    ]
    return {
        "Exceptions fewer with prevention, %": _mean_range(fewer),
        "Failed attempts averted": _mean_range(averted),
        "Extra SMS per parcel": _mean_range([on["extra_sms_per_stop"] for on, _ in pairs], 2),
        "Net value of prevention per 1,000 parcels, USD": _mean_range(net, 0),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--sensitivity-seeds", type=int, default=5)
    parser.add_argument("--stops", type=int, default=400)
    parser.add_argument("--drivers", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--record", action="store_true", help="write the tables into bench/RESULTS.md")
    args = parser.parse_args()
    if args.seeds < 1 or args.sensitivity_seeds < 1 or args.jobs < 1:
        parser.error("--seeds, --sensitivity-seeds and --jobs must be at least 1")
    for slot in range(args.jobs):
        ensure_database(f"postgres://postgres@127.0.0.1:5432/bench_simulation_{slot}")
        env = dict(os.environ, DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/bench_simulation_{slot}")
        env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
        subprocess.run(  # noqa: S603
            [str(ROOT / ".venv/bin/python"), "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True
        )
    settings = [
        Setting("sourced defaults", (), args.seeds),
        Setting("replies x0.5", ("--reply-scale", "0.5"), args.sensitivity_seeds),
        Setting("replies x1.5", ("--reply-scale", "1.5"), args.sensitivity_seeds),
        Setting("persistence 0.5", ("--persistence", "0.5"), args.sensitivity_seeds),
        Setting("persistence 0.95", ("--persistence", "0.95"), args.sensitivity_seeds),
        Setting("heads-up 0.2", ("--heads-up", "0.2"), args.sensitivity_seeds),
    ]
    jobs = []
    for setting in settings:
        both = setting.name in ("sourced defaults", "heads-up 0.2")
        for seed in range(1, setting.seeds + 1):
            for prevention in (True, False) if both else (True,):
                jobs.append((setting, seed, prevention))
    started = time.perf_counter()
    results: dict[tuple[str, int, bool], dict[str, Any]] = {}
    free = list(range(args.jobs))
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(max_workers=args.jobs) as pool:

        def work(job: tuple[Setting, int, bool]) -> None:
            slot = free.pop()
            try:
                setting, seed, prevention = job
                results[(setting.name, seed, prevention)] = _run(args, setting, seed, prevention, slot, Path(tmp))
                print(f"{setting.name}, seed {seed}, prevention {'on' if prevention else 'off'}: done", flush=True)
            finally:
                free.append(slot)

        list(pool.map(work, jobs))
    minutes = (time.perf_counter() - started) / 60

    header = ["Figure", *[setting.name for setting in settings]]
    rows = []
    for name, figure in FIGURES:
        cells = []
        for setting in settings:
            values = [figure(results[(setting.name, seed, True)]) for seed in range(1, setting.seeds + 1)]
            cells.append(_mean_range(values))
        rows.append([name, *cells])
    table = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    table += ["| " + " | ".join(row) + " |" for row in rows]
    prevention_rows = []
    for setting in settings:
        if setting.name not in ("sourced defaults", "heads-up 0.2"):
            continue
        pairs = [
            (results[(setting.name, s, True)], results[(setting.name, s, False)]) for s in range(1, setting.seeds + 1)
        ]
        for name, value in _prevention(pairs, args.stops).items():
            prevention_rows.append(f"| {setting.name} | {name} | {value} |")
    seeds = f"seeds 1-{args.seeds} at the defaults, 1-{args.sensitivity_seeds} for each other setting"
    print("\n".join(table))
    print("\n".join(prevention_rows))
    if args.record:
        section = "\n".join(
            [
                SECTION,
                "",
                f"- Command: `.venv/bin/python bench/simulation.py --seeds {args.seeds} --sensitivity-seeds "
                f"{args.sensitivity_seeds} --stops {args.stops} --drivers {args.drivers} --jobs {args.jobs} --record` "
                f"({seeds}; service date {DATE}, exception rate 0.10, 3 dispatchers; "
                f"{minutes:.0f} min on this machine).",
                "- Each cell: the mean over the seeds, and the lowest and highest in brackets. Prevention on.",
                "",
                *table,
                "",
                "Prevention: the same seeds with pre-arrival texts on and off.",
                "",
                "| Setting | Figure | Mean (range) |",
                "|---|---|---|",
                *prevention_rows,
            ]
        )
        results_record(heading=SECTION, section=section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
