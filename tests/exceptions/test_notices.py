"""Notices before the driver comes, for every stop: out for delivery, arriving, delayed; each once, with the link to
the recipient's page, honouring opt-out and quiet hours, set per depot, and one text with a risky stop's question."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from dispatch.models import AccessCredential, DriverInstruction, Order, Recipient, Run, Stop
from exceptions import prevention
from exceptions.models import NoticeSettings, PreArrivalContact, PreventionSettings, StopNotice, StopRisk
from outreach.models import Message
from outreach.services import inbound_receive
from tests.clock import local
from tests.routing.line import run_with_stops

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ten_am")]
Kind = StopNotice.Kind
LINK = re.compile(r"https?://\S+/r/[\w-]{16,32}$")


@pytest.fixture
def day(dave):
    """Dave's run today, under way: five stops planned half an hour apart from 10:30, windows to noon."""
    run, stops = run_with_stops(dave, [1, 2, 3, 4, 5], end=(20, 0))
    for number, stop in enumerate(stops):
        Stop.objects.filter(pk=stop.pk).update(planned_arrival=local(10, 30) + dt.timedelta(minutes=30 * number))
        Order.objects.filter(pk=stop.order_id).update(window_start=local(8), window_end=local(14))
    return run, [Stop.objects.get(pk=stop.pk) for stop in stops]


def texts(stop: Stop) -> list[str]:
    outbound = Message.objects.filter(conversation__stop=stop, direction="outbound").order_by("pk")
    return list(outbound.values_list("body", flat=True))


def kinds(stop: Stop) -> dict[str, bool]:
    return dict(StopNotice.objects.filter(stop=stop).values_list("kind", "sent"))


def test_the_next_stops_hear_the_driver_is_near_and_the_rest_that_the_parcel_is_out(day):
    _run, stops = day

    assert prevention.notices_sweep() == {"sent": 5, "skipped": 0}

    first, fourth = texts(stops[0]), texts(stops[3])
    recipient = stops[0].order.recipient
    assert first[0].startswith(
        f"Hi {recipient.first_name}, the driver is 1 stop away with your parcel {stops[0].order.reference}, "
        "arriving today between 10 and 11 am. Not in? Choose what suits you: "
    )
    assert texts(stops[2])[0].startswith(f"Hi {stops[2].order.recipient.first_name}, the driver is 3 stops away")
    assert fourth[0].startswith(
        f"Hi {stops[3].order.recipient.first_name}, your parcel {stops[3].order.reference} is out for delivery and "
        "should arrive today between 11 am and 1 pm."
    )
    assert all(LINK.search(text) for stop in stops for text in texts(stop))
    # The nearest stops' arriving notice says what an out-for-delivery one would: it is not sent as well.
    assert kinds(stops[0]) == {Kind.ARRIVING: True, Kind.OUT_FOR_DELIVERY: False}
    assert kinds(stops[3]) == {Kind.OUT_FOR_DELIVERY: True}


def test_each_notice_goes_once_and_arriving_follows_the_driver(day):
    _run, stops = day
    prevention.notices_sweep()

    assert prevention.notices_sweep() == {"sent": 0, "skipped": 0}
    Stop.objects.filter(pk=stops[0].pk).update(status=Stop.Status.DELIVERED)

    assert prevention.notices_sweep() == {"sent": 1, "skipped": 0}
    assert texts(stops[3])[-1].startswith(f"Hi {stops[3].order.recipient.first_name}, the driver is 3 stops away")
    assert kinds(stops[3]) == {Kind.OUT_FOR_DELIVERY: True, Kind.ARRIVING: True}


def test_out_for_delivery_goes_before_the_shift_and_not_for_another_day(dave):
    _, today = run_with_stops(dave, [1, 2], start=(10, 20), status=Run.Status.PLANNED)
    _, later = run_with_stops(dave, [3], start=(11, 0), status=Run.Status.PLANNED)

    prevention.notices_sweep()

    # 10:00 is within 30 minutes of a 10:20 shift, not of an 11:00 one; the driver is not yet on the road.
    assert [kinds(stop) for stop in today] == [{Kind.OUT_FOR_DELIVERY: True}] * 2
    assert kinds(later[0]) == {}


def test_a_stop_running_late_past_its_window_is_told_once(day):
    _run, stops = day
    settings = NoticeSettings.objects.create(depot=stops[0].run.depot, arriving_stops=0, out_for_delivery=False)
    Stop.objects.filter(pk=stops[4].pk).update(planned_arrival=local(14, 45))

    assert prevention.notices_sweep() == {"sent": 1, "skipped": 0}
    assert texts(stops[4]) == [
        f"Hi {stops[4].order.recipient.first_name}, sorry: your parcel {stops[4].order.reference} is running late "
        "and should now arrive today between 1:45 and 3:45 pm. If that doesn't suit you, choose another time: "
        + LINK.search(texts(stops[4])[0]).group(0)
    ]
    settings.delayed_minutes = 60
    settings.save()
    assert prevention.notices_sweep() == {"sent": 0, "skipped": 0}


def test_a_depot_that_switches_them_off_sends_none(day):
    _run, stops = day
    NoticeSettings.objects.create(depot=stops[0].run.depot, out_for_delivery=False, arriving_stops=0, delayed_minutes=0)

    assert prevention.notices_sweep() == {"sent": 0, "skipped": 0}
    assert not Message.objects.exists()


def test_opted_out_and_quiet_hours_are_honoured_and_say_why(day):
    _run, stops = day
    Recipient.objects.filter(pk=stops[0].order.recipient_id).update(opted_out=True)
    Recipient.objects.filter(pk=stops[1].order.recipient_id).update(
        quiet_hours_start=dt.time(9), quiet_hours_end=dt.time(18)
    )

    assert prevention.notices_sweep() == {"sent": 3, "skipped": 2}
    assert "opted out" in StopNotice.objects.get(stop=stops[0], kind=Kind.ARRIVING).why_not
    assert "quiet hours" in StopNotice.objects.get(stop=stops[1], kind=Kind.ARRIVING).why_not
    assert texts(stops[0]) == texts(stops[1]) == []


def test_a_risky_stops_question_due_now_goes_in_its_notice(day):
    _run, stops = day
    PreventionSettings.objects.update_or_create(
        pk=1, defaults={"lead": PreventionSettings.Lead.AHEAD, "lead_stops": 1, "daily_share": 1.0}
    )
    StopRisk.objects.create(stop=stops[0], score=0.6, reasons=[], missing=["access_code"])

    prevention.notices_sweep()
    assert prevention.prearrival_sweep() == {"asked": 0, "skipped": 0}

    (text,) = texts(stops[0])
    assert "arriving today between 10 and 11 am. To get it to you first time, could you tell us the gate or " in text
    assert "whether someone will be home between 9:30 and 11:30 am? Just reply to this text. Not in?" in text
    assert PreArrivalContact.objects.get(stop=stops[0]).asked == ["access_code", "availability"]
    assert StopNotice.objects.get(stop=stops[0], kind=Kind.ARRIVING).asked == ["access_code", "availability"]


def test_a_reply_to_a_notice_reaches_the_driver(day, dave):
    _run, stops = day
    prevention.notices_sweep()
    phone = str(stops[0].order.recipient.phone)

    inbound_receive(provider_sid="SM-notice-1", from_phone=phone, body="just leave it at the back door")

    note = DriverInstruction.objects.get(driver=dave, stop=stops[0], kind=DriverInstruction.Kind.NOTE)
    assert "back door" in note.text
    contact = PreArrivalContact.objects.get(stop=stops[0])
    assert (contact.status, contact.asked, contact.learned) == ("answered", [], {"safe_place": True})
    assert texts(stops[0])[-1] == "Got it: leave it at the back door. The driver will have it when they come."


def test_a_code_in_answer_to_a_notice_reaches_the_driver_is_read_back_and_is_not_asked_for_again(day, dave):
    _run, stops = day
    prevention.notices_sweep()
    phone = str(stops[0].order.recipient.phone)

    inbound_receive(provider_sid="SM-notice-code", from_phone=phone, body="use 8654 at the lobby door")

    assert AccessCredential.objects.get(address_id=stops[0].order.address_id).secret == "8654"
    assert DriverInstruction.objects.filter(stop=stops[0], kind=DriverInstruction.Kind.ACCESS_CODE).exists()
    assert texts(stops[0])[-1] == "Got it: code ••••. The driver will have it when they come."
    # The risky stop's question would ask what the recipient has just said: it is not sent.
    PreventionSettings.objects.update_or_create(
        pk=1, defaults={"lead": PreventionSettings.Lead.AHEAD, "lead_stops": 1, "daily_share": 1.0}
    )
    StopRisk.objects.create(stop=stops[0], score=0.6, reasons=[], missing=["access_code"])
    assert prevention.prearrival_sweep() == {"asked": 0, "skipped": 0}


def test_a_spanish_speaker_is_told_in_spanish(day):
    _run, stops = day
    Recipient.objects.filter(pk=stops[0].order.recipient_id).update(language="es")

    prevention.notices_sweep()

    assert texts(stops[0])[0].startswith(
        f"Hola {stops[0].order.recipient.first_name}, el repartidor está a 1 parada con su paquete "
        f"{stops[0].order.reference} y llegará hoy entre las 10 y las 11 a. m."
    )
