"""Pre-arrival outreach: who is asked ahead of the driver, when, once; and where the answers land."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from dispatch.models import AccessCredential, DriverInstruction, Order, Recipient, Stop
from exceptions import prevention
from exceptions.models import PreArrivalContact, PreventionSettings, StopRisk
from outreach.models import Message
from outreach.services import inbound_receive, message_send, message_status_record
from routing.models import PlanVersion, RoutingSettings
from tests.clock import local
from tests.routing.line import place, run_with_stops

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ten_am")]


@pytest.fixture
def day(dave):
    """Dave's run until 20:00: six stops 1-6 km north, planned an hour apart from 10:30, all of them risky."""
    run, stops = run_with_stops(dave, [1, 2, 3, 4, 5, 6], end=(20, 0))
    for number, stop in enumerate(stops):
        Stop.objects.filter(pk=stop.pk).update(planned_arrival=local(10, 30) + dt.timedelta(hours=number))
        StopRisk.objects.create(stop=stop, score=0.6, reasons=[], missing=["access_code"])
    return run, [Stop.objects.get(pk=stop.pk) for stop in stops]


def lead(**fields) -> PreventionSettings:
    settings = prevention.prevention_settings()
    defaults = {"lead": PreventionSettings.Lead.AHEAD, "lead_minutes": 60, "lead_stops": 2, "daily_share": 1.0}
    for name, value in {**defaults, **fields}.items():
        setattr(settings, name, value)
    settings.save()
    return settings


def asked_stops() -> list[int]:
    return sorted(PreArrivalContact.objects.filter(status="asked").values_list("stop_id", flat=True))


def test_only_stops_at_or_above_the_threshold_are_asked(day):
    _run, stops = day
    lead(risk_threshold=0.5, lead_stops=6, lead_minutes=600)
    StopRisk.objects.filter(stop=stops[1]).update(score=0.49)

    assert prevention.prearrival_sweep() == {"asked": 5, "skipped": 0}
    assert stops[1].pk not in asked_stops()


def test_a_stop_is_asked_when_its_arrival_or_its_place_in_the_run_comes_near(day):
    _run, stops = day
    lead(lead_minutes=60, lead_stops=2)

    prevention.prearrival_sweep()
    # 10:30 is within the hour; 11:30 is the second stop to come; 12:30 and later are neither.
    assert asked_stops() == [stops[0].pk, stops[1].pk]

    Stop.objects.filter(pk=stops[0].pk).update(status=Stop.Status.DELIVERED)
    prevention.prearrival_sweep()
    assert asked_stops() == [stops[0].pk, stops[1].pk, stops[2].pk]  # now among the next two

    with time_machine.travel(local(13, 45), tick=False):
        prevention.prearrival_sweep()
    assert stops[4].pk in asked_stops()  # 14:30 is within the hour


def test_the_morning_of_everyone_risky_is_asked_at_the_set_time(day):
    lead(lead=PreventionSettings.Lead.MORNING, morning_at=dt.time(10, 30))

    assert prevention.prearrival_sweep() == {"asked": 0, "skipped": 0}
    with time_machine.travel(local(10, 31), tick=False):
        assert prevention.prearrival_sweep() == {"asked": 5, "skipped": 0}  # the 10:30 stop's arrival has passed


def test_a_stop_gets_one_text_at_most(day):
    _run, stops = day
    lead(lead_stops=1)

    prevention.prearrival_sweep()
    prevention.prearrival_sweep()
    with time_machine.travel(local(10, 20), tick=False):
        prevention.prearrival_sweep()

    assert PreArrivalContact.objects.filter(stop=stops[0]).count() == 1
    assert Message.objects.filter(conversation__stop=stops[0]).count() == 1


def test_it_asks_for_what_is_missing_and_whether_someone_is_in_in_the_recipients_language(day):
    _run, stops = day
    lead(lead_stops=2)
    StopRisk.objects.filter(stop=stops[1]).update(missing=["availability", "safe_place"])
    Recipient.objects.filter(pk=stops[1].order.recipient_id).update(language="es")

    prevention.prearrival_sweep()

    english = Message.objects.get(conversation__stop=stops[0]).body
    spanish = Message.objects.get(conversation__stop=stops[1]).body
    assert "the gate or door code and whether someone will be home between 9:30 and 11:30 am" in english
    assert "where we can leave it" not in english
    assert "si habrá alguien en casa entre las 10:30 a. m. y las 12:30 p. m." in spanish
    assert "dónde podemos dejarlo con seguridad" in spanish
    assert stops[1].order.reference in spanish


def test_opt_outs_and_quiet_hours_are_respected(day):
    _run, stops = day
    lead(lead_stops=2)
    Recipient.objects.filter(pk=stops[0].order.recipient_id).update(opted_out=True)
    Recipient.objects.filter(pk=stops[1].order.recipient_id).update(
        quiet_hours_start=dt.time(9, 0), quiet_hours_end=dt.time(12, 0)
    )

    assert prevention.prearrival_sweep() == {"asked": 0, "skipped": 2}

    reasons = dict(PreArrivalContact.objects.values_list("stop_id", "skip_reason"))
    assert "opted out" in reasons[stops[0].pk]
    assert "quiet hours" in reasons[stops[1].pk]
    assert not Message.objects.exists()


def scored(stops: list[Stop], *scores: float) -> None:
    for stop, score in zip(stops, scores, strict=True):
        StopRisk.objects.filter(stop=stop).update(score=score)


def test_at_most_the_daily_share_is_asked_the_riskiest_of_the_day_first(day):
    _run, stops = day
    scored(stops, 0.6, 0.9, 0.5, 0.8, 0.7, 0.4)
    lead(lead_stops=6, daily_share=0.34)  # two of six

    assert prevention.prearrival_sweep() == {"asked": 2, "skipped": 0}
    assert asked_stops() == [stops[1].pk, stops[3].pk]
    assert prevention.prearrival_sweep() == {"asked": 0, "skipped": 0}  # the day's texts are spent


def test_a_due_stop_outside_the_days_riskiest_share_waits_for_none(day):
    _run, stops = day
    scored(stops, 0.4, 0.9, 0.5, 0.8, 0.7, 0.6)
    lead(lead_stops=2, lead_minutes=5, daily_share=0.5)  # three of six: 0.9, 0.8 and 0.7

    prevention.prearrival_sweep()
    assert asked_stops() == [stops[1].pk]  # stop 0 is due too, but not among the day's three riskiest

    with time_machine.travel(local(13, 0), tick=False):  # stops 0-2 are behind the driver now
        Stop.objects.filter(pk__in=[s.pk for s in stops[:3]]).update(status=Stop.Status.DELIVERED)
        prevention.prearrival_sweep()
    assert asked_stops() == [stops[1].pk, stops[3].pk, stops[4].pk]


def test_a_text_that_was_not_sent_does_not_spend_the_days_share(day):
    _run, stops = day
    scored(stops, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4)
    Recipient.objects.filter(pk=stops[0].order.recipient_id).update(opted_out=True)
    lead(lead_stops=6, daily_share=0.34)

    assert prevention.prearrival_sweep() == {"asked": 1, "skipped": 1}
    assert prevention.prearrival_sweep() == {"asked": 1, "skipped": 0}
    assert asked_stops() == [stops[1].pk, stops[2].pk]


def test_switched_off_nobody_is_asked(day):
    lead(enabled=False, lead_stops=6)
    assert prevention.prearrival_sweep() == {"asked": 0, "skipped": 0}


def _reply(stop: Stop, body: str, sid: str) -> None:
    phone = str(Recipient.objects.get(pk=stop.order.recipient_id).phone)
    inbound_receive(provider_sid=sid, from_phone=phone, body=body)


def test_a_code_sent_ahead_goes_to_the_vault_and_the_drivers_stop(day, dave):
    _run, stops = day
    lead(lead_stops=1)
    prevention.prearrival_sweep()

    _reply(stops[0], "gate code is 4821", "SM-ahead-1")

    credential = AccessCredential.objects.get(address=stops[0].order.address)
    assert credential.secret == "4821"
    instruction = DriverInstruction.objects.get(driver=dave, stop=stops[0], kind=DriverInstruction.Kind.ACCESS_CODE)
    assert "4821" not in instruction.text
    contact = PreArrivalContact.objects.get(stop=stops[0])
    assert (contact.status, contact.learned) == (PreArrivalContact.Status.ANSWERED, {"access_code": True})
    inbound = Message.objects.get(conversation__stop=stops[0], direction="inbound")
    assert "4821" not in inbound.body
    Stop.objects.filter(pk=stops[0].pk, status=Stop.Status.PENDING).get()  # nothing attempted yet
    # Read back to the recipient, the code masked where it is kept.
    read_back = Message.objects.get(conversation__stop=stops[0], template_key="read_back")
    assert read_back.body == "Got it: code ••••. The driver will have it when they come."
    assert read_back.sealed


@pytest.mark.parametrize(
    ("policy", "reaches_the_driver"),
    [({}, True), ({"signature_required": True}, False), ({"safe_drop_allowed": False}, False)],
    ids=["allowed", "needs-a-signature", "sender-forbids"],
)
def test_a_safe_place_given_ahead_reaches_the_driver_only_where_the_sender_allows_it(
    day, dave, policy, reaches_the_driver
):
    _run, stops = day
    Order.objects.filter(pk=stops[0].order_id).update(**policy)
    lead(lead_stops=1)
    prevention.prearrival_sweep()

    _reply(stops[0], "just leave it at the back door", "SM-ahead-safe")

    notes = DriverInstruction.objects.filter(driver=dave, stop=stops[0], kind=DriverInstruction.Kind.NOTE)
    assert notes.exists() == reaches_the_driver
    assert PreArrivalContact.objects.get(stop=stops[0]).learned == {"safe_place": reaches_the_driver}
    read_back = Message.objects.filter(conversation__stop=stops[0], template_key="read_back")
    assert [m.body for m in read_back] == (
        ["Got it: leave it at the back door. The driver will have it when they come."] if reaches_the_driver else []
    )


@pytest.mark.parametrize("missing", [["availability"], ["access_code"]], ids=["asked-availability", "asked-a-code"])
def test_not_home_until_five_moves_the_stop_before_the_attempt(day, dave, django_capture_on_commit_callbacks, missing):
    from config.celery import app

    _run, stops = day
    flat, _ = RoutingSettings.objects.get_or_create(pk=1)
    flat.circuity, flat.speed_profile_kmh = 1.0, [36.0] * 24
    flat.save()
    place(dave, 0.5)
    lead(lead_stops=1)
    StopRisk.objects.filter(stop=stops[0]).update(missing=missing)
    prevention.prearrival_sweep()

    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            _reply(stops[0], "not home until 5", "SM-ahead-2")
    finally:
        app.conf.task_always_eager = False

    assert PreArrivalContact.objects.get(stop=stops[0]).asked == sorted({*missing, "availability"})
    stop = Stop.objects.get(pk=stops[0].pk)
    assert stop.window_start == local(17, 0)
    assert stop.status == Stop.Status.PENDING
    assert stop.planned_arrival >= local(17, 0)
    version = PlanVersion.objects.get(stop=stop)
    assert version.requested_by == "Pre-arrival reply"
    contact = PreArrivalContact.objects.get(stop=stop)
    assert contact.learned["window"]["start"] == local(17, 0).isoformat()
    read_back = Message.objects.get(conversation__stop=stop, template_key="read_back")
    assert read_back.body == "Got it: today from 5 pm. The driver will come then."


def test_a_time_ahead_that_cannot_be_served_is_said_with_the_link_to_choose_another(
    day, dave, django_capture_on_commit_callbacks
):
    from config.celery import app

    _run, stops = day
    lead(lead_stops=1)
    prevention.prearrival_sweep()

    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            _reply(stops[0], "nobody home until 11pm", "SM-ahead-late")  # after the run's end, no later run
    finally:
        app.conf.task_always_eager = False

    stop = Stop.objects.get(pk=stops[0].pk)
    assert stop.window_start is None
    read_back = Message.objects.get(conversation__stop=stop, template_key="read_back")
    assert read_back.body.startswith("Got it: ")
    assert "We couldn't fit the driver in then, so they will come as planned. To choose another time: http" in (
        read_back.body
    )


def test_a_text_ahead_that_never_reaches_the_recipient_counts_as_not_asked(day, twilio):
    _run, stops = day
    lead(lead_stops=3)
    prevention.prearrival_sweep()
    refused, lost, answered = (Message.objects.get(conversation__stop=stop) for stop in stops[:3])
    twilio.answer(400, 201, 201)  # Twilio refuses the first; takes the others
    for message in (refused, lost, answered):
        message_send(message_id=message.pk)
    _reply(stops[2], "gate code is 4821", "SM-ahead-3")
    for message in (lost, answered):  # the carrier drops them after the reply came in
        message.refresh_from_db()
        sid = str(message.provider_sid)
        assert message_status_record(provider_sid=sid, provider_status="undelivered", error_code=30003)

    contacts = {c.stop_id: c for c in PreArrivalContact.objects.all()}
    assert contacts[stops[0].pk].status == PreArrivalContact.Status.SKIPPED
    assert "refused" in contacts[stops[0].pk].skip_reason
    assert contacts[stops[1].pk].status == PreArrivalContact.Status.SKIPPED
    assert contacts[stops[1].pk].skip_reason == "The text to the recipient was not delivered (Twilio error 30003)."
    assert contacts[stops[2].pk].status == PreArrivalContact.Status.ANSWERED  # it reached them: they answered
