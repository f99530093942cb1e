"""`make demo`'s day at any hour: a morning somewhere, texts that go out, same-day slots, risk scored at once.

Each test freezes the clock at a stated instant (night and mid-day in Chicago, both sides of a DST
change) and seeds the day the demo seeds (`seed_demo --starting-now`).
"""

from __future__ import annotations

import datetime as dt
import io
import zoneinfo
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command

from demo.day.clock import HOME_ZONE, MORNING_FROM, MORNING_UNTIL, demo_morning
from demo.day.depot import DEPOT_CODE
from dispatch.models import ApiToken, Depot, Driver, Run, Stop
from dispatch.services.tokens import api_token_authenticate
from exceptions import workflow
from exceptions.models import ExceptionCase, PreArrivalContact, StopRisk
from exceptions.prevention import prearrival_sweep
from outreach.models import Message
from outreach.services import inbound_receive, message_send
from tests.clock import local
from tests.helpers import at, fail

pytestmark = pytest.mark.django_db

CHICAGO = zoneinfo.ZoneInfo(HOME_ZONE)


DEMO_DAY = dt.date(2026, 12, 7)  # a Monday
NIGHT = local(3, day=DEMO_DAY)  # 03:00 in Chicago
MIDDAY = local(13, day=DEMO_DAY)  # past Chicago's morning
MORNING = local(9, 30, day=DEMO_DAY)
# Sunday 8 March 2026: Chicago's clocks jump from 02:00 to 03:00; 1 November 2026 they fall back.
SPRING_FORWARD = dt.datetime(2026, 3, 8, 8, 30, tzinfo=dt.UTC)
FALL_BACK = dt.datetime(2026, 11, 1, 7, 30, tzinfo=dt.UTC)


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", "--stops", "80", "--drivers", "4", "--starting-now", *args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize(
    "now",
    [NIGHT, MIDDAY, MORNING, SPRING_FORWARD, FALL_BACK, *(NIGHT + dt.timedelta(minutes=m) for m in range(0, 1440, 50))],
)
def test_some_zone_is_in_its_morning_at_any_moment(now):
    morning = demo_morning(now)

    local = now.astimezone(zoneinfo.ZoneInfo(morning.time_zone))
    assert MORNING_FROM <= local.time() < MORNING_UNTIL
    assert morning.service_date == local.date()
    leave = dt.datetime.combine(local.date(), morning.shift_start, tzinfo=local.tzinfo) + dt.timedelta(minutes=20)
    assert dt.timedelta(0) <= local - leave < dt.timedelta(minutes=5)


def test_chicago_keeps_its_own_zone_in_its_morning():
    assert demo_morning(MORNING).time_zone == HOME_ZONE
    assert not demo_morning(MORNING).moved
    assert demo_morning(NIGHT).moved


@pytest.mark.parametrize("now", [NIGHT, MIDDAY, MORNING], ids=["3am", "1pm", "9:30am"])
def test_the_day_starts_now_with_its_stops_scored(now):
    with time_machine.travel(now, tick=False):
        out = seed()

        depot = Depot.objects.get(code=DEPOT_CODE)
        local = now.astimezone(depot.time_zone)
        assert MORNING_FROM <= local.time() < MORNING_UNTIL
        runs = Run.objects.filter(depot=depot, service_date=local.date())
        assert runs.count() == 4
        # Most drivers leave the depot now; no shift is over.
        leaving = [
            run for run in runs if abs(run.shift_start + dt.timedelta(minutes=20) - now) < dt.timedelta(minutes=5)
        ]
        assert leaving
        assert all(run.shift_end > now + dt.timedelta(hours=7) for run in runs)
        assert Stop.objects.filter(run__in=runs, planned_arrival__lt=now).count() <= 80 // 10
        # Scored when seeded: Risky stops has rows before the first beat.
        assert StopRisk.objects.filter(stop__run__in=runs).count() == 80
        assert f"It is {local:%H:%M} at the depot ({depot.time_zone})" in out
        assert ("Chicago's streets" in out) == (depot.time_zone != CHICAGO)


def test_at_3am_in_chicago_a_case_texts_the_recipient_and_back_at_finds_a_same_day_slot(
    twilio, eager_tasks, django_capture_on_commit_callbacks
):
    with time_machine.travel(NIGHT, tick=True):
        seed()
        depot = Depot.objects.get(code=DEPOT_CODE)
        zone = depot.time_zone
        today = dt.datetime.now(zone).date()
        run = Run.objects.filter(depot=depot, service_date=today).order_by("shift_start", "pk")[1]
        stop = run.stops.filter(status=Stop.Status.PENDING).order_by("sequence")[0]
        driver = Driver.objects.get(pk=run.driver_id)
        at(driver, stop)

        case = fail(stop, "RECIPIENT_ABSENT")
        workflow.case_triage(case_id=case.pk)
        question = Message.objects.get(conversation__case=case, direction=Message.Direction.OUTBOUND)
        assert question.release_at is None  # no quiet hours: it is morning at the depot
        assert message_send(message_id=question.pk).status == Message.Status.SENT
        assert len(twilio.posts) == 1

        back = (dt.datetime.now(zone) + dt.timedelta(hours=3)).replace(minute=0)
        with django_capture_on_commit_callbacks(execute=True):
            inbound_receive(
                provider_sid="SMdemo1",
                from_phone=str(stop.order.recipient.phone),
                body=f"Not home right now, back at {back:%-I}{back:%p}".lower(),
            )

        case.refresh_from_db()
        assert case.outcome == ExceptionCase.Outcome.RESCHEDULED_SAME_DAY, case.outcome_detail
        stop.refresh_from_db()
        assert stop.status == Stop.Status.PENDING
        assert stop.planned_arrival.astimezone(zone).date() == back.date()


def test_at_3am_in_chicago_prevention_texts_risky_stops_ahead(twilio):
    with time_machine.travel(NIGHT, tick=True):
        seed()

        result = prearrival_sweep()

        assert result["asked"] > 0
        assert PreArrivalContact.objects.filter(status=PreArrivalContact.Status.ASKED).count() == result["asked"]
        assert not Message.objects.filter(release_at__isnull=False).exists()


def test_a_re_seed_keeps_the_tokens_issued_to_the_demo_drivers(tmp_path: Path):
    kept = tmp_path / "driver-token"
    with time_machine.travel(NIGHT, tick=True):
        first = seed("--driver-token", str(kept))
        key = kept.read_text().strip()
        assert f"driver app token for driver04 (NEW: none was kept yet): {key}" in first
        out = io.StringIO()
        call_command("issue_token", "driver01", stdout=out)
        by_hand = out.getvalue().strip()

    with time_machine.travel(MIDDAY, tick=True):
        second = seed("--driver-token", str(kept))

        assert f"driver app token for driver04 (kept from the last run): {key}" in second
        for token_key, username in ((key, "driver04"), (by_hand, "driver01")):
            token = api_token_authenticate(key=token_key)
            assert token is not None
            assert token.user.username == username
            assert token.user.driver.depot.code == DEPOT_CODE

        ApiToken.objects.filter(name="demo: your phone").update(revoked_at=dt.datetime.now(dt.UTC))
        third = seed("--driver-token", str(kept))
        assert f"NEW: the one kept in {kept} no longer works" in third
        assert kept.read_text().strip() != key
