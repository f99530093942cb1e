"""Seed the demo depot's service day, replacing the previous one. Local demo only."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dispatch.demo import DEPOT_CODE, MAX_DRIVERS, MAX_STOPS, DemoSeedError, demo_day_seed


class Command(BaseCommand):
    help = (
        f"Replace the demo depot ({DEPOT_CODE}) with a realistic Chicago service day: drivers, runs, stops, "
        "recipients, access codes and a month of past failures. Prints the demo logins."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--stops", type=int, default=2000, help=f"Stops today, 1 to {MAX_STOPS:,} (default 2000).")
        parser.add_argument(
            "--drivers", type=int, default=40, help=f"Drivers, one run each; 1 to {MAX_DRIVERS} and <= --stops."
        )
        parser.add_argument("--seed", type=int, default=1, help="Same seed, same day (default 1).")
        parser.add_argument(
            "--date", default=None, help="Service date as YYYY-MM-DD (default: today in the depot's time zone)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        service_date = None
        if options["date"]:
            try:
                service_date = dt.date.fromisoformat(options["date"])
            except ValueError:
                raise CommandError(
                    f"--date must be a date as YYYY-MM-DD, e.g. 2025-06-12 (got {options['date']!r})."
                ) from None
        started = time.perf_counter()
        try:
            day = demo_day_seed(
                stops=options["stops"], drivers=options["drivers"], seed=options["seed"], service_date=service_date
            )
        except DemoSeedError as exc:
            raise CommandError(str(exc)) from exc
        seconds = time.perf_counter() - started

        mix = ", ".join(f"{count:,} {kind.replace('_', '-')}" for kind, count in sorted(day.stops_by_building.items()))
        lines = [
            f"Seeded {day.depot_name} [{day.depot_code}] for {day.service_date:%a %Y-%m-%d} ({day.time_zone}) "
            f"in {seconds:.1f} s, replacing any previous demo day.",
            f"  {day.drivers} drivers, {day.runs} runs, {day.stops:,} stops ({mix})",
            f"  time windows: {day.timed_window_stops:,} stops with a 2-4 h window or business hours, "
            f"{day.all_day_window_stops:,} all-day; {day.late_runs} runs planned past their shift end",
            f"  access vault: {day.credentials} codes ({day.verified_credentials} verified, "
            f"{day.flagged_credentials} flagged)",
            f"  history: {day.history_addresses} addresses with {day.past_failed_scans} failed scans "
            f"on {day.past_runs} past runs",
            "Demo logins (local demo only):",
            *(f"  {login.username} / {login.password}  ({login.role})" for login in day.logins),
        ]
        self.stdout.write("\n".join(lines))
