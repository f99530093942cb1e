"""Calls that connect: the board's Call rings the dispatcher's phone, then bridges the recipient, through the real
Twilio SDK against the fake Twilio's Calls API; Twilio's callbacks reach the live server, signed, and say on the
case's timeline how the call went."""

from __future__ import annotations

import logging

import pytest
from django.db import OperationalError, connection, transaction

from dispatch.models import Driver, Recipient, Stop, User
from exceptions.models import CaseEvent, ExceptionCase
from outreach.models import Call
from tests.helpers import DESK_NUMBER, TWILIO_TOKEN, act, case_url, client_for, escalated, signed_in

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("triage_enqueued"),
]

DISPATCHER_PHONE = "+13125550189"
RECIPIENT_PHONE = "+13125550142"


@pytest.fixture
def calling(alice, dave_stop, live_twilio):
    User.objects.filter(pk=alice.pk).update(phone=DISPATCHER_PHONE)
    Recipient.objects.filter(pk=dave_stop.order.recipient_id).update(phone=RECIPIENT_PHONE)
    return escalated(dave_stop)


def timeline(case) -> list[str]:
    return list(CaseEvent.objects.filter(case=case).order_by("id").values_list("summary", flat=True))


def test_call_rings_the_dispatcher_then_bridges_the_recipient_showing_the_company_number_and_says_how_it_went(
    alice, calling, live_twilio, caplog
):
    caplog.set_level(logging.DEBUG)
    board = signed_in(alice)
    assert "phone" in board.get(case_url(calling)).json()["actions"]

    response = act(board, calling, "phone")

    assert response.status_code == 200, response.json()
    (placed,) = live_twilio.calls
    assert (placed["To"], placed["From"]) == (DISPATCHER_PHONE, DESK_NUMBER)
    twiml = placed["Twiml"]
    assert f'callerId="{DESK_NUMBER}"' in twiml
    assert f"<Number>{RECIPIENT_PHONE}</Number>" in twiml
    assert DISPATCHER_PHONE not in twiml  # the recipient sees the company's number, never the dispatcher's
    assert timeline(calling)[-1] == "Calling the recipient: your phone (ending 89) rings first, then theirs"

    assert live_twilio.call_status(placed["Sid"], "in-progress", auth_token=TWILIO_TOKEN) == 204
    assert live_twilio.call_dialed(placed["Sid"], "completed", duration=192, auth_token=TWILIO_TOKEN) == 200
    assert live_twilio.call_status(placed["Sid"], "completed", auth_token=TWILIO_TOKEN) == 204

    call = Call.objects.get()
    assert (call.status, call.recipient_status, call.duration_s, call.placed_by_id) == (
        "completed",
        "completed",
        192,
        alice.pk,
    )
    assert timeline(calling)[-1] == "Call with the recipient: answered, 3 min 12 s"
    # Said once: Twilio's retry of the same callback adds nothing.
    assert live_twilio.call_dialed(placed["Sid"], "completed", duration=192, auth_token=TWILIO_TOKEN) == 200
    assert timeline(calling).count("Call with the recipient: answered, 3 min 12 s") == 1
    for record in caplog.records:
        message = record.getMessage()
        assert DISPATCHER_PHONE not in message
        assert RECIPIENT_PHONE not in message


@pytest.mark.parametrize(
    ("caller", "dialed", "said"),
    [
        ("no-answer", None, "Call to the recipient not connected: your phone was not answered"),
        ("completed", "no-answer", "Call to the recipient: they did not answer"),
        ("completed", "busy", "Call to the recipient: their line was busy"),
    ],
    ids=["dispatcher-missed-it", "recipient-missed-it", "recipient-busy"],
)
def test_a_call_that_did_not_connect_says_whose_side_it_failed_on(alice, calling, live_twilio, caller, dialed, said):
    act(signed_in(alice), calling, "phone")
    (placed,) = live_twilio.calls

    if dialed is not None:
        live_twilio.call_dialed(placed["Sid"], dialed, auth_token=TWILIO_TOKEN)
    live_twilio.call_status(placed["Sid"], caller, auth_token=TWILIO_TOKEN)

    assert timeline(calling)[-1] == said


def test_without_a_phone_of_ones_own_the_board_says_where_to_add_it(alice, calling, live_twilio):
    User.objects.filter(pk=alice.pk).update(phone="")

    response = act(signed_in(alice), calling, "phone")

    assert response.status_code == 400
    assert "Add your phone number to your user" in response.json()["detail"]
    assert live_twilio.calls == []


def test_a_forged_call_callback_is_refused(live_twilio, live_server):
    status = live_twilio.post_to(
        f"{live_server.url}/outreach/twilio/call-status", {"CallSid": "CA1", "CallStatus": "completed"},
        auth_token="not-the-token",
    )  # fmt: skip
    assert status == 403


# --- The driver's app: the masked call to the recipient of an active stop ------------------------------------------


def test_a_driver_calls_the_recipient_of_an_active_stop_and_the_case_timeline_says_how_it_went(
    dave, dave_stop, calling, live_twilio
):
    Driver.objects.filter(pk=dave.pk).update(phone="+13125550123")
    app = client_for(dave.user)

    response = app.post(f"/api/v1/driver/stops/{dave_stop.pk}/call")

    assert (response.status_code, response.json()) == (202, {"calling": True, "ringing": "23"})
    (placed,) = live_twilio.calls
    assert (placed["To"], placed["From"]) == ("+13125550123", DESK_NUMBER)
    assert f"<Number>{RECIPIENT_PHONE}</Number>" in placed["Twiml"]
    live_twilio.call_dialed(placed["Sid"], "completed", duration=40, auth_token=TWILIO_TOKEN)
    assert timeline(calling)[-1] == "Driver's call with the recipient: answered, 40 s"
    assert Call.objects.get().caller == "driver"


def test_a_driver_may_call_only_the_recipient_of_an_active_stop_of_theirs(dave, erin, dave_stop, live_twilio):
    Driver.objects.filter(pk__in=(dave.pk, erin.pk)).update(phone="+13125550123")

    other = client_for(erin.user).post(f"/api/v1/driver/stops/{dave_stop.pk}/call")
    Stop.objects.filter(pk=dave_stop.pk).update(status=Stop.Status.DELIVERED)
    done = client_for(dave.user).post(f"/api/v1/driver/stops/{dave_stop.pk}/call")

    assert (other.status_code, other.json()["code"]) == (404, "stop_not_found")
    assert (done.status_code, done.json()["code"]) == (403, "stop_not_active")
    assert live_twilio.calls == []


def test_a_driver_without_a_number_on_file_is_told_so(dave, dave_stop, live_twilio):
    Driver.objects.filter(pk=dave.pk).update(phone="")

    response = client_for(dave.user).post(f"/api/v1/driver/stops/{dave_stop.pk}/call")

    assert (response.status_code, response.json()["code"]) == (403, "no_phone")
    assert live_twilio.calls == []


def test_the_case_is_not_held_locked_while_twilio_places_the_call(alice, calling, live_twilio):
    """Asking Twilio can take seconds: a reply or a colleague's action on the case meanwhile must not wait for it."""
    locked_meanwhile: list[bool] = []

    def meanwhile() -> None:  # on Twilio's side, before it answers: another connection tries the case's lock
        try:
            with transaction.atomic():
                ExceptionCase.objects.select_for_update(nowait=True).get(pk=calling.pk)
            locked_meanwhile.append(False)
        except OperationalError:
            locked_meanwhile.append(True)
        finally:
            connection.close()

    live_twilio.while_calling = meanwhile
    response = act(signed_in(alice), calling, "phone")

    assert response.status_code == 200, response.json()
    assert locked_meanwhile == [False]
    assert timeline(calling)[-1] == "Calling the recipient: your phone (ending 89) rings first, then theirs"
