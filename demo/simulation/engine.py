"""A service day, simulated through the product's own interfaces on a virtual clock.

Drivers report scans and read their instruction feed through the driver API,
recipients text back through the signed Twilio webhook, dispatchers act through
the board API, and every SMS goes out through the Twilio SDK to the fake Twilio
server on 127.0.0.1. Postgres, Redis (cache, throttles, board numbering) and
the routing solver are the real ones.

The clock is virtual (``time_machine``), so a nine-hour day runs in minutes and
one seed gives one day. Because the clock lives in this process, the work the
worker and beat would do runs here too, at the right virtual moments: Celery
tasks run eagerly when published (after their transaction commits, as with a
worker), and beat's sweeps run on beat's own schedule (``CELERY_BEAT_SCHEDULE``).

One event queue orders everything: a driver reaching a stop, a recipient's
reply, a dispatcher finishing a case, a beat tick. After each event the engine
looks at what the product did (texts sent, instructions pushed, cases
escalated) and schedules the people's reactions (``demo.simulation.watching``).
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import logging
import random
import time
import uuid
import zoneinfo
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import time_machine
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.utils import timezone
from rest_framework.test import APIClient
from twilio.request_validator import RequestValidator

from config.celery import app as celery_app
from demo.day.depot import CIRCUITY, DEPOT_CODE, DISPATCHER_USERNAME, LOADING_MINUTES, SPEED_KMH
from demo.day.history import FAILURE_NOTES
from demo.day.seed import demo_day_seed
from demo.fakes.twilio import FakeTwilio
from demo.simulation import behaviour, judging, opening, page, recipients, speech, truth, world
from demo.simulation.recipients import Trail
from demo.simulation.state import DriverState, Options, SimulationError, Tally
from demo.simulation.watching import needs_human, product_seen
from dispatch import roles
from dispatch.geo import haversine_m
from dispatch.models import (
    ApiToken,
    Depot,
    DriverInstruction,
    Order,
    ReasonCode,
    Run,
    ScanEvent,
    Stop,
    User,
)
from dispatch.services.tokens import api_token_issue
from exceptions import workflow
from exceptions.models import ExceptionCase, NoticeSettings
from exceptions.prevention import prevention_settings, risk
from outreach.models import Message

logger = logging.getLogger(__name__)

# The smallest valid PNG: the photo some reason codes require.
PIXEL_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
AUTH_TOKEN = "simulated-auth-token"  # noqa: S105 - the fake Twilio's, never a real account's
ACCOUNT_SID = "AC" + "5" * 32
FROM_NUMBER = "+13125550100"
# After the last driver is done, the desk keeps working until every case is finished, or this late.
DAY_END = dt.time(23, 30)
DRIVER_CUTOFF = dt.time(21, 0)
RETRY_INSTRUCTIONS = frozenset(
    {
        DriverInstruction.Kind.ACCESS_CODE,
        DriverInstruction.Kind.RETRY_NOW,
        DriverInstruction.Kind.WAIT,
        DriverInstruction.Kind.SAFE_DROP,
        DriverInstruction.Kind.NEIGHBOUR,
    }
)


class Simulation:
    def __init__(self, options: Options, *, progress: Callable[[str], None] | None = None) -> None:
        if not 0 < options.exception_rate < 1:
            raise SimulationError("--exception-rate must be between 0 and 1, e.g. 0.1 for one stop in ten.")
        if options.speed < 0:
            raise SimulationError("--speed must be 0 (as fast as possible) or a positive factor, e.g. 60.")
        if options.opening and not options.live:
            raise SimulationError("--opening goes with --live: a measured day has no scripted case.")
        if options.dispatchers < (0 if options.live else 1):
            raise SimulationError("--dispatchers must be at least 1 (0 is allowed with --live).")
        path = options.replies or default_replies()
        if not path.is_file():
            raise SimulationError(f"No replies file at {path}: pass --replies FILE (the replies benchmark's format).")
        self.corpus = speech.Corpus.load(path)
        if not 0 <= options.persistence <= 1:
            raise SimulationError("--persistence must be between 0 and 1, e.g. 0.85.")
        if options.reply_scale <= 0 or not 0 <= options.heads_up <= 1:
            raise SimulationError("--reply-scale must be above 0 and --heads-up between 0 and 1.")
        if not 0 <= options.link_share <= 1:
            raise SimulationError("--link-share must be between 0 and 1, e.g. 0.3.")
        self.rates = behaviour.Rates(heads_up=options.heads_up, link_share=options.link_share).scaled(
            options.reply_scale
        )
        self.trails: dict[str, Trail] = {}
        self.options = options
        self.progress = progress or (lambda text: None)
        self.rng = random.Random(options.seed)  # noqa: S311 - a reproducible day, not a secret
        self.queue: list[tuple[dt.datetime, int, str, Any]] = []
        self.order = itertools.count()
        self.tally = Tally()
        self.drivers: dict[int, DriverState] = {}
        self.message_cursor = 0
        self.in_hand: set[int] = set()  # cases a dispatcher is working on now
        self.free_dispatchers: list[int] = []
        self.dispatcher_clients: list[Client] = []
        self.failure_scale = 0.0
        self.quiet = False
        self.now = dt.datetime.now(dt.UTC)
        # Requests come in under the public host name, as they would through the proxy.
        self.host = urlsplit(settings.PUBLIC_BASE_URL).netloc
        self.started = timezone.now()
        self.twilio: FakeTwilio | None = None
        self.opening: str | None = None  # the order of the opening scene's case

    # --- Running ----------------------------------------------------------------------------------------------

    def run(self) -> Result:
        if self.options.live:
            return self._run_live()
        summary = demo_day_seed(
            stops=self.options.stops,
            drivers=self.options.drivers,
            seed=self.options.seed,
            service_date=self.options.service_date,
        )
        self.depot = Depot.objects.get(code=summary.depot_code)
        self.zone = zoneinfo.ZoneInfo(summary.time_zone)
        self.service_date = summary.service_date
        start = min(
            Run.objects.filter(depot=self.depot, service_date=self.service_date).values_list("shift_start", flat=True)
        )
        self.progress(
            f"seeded {summary.stops} stops over {summary.runs} runs on {summary.service_date}; "
            f"simulating from {start.astimezone(self.zone):%H:%M}"
        )
        with self._product_wired(), time_machine.travel(start, tick=False) as clock:
            self.clock = clock
            self.now = self.started = start
            switch = prevention_settings()
            switch.enabled = self.options.prevention
            switch.save(update_fields=["enabled"])
            # Notices to every stop: the product's defaults, or none.
            rules, on = NoticeSettings(depot=self.depot), self.options.notices
            NoticeSettings.objects.update_or_create(
                depot=self.depot,
                defaults={
                    "out_for_delivery": on and rules.out_for_delivery,
                    "arriving_stops": rules.arriving_stops if on else 0,
                    "delayed_minutes": rules.delayed_minutes if on else 0,
                },
            )
            # The plan arrived: its stops are scored, as a plan import does.
            risk.risk_score_day(depot_id=self.depot.pk, service_date=self.service_date, now=start)
            self._people_ready()
            self._beat_ready(start)
            self._loop()
        return Result(self, started=start, finished=self.now)

    def _run_live(self) -> Result:
        """The demo: today's seeded day, worked now, with the running worker, beat and fake Twilio."""
        depot = Depot.objects.filter(code=DEPOT_CODE).first()
        if depot is None:
            raise SimulationError("No demo depot yet: run `manage.py seed_demo` first, or leave out --live.")
        self.depot = depot
        self.zone = zoneinfo.ZoneInfo(str(depot.time_zone))
        self.now = self.started = start = timezone.now()
        self.service_date = start.astimezone(self.zone).date()
        if not Run.objects.filter(depot=depot, service_date=self.service_date).exists():
            raise SimulationError(f"The demo depot has no runs on {self.service_date}: run `manage.py seed_demo`.")
        self.twilio = None
        self.progress(f"working {self.options.drivers} drivers of today's demo day at {self.options.speed or 1:g}x")
        self._people_ready()
        if self.options.opening:
            opening.opening_schedule(self)
        self._loop()
        return Result(self, started=start, finished=self.now)

    @contextmanager
    def _product_wired(self) -> Iterator[None]:
        """The fake Twilio on 127.0.0.1, its SDK settings, and tasks run when published."""
        celery_app.loader.import_default_modules()  # what a worker loads: every app's tasks
        conf = celery_app.conf
        eager = (conf.task_always_eager, conf.task_eager_propagates)
        with (
            FakeTwilio() as twilio,
            override_settings(
                OUTREACH_SMS_BACKEND="outreach.backends.TwilioBackend",
                EXCEPTIONS_OUTREACH="outreach.adapter.SmsOutreach",
                TWILIO_API_BASE_URL=twilio.url,
                TWILIO_ACCOUNT_SID=ACCOUNT_SID,
                TWILIO_AUTH_TOKEN=AUTH_TOKEN,
                TWILIO_FROM_NUMBER=FROM_NUMBER,
                TWILIO_MESSAGING_SERVICE_SID="",
            ),
        ):
            self.twilio = twilio
            # A worker logs each task it runs; here that would be thousands of beat ticks.
            for name in ("celery.app.trace", "twilio.http_client"):
                logging.getLogger(name).setLevel(logging.WARNING)
            # A driver asking for a code where none is on file is answered 404, as the app expects.
            logging.getLogger("django.request").setLevel(logging.ERROR)
            conf.task_always_eager, conf.task_eager_propagates = True, True
            try:
                yield
            finally:
                conf.task_always_eager, conf.task_eager_propagates = eager

    def _schedule(self, at: dt.datetime, kind: str, data: Any = None) -> None:
        heapq.heappush(self.queue, (at, next(self.order), kind, data))

    def _later(self, seconds: float) -> dt.datetime:
        """When something that takes a person ``seconds`` happens; live, the people move ``speed`` times faster."""
        if self.options.live and self.options.speed:
            seconds /= self.options.speed
        return self.now + dt.timedelta(seconds=seconds)

    def _loop(self) -> None:
        end = dt.datetime.combine(self.service_date, DAY_END, tzinfo=self.zone)
        last_report = self.now
        real_start, sim_start = time.monotonic(), self.now
        while self.queue:
            at, _, kind, data = heapq.heappop(self.queue)
            if self.options.live:
                time.sleep(max(0.0, (at - timezone.now()).total_seconds()))
                self.now = timezone.now()
            else:
                if at > end:
                    break
                if self.options.speed:
                    lag = (at - sim_start).total_seconds() / self.options.speed - (time.monotonic() - real_start)
                    if lag > 0:
                        time.sleep(lag)
                if at > self.now:
                    self.now = at
                    self.clock.move_to(at)
            self.tally.events += 1
            self.quiet = False
            getattr(self, f"_on_{kind}")(data)
            if not self.quiet:
                product_seen(self)
            if self.now - last_report >= dt.timedelta(hours=1) or (self.options.live and self.tally.events % 200 == 0):
                last_report = self.now
                self.progress(f"{self.now.astimezone(self.zone):%H:%M} {self._status_line()}")
            if kind == "beat" and self._day_over():
                break

    def _day_over(self) -> bool:
        if not all(state.done for state in self.drivers.values()):
            return False
        if any(kind in ("reply", "dispatcher_done") for _, _, kind, _ in self.queue):
            return False
        return not ExceptionCase.objects.filter(depot=self.depot, state__in=ExceptionCase.OPEN_STATES).exists()

    def _status_line(self) -> str:
        open_cases = ExceptionCase.objects.filter(depot=self.depot, state__in=ExceptionCase.OPEN_STATES).count()
        working = sum(1 for state in self.drivers.values() if not state.done)
        texts = Message.objects.filter(direction=Message.Direction.OUTBOUND, created_at__gte=self.started).count()
        return f"drivers on the road {working}, open cases {open_cases}, texts {texts}"

    # --- The people -------------------------------------------------------------------------------------------

    def _people_ready(self) -> None:
        runs = list(
            Run.objects.filter(depot=self.depot, service_date=self.service_date)
            .exclude(status__in=(Run.Status.COMPLETED, Run.Status.CANCELLED))
            .select_related("driver__user")
            .order_by("shift_start", "pk")
        )
        if self.options.live:  # the drivers leaving the depot about now
            leave = dt.timedelta(minutes=LOADING_MINUTES)
            runs.sort(key=lambda run: (abs(run.shift_start + leave - self.now), run.pk))
            runs = runs[: self.options.drivers]
        # The city's troubles at each stop's planned arrival set the day's scale (``demo.simulation.truth``).
        stops = list(Stop.objects.filter(run__in=runs).select_related("order__address"))
        odds = []
        for stop in stops:
            local = (stop.planned_arrival or self.now).astimezone(self.zone)
            where = truth.Address(
                building=world.building_key(postal_code=stop.order.address.postal_code, line1=stop.order.address.line1),
                household=world.household_key(
                    postal_code=stop.order.address.postal_code,
                    line1=stop.order.address.line1,
                    unit=stop.order.address.unit,
                ),
                kind=stop.order.address.building_type,
            )
            odds.append(
                truth.first_attempt_odds(
                    where,
                    stop.order.reference,
                    day=local.date(),
                    hour=local.hour + local.minute / 60,
                    persistence=self.options.persistence,
                )
            )
        self.failure_scale = truth.failure_scale(odds, self.options.exception_rate)
        self.photo_reasons = set(ReasonCode.objects.filter(photo_required=True).values_list("code", flat=True))
        depot_at = (self.depot.latitude, self.depot.longitude)
        for run in runs:
            ApiToken.objects.filter(user=run.driver.user, name="simulated phone").delete()
            _, key = api_token_issue(user=run.driver.user, kind=ApiToken.Kind.DRIVER, name="simulated phone")
            client = APIClient(HTTP_HOST=self.host, HTTP_AUTHORIZATION=f"Bearer {key}")
            state = DriverState(driver_id=run.driver_id, run_id=run.pk, client=client, position=depot_at)
            self.drivers[run.driver_id] = state
            state.busy = True
            if self.options.live:  # on the road now, one after another
                self._schedule(self._later(60.0 * len(self.drivers)), "driver", run.driver_id)
            else:
                self._schedule(run.shift_start + dt.timedelta(minutes=LOADING_MINUTES), "driver", run.driver_id)
        group = Group.objects.get(name=roles.DISPATCHERS)
        for index in range(self.options.dispatchers):
            username = DISPATCHER_USERNAME if index == 0 else f"{DISPATCHER_USERNAME}{index + 1}"
            user, _ = User.objects.get_or_create(
                username=username, defaults={"first_name": f"Dispatcher {index + 1}", "is_staff": True}
            )
            user.groups.add(group)
            user.depots.add(self.depot)
            desk = Client(HTTP_HOST=self.host)
            desk.force_login(user)
            self.dispatcher_clients.append(desk)
            self.free_dispatchers.append(index)

    def _beat_ready(self, start: dt.datetime) -> None:
        self.beat: dict[str, float] = {}
        for entry in settings.CELERY_BEAT_SCHEDULE.values():
            name, every = entry["task"], float(entry["schedule"])
            self.beat[name] = every
            self._schedule(start + dt.timedelta(seconds=every), "beat", name)

    def _on_opening(self, driver_id: int) -> None:
        self.opening = opening.opening_play(self, driver_id)

    def _on_beat(self, name: str) -> None:
        result = celery_app.tasks[name].apply().get()
        # A sweep that found nothing due changed nothing: no need to look at the product after it.
        self.quiet = not (any(result.values()) if isinstance(result, dict) else result)
        self._schedule(self.now + dt.timedelta(seconds=self.beat[name]), "beat", name)

    # Drivers

    def _next_stop(self, state: DriverState) -> Stop | None:
        pending = Stop.objects.filter(run_id=state.run_id, status=Stop.Status.PENDING).select_related("order__address")
        retry = pending.filter(pk__in=state.retries).order_by("sequence").first() if state.retries else None
        return retry or pending.order_by("sequence").first()

    def _on_driver(self, driver_id: int) -> None:
        """The driver is free: on to the next stop, or home when there is none."""
        state = self.drivers[driver_id]
        state.busy = False
        cutoff = dt.datetime.combine(self.service_date, DRIVER_CUTOFF, tzinfo=self.zone)
        stop = self._next_stop(state) if self.options.live or self.now < cutoff else None
        if stop is None:
            state.done = True
            return
        address = stop.order.address
        there = (address.latitude, address.longitude)
        metres = haversine_m(state.position[0], state.position[1], there[0], there[1]) * CIRCUITY
        arrive = self._later(max(60.0, metres / (SPEED_KMH / 3.6)))
        if stop.window_start and arrive < stop.window_start and not self.options.live:
            arrive = stop.window_start  # early for a booked window: wait outside
        state.busy, state.done = True, False
        self._schedule(arrive, "arrive", (driver_id, stop.pk))

    def _on_arrive(self, data: tuple[int, int]) -> None:
        driver_id, stop_id = data
        state = self.drivers[driver_id]
        stop = Stop.objects.select_related("order__address", "order__recipient").get(pk=stop_id)
        address = stop.order.address
        state.position = (address.latitude, address.longitude)
        self._ping(state)
        if stop.status != Stop.Status.PENDING:  # moved to another run meanwhile
            self._schedule(self.now, "driver", driver_id)
            return
        retry = stop.pk in state.retries
        state.retries.discard(stop.pk)
        trail = recipients.trail_for(self, stop)
        local = self.now.astimezone(self.zone)
        door = truth.AtTheDoor(
            directions=workflow.DIRECTIONS_NOTE in address.building_notes,
            leave=trail.leave,
            expected=retry and trail.expected,
        )
        trail.expected = False
        failure = truth.attempt(
            trail.address,
            trail.parcel,
            day=local.date(),
            hour=local.hour + local.minute / 60,
            door=door,
            reveal=lambda: self._reveal(state, stop),
            draw=self._attempt_draw(stop),
            scale=self.failure_scale,
            persistence=self.options.persistence,
            notes=lambda reason: self.rng.choice(FAILURE_NOTES.get(reason, ("",))),
        )
        if failure is not None:
            trail.last_failure = failure.reason_code
            self.tally.failures_after_wrong_action += bool(trail.wrong)
        self._scan(state, stop, failure)
        self._schedule(self._later(60.0 * stop.service_minutes), "driver", driver_id)

    def _attempt_draw(self, stop: Stop) -> random.Random:
        """The stream of the order's next attempt (whichever run carries it), the same with prevention on or off."""
        attempt = ScanEvent.objects.filter(stop__order_id=stop.order_id).count()
        return random.Random(f"{self.options.seed}:attempt:{stop.order.reference}:{attempt}")  # noqa: S311

    def _reveal(self, state: DriverState, stop: Stop) -> list[str]:
        """At a shut door the driver asks the app for the codes on file (an audited reveal)."""
        response = state.client.post(f"/api/v1/driver/stops/{stop.pk}/access-code/reveal")
        if response.status_code != 200:
            return []
        return [str(item["code"]) for item in response.json()["codes"]]

    def _ping(self, state: DriverState) -> None:
        """The phone reports where the van is, as the app does on arrival."""
        ping = {"at": self.now.isoformat(), "latitude": state.position[0], "longitude": state.position[1]}
        response = state.client.post("/api/v1/driver/locations", {"pings": [ping]}, format="json")
        if response.status_code >= 300:
            self.tally.api_errors.append(f"location: {response.status_code} {response.content[:200]!r}")

    def _scan(self, state: DriverState, stop: Stop, failure: truth.Failure | None) -> None:
        body: dict[str, Any] = {
            "outcome": "failed" if failure else "delivered",
            "device_time": self.now.isoformat(),
            "latitude": state.position[0],
            "longitude": state.position[1],
        }
        fmt = "json"
        if failure:
            body.update(reason_code=failure.reason_code, notes=failure.note)
            if failure.reason_code in self.photo_reasons:
                body["photo"] = SimpleUploadedFile("closed.png", PIXEL_PNG, content_type="image/png")
                fmt = "multipart"
        response = state.client.post(
            f"/api/v1/driver/stops/{stop.pk}/scans", body, format=fmt, HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
        )
        if response.status_code != 201:
            state.refused.add(stop.pk)
            self.tally.api_errors.append(f"scan {stop.pk}: {response.status_code} {response.content[:200]!r}")
            return
        if failure:
            self.tally.scans_failed += 1
        else:
            self.tally.scans_delivered += 1

    def _instructions_read(self, state: DriverState) -> None:
        response = state.client.get("/api/v1/driver/instructions", {"after": state.cursor})
        if response.status_code != 200:
            self.tally.api_errors.append(f"instructions: {response.status_code}")
            return
        feed = response.json()
        state.cursor = feed["next_cursor"]
        for item in feed["instructions"]:
            state.client.post(f"/api/v1/driver/instructions/{item['id']}/ack")
            ahead = (item.get("payload") or {}).get("prearrival")  # a note for a visit still to come, not a retry
            if not item.get("stop_id"):
                continue
            stop = Stop.objects.select_related("order__address", "order__recipient").get(pk=int(item["stop_id"]))
            trail = recipients.trail_for(self, stop)
            if item["kind"] in (DriverInstruction.Kind.SAFE_DROP, DriverInstruction.Kind.NEIGHBOUR):
                trail.leave = True
            if item["kind"] in (DriverInstruction.Kind.RETRY_NOW, DriverInstruction.Kind.WAIT):
                trail.expected = True
            if item["kind"] in RETRY_INSTRUCTIONS and not ahead:
                state.retries.add(stop.pk)
        if state.done or not state.busy:
            # Home or idle with new work on the run (a stop handed over, a retry): back on the road.
            state.done, state.busy = False, True
            self._schedule(self.now, "driver", state.driver_id)

    # Recipients

    def _on_reply(self, data: tuple[int, str, speech.Said]) -> None:
        case_id, reference, said = data
        trail = self.trails[reference]
        order = Order.objects.get(depot=self.depot, reference=reference)
        before = judging.snapshot(order)
        params = {"MessageSid": f"SM{uuid.uuid4().hex}", "From": trail.phone, "To": FROM_NUMBER, "Body": said.text}
        path = "/outreach/twilio/inbound"
        token = AUTH_TOKEN if self.twilio is not None else settings.TWILIO_AUTH_TOKEN
        signature = RequestValidator(token).compute_signature(settings.PUBLIC_BASE_URL.rstrip("/") + path, params)
        response = Client(HTTP_HOST=self.host).post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)
        if response.status_code != 200:
            self.tally.api_errors.append(f"inbound reply for case {case_id}: {response.status_code}")
        self.tally.replies += 1
        self._judged(trail, order, before, said, case_id)

    def _on_page(self, data: tuple[int, str, behaviour.Intention, str]) -> None:
        """The recipient opens their link and answers there, or in words when the page can't take what they mean."""
        case_id, reference, intention, link = data
        trail = self.trails[reference]
        order = Order.objects.get(depot=self.depot, reference=reference)
        before = judging.snapshot(order)
        phone = Client(HTTP_HOST=self.host)
        path = urlsplit(link).path
        shown = phone.get(path)
        draw = random.Random(f"{self.options.seed}:on-page:{reference}:{trail.pages}")  # noqa: S311
        choice = None
        if shown.status_code == 200:
            suits = recipients.window_suits(self, trail)
            choice = page.choose(shown.content.decode(), intention, rng=draw, suits=suits)
        if choice is None:
            self.tally.page_not_enough += 1
            recipients.reply_later(self, trail, draw, intention, case_id=case_id)
            return
        response = phone.post(path, choice.form)
        if response.status_code != 302:
            self.tally.api_errors.append(f"page {choice.form['choice']} for case {case_id}: {response.status_code}")
            return
        self.tally.page_choices[choice.form["choice"]] += 1
        self.tally.replies_by_intent[intention.intent] += 1
        self._judged(trail, order, before, speech.Said(f"(page) {choice.form['choice']}", choice.meaning), case_id)

    def _judged(self, trail: Trail, order: Order, before: judging.Snapshot, said: speech.Said, case_id: int) -> None:
        """What the product did with an answer, against what the recipient meant."""
        trail.said.append(said)
        verdict = judging.judge(said.meaning, before, judging.snapshot(order))
        meant = {"order": order.reference, "text": said.text, "meant": said.meaning.intent, "case": case_id}
        if verdict.wrong:
            trail.wrong.append(verdict.wrong)
            self.tally.wrong_actions[verdict.wrong] += 1
            self.tally.examples.append({**meant, "wrong": verdict.wrong})
        if said.meaning.intent in judging.REQUESTS:
            self.tally.requests += 1
            if not verdict.heard:
                trail.unheard += 1
                self.tally.unheard[said.meaning.intent] += 1
                self.tally.examples.append({**meant, "unheard": True})

    # Dispatchers

    def _on_dispatcher_done(self, data: tuple[int, int]) -> None:
        index, case_id = data
        case = (
            ExceptionCase.objects.select_related("reason_code", "stop__order__address", "stop__order__recipient")
            .filter(pk=case_id)
            .first()
        )
        if case is not None and case.state in ExceptionCase.OPEN_STATES and needs_human(case):
            trail = recipients.trail_for(self, case.stop)
            local = self.now.astimezone(self.zone)
            key = trail.address.household if trail.address.kind != world.BUSINESS else trail.address.building
            hour = local.hour + local.minute / 60
            if trail.address.kind == world.BUSINESS:
                opens = world.receiving_hours(key)[0]
                in_at: float | None = max(hour + 1, opens) if hour + 1 < world.receiving_hours(key)[1] else None
            else:
                in_at = world.next_home(key, local.date(), hour + 1)
            in_from = None if in_at is None else local.replace(hour=0, minute=0) + dt.timedelta(hours=in_at)
            move = behaviour.dispatcher_move(
                self.rng,
                reason_code=trail.last_failure or case.reason_code.code,
                pending_approval=case.requires_approval and bool(case.pending_outcome),
                local_now=local,
                true_code=world.building_code(trail.address.building, local.date()),
                in_from=in_from,
                order_status=case.stop.order.status,
            )
            client = self.dispatcher_clients[index]
            url = f"/api/v1/board/cases/{case_id}/{move.action}"
            response = client.post(url, {"version": case.version, **move.body}, content_type="application/json")
            if response.status_code == 409:  # the case moved while the dispatcher was on the phone
                self.tally.dispatcher_actions["refused as stale"] += 1
            elif response.status_code >= 400:
                self.tally.api_errors.append(f"dispatcher {move.action} on case {case_id}: {response.status_code}")
            else:
                self.tally.dispatcher_actions[move.action] += 1
        self.in_hand.discard(case_id)
        self.free_dispatchers.append(index)


def default_replies() -> Path:
    """The recipients' words: a labelled corpus written apart from the product's reply rules."""
    return Path(__file__).resolve().parent / "replies.csv"


class Result:
    """The day's figures, from the product's records (see ``demo.simulation.report``)."""

    def __init__(self, simulation: Simulation, *, started: dt.datetime, finished: dt.datetime) -> None:
        from demo.simulation.report import day_figures

        self.figures = day_figures(simulation, started=started, finished=finished)


__all__ = ["Result", "Simulation", "default_replies"]
