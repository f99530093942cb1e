"""Simulate a service day of the demo depot through the product and print its outcome figures."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo.day.depot import DEPOT_CODE, MAX_DRIVERS, MAX_STOPS, DemoSeedError
from demo.simulation import report
from demo.simulation.behaviour import LINK_SHARE
from demo.simulation.engine import Simulation, default_replies
from demo.simulation.state import Options, SimulationError


class Command(BaseCommand):
    help = (
        f"Replace the demo depot's day ({DEPOT_CODE}) with a seeded one and simulate it: drivers fail stops, "
        "recipients text back from a reply corpus, dispatchers take the escalated cases. Prints the outcome "
        "figures and writes them as JSON and Markdown."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--stops", type=int, default=2000, help=f"Stops in the day, 1 to {MAX_STOPS:,}.")
        parser.add_argument("--drivers", type=int, default=40, help=f"Drivers, one run each, 1 to {MAX_DRIVERS}.")
        parser.add_argument(
            "--exception-rate",
            type=float,
            default=0.10,
            help="Share of first attempts that would fail with no code on file (default 0.10).",
        )
        parser.add_argument("--seed", type=int, default=1, help="Same seed, same day (default 1).")
        parser.add_argument(
            "--speed",
            type=float,
            default=0.0,
            help="Simulated seconds per real second, e.g. 60; 0 (default) runs as fast as it can.",
        )
        parser.add_argument(
            "--replies",
            type=Path,
            default=None,
            help=f"Reply corpus, in the format of the replies benchmark (default {default_replies()}).",
        )
        parser.add_argument(
            "--live",
            action="store_true",
            help="Work today's seeded demo day now, with the running web, worker, beat and Twilio, instead of "
            "seeding a day and simulating it on a virtual clock. --drivers picks how many drivers; --stops is unused; "
            "--speed makes the people (not the product's timers) that much faster.",
        )
        parser.add_argument(
            "--opening",
            action="store_true",
            help="With --live: begin with one scripted case, so the board has work in its first minute: the first "
            "driver finds nobody home, and the recipient answers 'back at' a time two hours on.",
        )
        parser.add_argument(
            "--no-prevention",
            action="store_true",
            help="Switch pre-arrival texts off for the day, to compare with the same seed with them on.",
        )
        parser.add_argument(
            "--notices",
            action="store_true",
            help="Send the depot's notices to every stop (out for delivery, arriving, delayed), at the product's "
            "default settings; off by default, to compare the same seed with them on and off.",
        )
        parser.add_argument(
            "--dispatchers", type=int, default=3, help="Simulated dispatchers on shift (default 3; 0 with --live)."
        )
        parser.add_argument(
            "--handling-minutes", type=float, default=6.0, help="A dispatcher's mean time per case (default 6)."
        )
        parser.add_argument(
            "--persistence",
            type=float,
            default=0.85,
            help="Chance a stuck door or a place the driver could not find stays so at the next attempt that day "
            "(default 0.85).",
        )
        parser.add_argument(
            "--reply-scale",
            type=float,
            default=1.0,
            help="Every recipient reply rate times this, e.g. 0.5 or 1.5 (default 1: the sourced rates).",
        )
        parser.add_argument(
            "--heads-up",
            type=float,
            default=0.0,
            help="Share of recipients who will be out that a text ahead gets to arrange to be in without answering "
            "(default 0).",
        )
        parser.add_argument(
            "--link-share",
            type=float,
            default=LINK_SHARE,
            help=f"Share of recipients' answers given on the self-service page rather than in words, when the page "
            f"offers what they mean (default {LINK_SHARE:g}; 0: nobody uses the link).",
        )
        parser.add_argument("--date", default=None, help="Service date, YYYY-MM-DD (default: today at the depot).")
        parser.add_argument(
            "--out",
            type=Path,
            default=Path(settings.BASE_DIR) / "var" / "simulation",
            help="Where the JSON and Markdown figures go (default var/simulation/).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        service_date = None
        if options["date"]:
            try:
                service_date = dt.date.fromisoformat(options["date"])
            except ValueError:
                raise CommandError(f"--date must be YYYY-MM-DD, e.g. 2026-06-12 (got {options['date']!r}).") from None
        day = Options(
            stops=options["stops"],
            drivers=options["drivers"],
            exception_rate=options["exception_rate"],
            seed=options["seed"],
            replies=options["replies"],
            dispatchers=options["dispatchers"],
            handling_minutes=options["handling_minutes"],
            service_date=service_date,
            speed=options["speed"],
            live=options["live"],
            prevention=not options["no_prevention"],
            notices=options["notices"],
            opening=options["opening"],
            persistence=options["persistence"],
            reply_scale=options["reply_scale"],
            heads_up=options["heads_up"],
            link_share=options["link_share"],
        )
        started = time.perf_counter()
        try:
            simulation = Simulation(day, progress=lambda line: self.stdout.write(f"  {line}"))
            result = simulation.run()
        except (SimulationError, DemoSeedError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        figures = result.figures
        figures["real_seconds"] = round(time.perf_counter() - started, 1)
        json_path, md_path = report.write(figures, options["out"])
        self.stdout.write("")
        self.stdout.write(report.markdown(figures))
        if figures["api_error_count"]:
            self.stdout.write(f"{figures['api_error_count']} requests were refused; first: {figures['api_errors'][0]}")
        self.stdout.write(f"Figures written to {json_path} and {md_path} ({figures['real_seconds']} s).")
        self.stdout.write(report.last_line(figures))
