"""Seed the demo depot's service day, replacing the previous one. Local demo only."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from demo.day.clock import demo_morning
from demo.day.depot import DEPOT_CODE, DEPOT_TIME_ZONE, MAX_DRIVERS, MAX_STOPS, SHIFT_START, DemoSeedError
from demo.day.seed import demo_day_seed
from dispatch.models import ApiToken, Depot, Driver, User
from dispatch.services.sign_in import sign_in_code_display, sign_in_code_issue
from dispatch.services.tokens import api_token_authenticate, api_token_issue
from exceptions.prevention.risk import risk_score_day

TOKEN_NAME = "demo: your phone"  # noqa: S105 - a token's label, not a secret
# Long enough to read the demo's output and pick up a phone; a dispatcher's code lasts 15 minutes.
DEMO_SIGN_IN_LIFETIME = dt.timedelta(hours=12)


class Command(BaseCommand):
    help = (
        f"Replace the demo depot ({DEPOT_CODE}) with a realistic Chicago service day: drivers, runs, stops, "
        "recipients, access codes and a month of past failures, its stops scored for risk. Prints the demo logins."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--stops", type=int, default=2000, help=f"Stops today, 1 to {MAX_STOPS:,} (default 2000).")
        parser.add_argument(
            "--drivers", type=int, default=40, help=f"Drivers, one run each; 1 to {MAX_DRIVERS} and <= --stops."
        )
        parser.add_argument("--seed", type=int, default=1, help="Same seed, same day (default 1).")
        when = parser.add_mutually_exclusive_group()
        when.add_argument(
            "--date", default=None, help="Service date as YYYY-MM-DD (default: today in the depot's time zone)."
        )
        when.add_argument(
            "--starting-now",
            action="store_true",
            help="A day whose drivers leave the depot now, in a morning: the depot keeps Chicago's streets and takes "
            "the time zone of a place where it is morning now (Chicago's, when it is morning there).",
        )
        parser.add_argument(
            "--driver-token",
            type=Path,
            default=None,
            help="Keep a driver app's token for the last driver in this file: the one in it is reused while it "
            "still works, else a new one is issued, written there and said to be new.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        service_date: dt.date | None = None
        zone, shift_start, morning = DEPOT_TIME_ZONE, SHIFT_START, None
        if options["date"]:
            try:
                service_date = dt.date.fromisoformat(options["date"])
            except ValueError:
                raise CommandError(
                    f"--date must be a date as YYYY-MM-DD, e.g. 2025-06-12 (got {options['date']!r})."
                ) from None
        if options["starting_now"]:
            morning = demo_morning(timezone.now())
            service_date, zone, shift_start = morning.service_date, morning.time_zone, morning.shift_start
        started = time.perf_counter()
        try:
            day = demo_day_seed(
                stops=options["stops"],
                drivers=options["drivers"],
                seed=options["seed"],
                service_date=service_date,
                time_zone=zone,
                shift_start=shift_start,
            )
        except DemoSeedError as exc:
            raise CommandError(str(exc)) from exc
        depot = Depot.objects.get(code=day.depot_code)
        # The plan arrived: its stops are scored, as a plan import does.
        scored = risk_score_day(depot_id=depot.pk, service_date=day.service_date)
        seconds = time.perf_counter() - started

        mix = ", ".join(f"{count:,} {kind.replace('_', '-')}" for kind, count in sorted(day.stops_by_building.items()))
        lines = [
            f"Seeded {day.depot_name} [{day.depot_code}] for {day.service_date:%a %Y-%m-%d} ({day.time_zone}) "
            f"in {seconds:.1f} s, replacing any previous demo day.",
        ]
        if morning is not None:
            lines.append(
                f"  It is {morning.local_now:%H:%M} at the depot ({day.time_zone}): most drivers leave now "
                f"(shifts from {morning.shift_start:%H:%M})."
                + (
                    f" The depot keeps Chicago's streets on {day.time_zone} time: it is {morning.home_now:%H:%M} in "
                    "Chicago, outside its morning, where shifts would be over or texts held by quiet hours."
                    if morning.moved
                    else ""
                )
            )
        lines += [
            f"  {day.drivers} drivers, {day.runs} runs, {day.stops:,} stops ({mix})",
            f"  time windows: {day.timed_window_stops:,} stops with a 2-4 h window or business hours, "
            f"{day.all_day_window_stops:,} all-day; {day.late_runs} runs planned past their shift end",
            f"  access vault: {day.credentials} codes ({day.verified_credentials} verified, "
            f"{day.flagged_credentials} flagged)",
            f"  history: {day.history_addresses} addresses with {day.past_failed_scans} failed scans "
            f"on {day.past_runs} past runs",
            f"  risk: {scored:,} stops scored",
        ]
        if options["driver_token"]:
            lines.append(self._driver_token(options["driver_token"], day.driver_usernames[-1]))
            lines.append(self._sign_in_code(day.driver_usernames[-1]))
        lines += [
            "Demo logins (local demo only):",
            *(f"  {login.username} / {login.password}  ({login.role})" for login in day.logins),
        ]
        self.stdout.write("\n".join(lines))

    def _sign_in_code(self, username: str) -> str:
        """A code that signs the driver app in on a phone as ``username``: once, within the demo's day."""
        driver = Driver.objects.get(user__username=username)
        _, code = sign_in_code_issue(driver=driver, issued_by=None, lifetime=DEMO_SIGN_IN_LIFETIME)
        hours = int(DEMO_SIGN_IN_LIFETIME.total_seconds() // 3600)
        return f"  driver app sign-in code for {username}: {sign_in_code_display(code)} (once, within {hours} hours)"

    def _driver_token(self, path: Path, username: str) -> str:
        """The token kept in ``path`` while it still signs in as ``username``; else a new one, kept there."""
        kept = path.read_text().strip() if path.is_file() else ""
        token = api_token_authenticate(key=kept) if kept else None
        if token is not None and token.user.username == username:
            return f"  driver app token for {username} (kept from the last run): {kept}"
        user = User.objects.get(username=username)
        _, key = api_token_issue(user=user, kind=ApiToken.Kind.DRIVER, name=TOKEN_NAME)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(key + "\n")
        path.chmod(0o600)
        why = "the one kept in " + str(path) + " no longer works" if kept else "none was kept yet"
        return f"  driver app token for {username} (NEW: {why}): {key}"
