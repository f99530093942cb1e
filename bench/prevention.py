"""Prevention: how much of a day's failures texts ahead of the driver could avert, at a budget of texts per stop.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dispatch_averted .venv/bin/python bench/prevention.py [--record]

Seeds the demo day as ``simulate_day`` does (``demo_day_seed``: its stops,
60 days of history and the vault's codes, drawn from the simulator's city),
scores it with the product's risk score at the start of the shift, and then
asks, for every stop, what the city says at its planned arrival: the odds of
each failure (``world.failure_odds``, scaled to the day's exception rate) and
how much of them one text ahead would take away in expectation, given the
simulator's recipients (``behaviour``: one in two answers ahead; what they
answer depends on what was asked; a code opens the door as a working code
does; "I'm in", a time, a safe place or a neighbour the order allows gets the
parcel past nobody home 95 times in 100).

Then, for several budgets (texts per stop), the expected share of first-attempt
failures averted when the texts go to

- the stops the product's risk score ranks highest, asking what it asks
  (``prearrival_asks``: what the score says is missing, and whether someone
  will be in), as the product does without the timing of a real day, and
- the stops the city itself says a text would help most, asking for a code
  and whether someone will be in (a ranking that knows every household's habits and every
  building's door: no product can do better with these recipients).

Only expectations are summed: nothing is drawn, so the figures do not depend
on luck, only on the seed's day.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.scratch import ensure_database, results_record  # noqa: E402

SECTION = "## Prevention: what texts ahead can avert"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/dispatch_averted"
BUDGETS = (0.1, 0.17, 0.2, 0.3, 0.5, 1.0)
ACCESS_REASONS = ("ACCESS_DENIED", "GATE_CLOSED", "WRONG_ACCESS_CODE")
# What a reply must say to get the driver past nobody being home (exceptions.prevention.prearrival_reply_apply).
HOME_ANSWERS = ("RESCHEDULE", "AVAILABLE_NOW")


@dataclass(frozen=True)
class StopOdds:
    failing: float  # expected failures of the first attempt (scaled odds, all reasons)
    absent: float  # of which nobody home
    access: float  # of which getting in, that a working code takes away
    score: float  # the product's risk score
    missing: tuple[str, ...]  # what the product would ask for
    safe_drop: bool
    neighbour: bool


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stops", type=int, default=2000)
    parser.add_argument("--drivers", type=int, default=40)
    parser.add_argument("--seeds", default="1,2,3", help="comma-separated demo seeds (default 1,2,3)")
    parser.add_argument("--exception-rate", type=float, default=0.10, help="as simulate_day's (default 0.10)")
    parser.add_argument("--record", action="store_true", help="write the result into bench/RESULTS.md")
    args = parser.parse_args()
    try:
        seeds = [int(seed) for seed in args.seeds.split(",")]
    except ValueError:
        parser.error(f"--seeds must be whole numbers separated by commas, e.g. 1,2,3 (got {args.seeds!r})")
    url = os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    ensure_database(url)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    lines, tables = [], []
    for seed in seeds:
        stops = _day(seed=seed, stops=args.stops, drivers=args.drivers, rate=args.exception_rate)
        line, averted = _report(seed, stops)
        print(line, flush=True)
        for budget, (ours, best) in averted.items():
            print(f"  {budget:g} texts per stop: product {ours:.1%}, best possible {best:.1%}")
        lines.append(line)
        tables.append(averted)
    if args.record:
        from demo.simulation import behaviour

        header = "| Texts ahead per stop | " + " | ".join(f"Seed {seed}: product / best possible" for seed in seeds)
        rows = [
            f"| {budget:g} | " + " | ".join(f"{t[budget][0]:.1%} / {t[budget][1]:.1%}" for t in tables) + " |"
            for budget in BUDGETS
        ]
        section = "\n".join(
            [
                SECTION,
                "",
                f"- Command: `DATABASE_URL={DEFAULT_URL} .venv/bin/python bench/prevention.py --record` "
                f"(demo day: {args.stops} stops, {args.drivers} drivers, exception rate {args.exception_rate})",
                "- What it is: the expected share of the day's first-attempt failures that one text ahead per "
                "chosen stop averts, summed from the simulator's odds (nothing drawn). **Product**: the stops its "
                "risk score ranks highest, asked what the product asks. **Best possible**: the stops the city "
                "itself says a text helps most, asked for a code and whether someone will be in. Recipients as in "
                f"`demo/simulation/behaviour.py`: {behaviour.PREARRIVAL_REPLY_ODDS:.0%} answer a text ahead.",
                *[f"- {line}" for line in lines],
                "",
                header + " |",
                "|---" * (len(seeds) + 1) + "|",
                *rows,
                "",
                f"- Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
                "",
            ]
        )
        results_record(heading=SECTION, section=section)
        print(f"recorded in {(ROOT / 'bench' / 'RESULTS.md').relative_to(ROOT)}")
    return 0


def _day(*, seed: int, stops: int, drivers: int, rate: float) -> list[StopOdds]:
    """The seeded day's stops, each with the city's odds at its planned arrival and the product's score."""
    import zoneinfo

    from demo.day.seed import demo_day_seed
    from demo.simulation import behaviour, world
    from dispatch.models import AccessCredential, Depot, Run, Stop
    from exceptions import workflow
    from exceptions.models import StopRisk
    from exceptions.prevention.risk import risk_score_day

    summary = demo_day_seed(stops=stops, drivers=drivers, seed=seed)
    depot = Depot.objects.get(code=summary.depot_code)
    zone = zoneinfo.ZoneInfo(summary.time_zone)
    runs = Run.objects.filter(depot=depot, service_date=summary.service_date)
    start = min(runs.values_list("shift_start", flat=True))
    risk_score_day(depot_id=depot.pk, service_date=summary.service_date, now=start)
    day = list(
        Stop.objects.filter(run__depot=depot, run__service_date=summary.service_date).select_related("order__address")
    )
    codes: defaultdict[int, list[AccessCredential]] = defaultdict(list)
    for credential in AccessCredential.objects.filter(address_id__in={s.order.address_id for s in day}):
        codes[credential.address_id].append(credential)
    risks = {r.stop_id: r for r in StopRisk.objects.filter(stop__in=day)}

    raw = []
    for stop in day:
        address = stop.order.address
        at = stop.planned_arrival or start
        site, home = world.address_place(address), world.address_household(address)
        hour = at.astimezone(zone).hour
        directions = workflow.DIRECTIONS_NOTE in address.building_notes
        odds = dict(
            world.failure_odds(
                site, home, hour=hour, code=world.code_state(codes[address.pk], at), directions=directions
            )
        )
        coded = dict(world.failure_odds(site, home, hour=hour, code=world.CODE_WORKING, directions=directions))
        raw.append((stop, odds, coded))
    scale = behaviour.failure_scale([sum(odds.values()) for _, odds, _ in raw], rate)
    result = []
    for stop, odds, coded in raw:
        total = sum(odds.values()) * scale
        factor = scale * (min(1.0, 0.9 / total) if total > 0 else 1.0)  # world.failure_draw's cap
        risk = risks.get(stop.pk)
        result.append(
            StopOdds(
                failing=sum(odds.values()) * factor,
                absent=sum(odds.get(reason, 0.0) for reason in behaviour.ABSENCE_REASONS) * factor,
                access=sum(odds.get(r, 0.0) - coded.get(r, 0.0) for r in ACCESS_REASONS) * factor,
                score=risk.score if risk else 0.0,
                missing=tuple(risk.missing) if risk else (),
                safe_drop=stop.order.safe_drop_allowed,
                neighbour=stop.order.neighbour_allowed,
            )
        )
    return result


def _averted(stop: StopOdds, asks: list[str]) -> float:
    """Expected failures one text asking for ``asks`` averts at this stop, as the simulator's recipients answer.

    Someone who will be out answers about being in, if asked; anyone else the first thing asked
    (``behaviour.prearrival_answered``).
    """
    from demo.simulation import behaviour

    def share(ask: str, intents: set[str]) -> float:
        answers = dict(behaviour.PREARRIVAL_ANSWERS[ask])
        return sum(weight for intent, weight in answers.items() if intent in intents) / sum(answers.values())

    home = {*HOME_ANSWERS, *(["SAFE_DROP"] if stop.safe_drop else []), *(["NEIGHBOR"] if stop.neighbour else [])}
    out = behaviour.prearrival_answered(asks, out=True)
    told = behaviour.prearrival_answered(asks, out=False)
    return behaviour.PREARRIVAL_REPLY_ODDS * (
        stop.absent * share(out, home) * behaviour.RETRY_WORKS_ODDS + stop.access * share(told, {"ACCESS_CODE"})
    )


def _report(seed: int, stops: list[StopOdds]) -> tuple[str, dict[float, tuple[float, float]]]:
    from exceptions.prevention import prearrival_asks

    failing = sum(s.failing for s in stops)
    product = sorted(stops, key=lambda s: -s.score)
    # Asked both, each recipient answers what matters to them: no other question averts more.
    best = sorted((_averted(s, ["access_code", "availability"]) for s in stops), reverse=True)
    shares = {
        "nobody home": sum(s.absent for s in stops) / failing,
        "getting in (a code would help)": sum(s.access for s in stops) / failing,
    }
    averted = {}
    for budget in BUDGETS:
        n = round(budget * len(stops))
        ours = sum(_averted(s, prearrival_asks(list(s.missing))) for s in product[:n]) / failing
        averted[budget] = (ours, sum(best[:n]) / failing)
    above = sum(1 for s in stops if s.score >= 0.3)
    line = (
        f"Seed {seed}: {len(stops)} stops, {failing:.0f} first-attempt failures expected "
        f"({', '.join(f'{name} {share:.0%}' for name, share in shares.items())}; the rest no text ahead helps: "
        f"closed businesses, addresses not found, refusals, damage); {above} stops score 0.3 or more."
    )
    return line, averted


if __name__ == "__main__":
    sys.exit(main())
