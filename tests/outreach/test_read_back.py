"""What the desk acts on is read back, an unsure reading is confirmed once first, and a correction supersedes.

End to end over the signed Twilio webhook: replies come in as Twilio posts them, and every text the desk
writes goes through the real Twilio SDK to the fake Twilio, whose log is what the recipient read.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import pytest

from dispatch.models import DriverInstruction, Order, PickupPoint
from dispatch.services.vault import access_code_reveal
from exceptions.models import CaseEvent, ExceptionCase
from outreach.models import Message, MessageTemplate
from outreach.readback import when_words
from routing.adapter import case_slot_find
from tests.clock import CHICAGO, TODAY, local
from tests.helpers import at, fail, instructions, reload, sms_reply, texts_sent, triaged

pytestmark = pytest.mark.usefixtures("triage_enqueued", "signed")

State = ExceptionCase.State
THURSDAY, FRIDAY = TODAY + dt.timedelta(days=1), TODAY + dt.timedelta(days=2)


@pytest.fixture
def texted(twilio, dave, dave_stop) -> ExceptionCase:
    """Dave, at the stop, could not get in; the recipient was texted (through the SDK to the fake Twilio)."""
    at(dave, dave_stop)
    case = triaged(fail(dave_stop))
    assert texts_sent(twilio)  # the question went out
    return case


def _stored(case: ExceptionCase, key: str) -> list[str]:
    return list(
        Message.objects.filter(conversation__case=case, template_key=key)
        .order_by("created_at", "pk")
        .values_list("body", flat=True)
    )


def _nowhere_in_plaintext(code: str, case: ExceptionCase, caplog: Any) -> None:
    # The order's random reference may hold the same digits ("LM-88244" and 8824): it is not the code.
    def holds(text: str) -> bool:
        return code in text.replace(case.order.reference, "")

    assert not [body for body in Message.objects.values_list("body", flat=True) if holds(body)]
    for event in CaseEvent.objects.filter(case=case):
        assert not holds(event.summary)
        assert not holds(json.dumps(event.payload))
    assert not [record for record in caplog.records if holds(record.getMessage()) or holds(repr(record.args))]


# --- Read back, and corrected -------------------------------------------------------------------------------------


def test_it_reads_back_a_code_and_a_correction_replaces_it(client, twilio, texted, dave, dave_stop, caplog):
    caplog.set_level(logging.DEBUG)

    case = sms_reply(client, texted, "gate code is 4417")

    assert (case.state, case.pending_outcome) == (State.RESOLVING, ExceptionCase.Outcome.ACCESS_CODE_PROVIDED)
    assert texts_sent(twilio)[-1] == "Got it: code 4417. The driver will be back to try again."
    assert _stored(case, MessageTemplate.Key.READ_BACK) == ["Got it: code ••••. The driver will be back to try again."]

    case = sms_reply(client, case, "no, it's 8824")

    assert (case.state, case.pending_outcome) == (State.RESOLVING, ExceptionCase.Outcome.ACCESS_CODE_PROVIDED)
    revealed = access_code_reveal(user=dave.user, stop_id=dave_stop.pk)
    assert [credential.secret for credential in revealed.credentials] == ["8824"]
    assert [i.kind for i in instructions(dave_stop)] == [DriverInstruction.Kind.ACCESS_CODE] * 2
    assert texts_sent(twilio)[-1] == "Got it: code 8824. The driver will be back to try again."
    assert CaseEvent.objects.filter(case=case, summary__startswith="Superseded").count() == 1
    for code in ("4417", "8824"):
        _nowhere_in_plaintext(code, case, caplog)


def test_the_same_code_again_is_a_twin_and_changes_nothing(client, twilio, texted, dave_stop):
    sms_reply(client, texted, "gate code is 4417")
    texts_sent(twilio)

    case = sms_reply(client, texted, "the code is 4417")

    assert len(instructions(dave_stop)) == 1
    assert len(_stored(case, MessageTemplate.Key.READ_BACK)) == 1


def test_a_new_day_supersedes_the_time_routing_is_still_placing(client, twilio, dave, dave_stop):
    at(dave, dave_stop)
    case = triaged(fail(dave_stop, code="RECIPIENT_ABSENT"))
    texts_sent(twilio)

    case = sms_reply(client, case, "tomorrow between 3 and 5")
    assert texts_sent(twilio)[-1] == "Got it: tomorrow (Thu 19 Nov) between 3 and 5 pm. We'll text you the time."

    case = sms_reply(client, case, "not tomorrow, friday")

    assert case.state == State.RESOLVING
    assert texts_sent(twilio)[-1] == "Got it: Friday 20 Nov. We'll text you the time."
    # Routing's answer for the older time comes after: it is not the case's any more, and changes nothing.
    assert (
        case_slot_find(case_id=case.pk, window_start=local(15, day=THURSDAY), window_end=local(17, day=THURSDAY))
        is None
    )
    assert reload(case).state == State.RESOLVING
    case_slot_find(
        case_id=case.pk,
        window_start=dt.datetime.fromisoformat(case.outcome_detail["window_start"]),
        window_end=dt.datetime.fromisoformat(case.outcome_detail["window_end"]),
    )
    case = reload(case)
    assert (case.state, case.outcome) == (State.RESOLVED, ExceptionCase.Outcome.RESCHEDULED_LATER)
    assert case.outcome_detail["planned_day"] == FRIDAY.isoformat()
    order = Order.objects.get(pk=case.order_id)
    assert order.window_start is not None
    assert order.window_start.astimezone(CHICAGO).date() == FRIDAY


def test_not_today_after_a_reschedule_resolved_re_slots_to_the_new_day(client, twilio, dave, dave_stop):
    at(dave, dave_stop)
    case = triaged(fail(dave_stop, code="RECIPIENT_ABSENT"))
    texts_sent(twilio)
    case = sms_reply(client, case, "back at 3pm")
    case_slot_find(case_id=case.pk, window_start=local(15), window_end=None)
    assert (reload(case).state, reload(case).outcome) == (State.RESOLVED, ExceptionCase.Outcome.RESCHEDULED_SAME_DAY)

    case = sms_reply(client, case, "not today, tomorrow")

    assert (case.state, case.pending_outcome) == (State.RESOLVING, ExceptionCase.Outcome.RESCHEDULED_LATER)
    assert dt.datetime.fromisoformat(case.outcome_detail["window_start"]).astimezone(CHICAGO).date() == THURSDAY
    assert texts_sent(twilio)[-1].startswith("Got it: tomorrow (Thu 19 Nov)")


def test_a_pickup_point_is_named_in_the_one_text_that_ends_the_case(client, twilio, texted, dave_stop):
    depot = dave_stop.run.depot
    PickupPoint.objects.create(depot=depot, name="Walgreens", address="1550 N Ashland Ave", opens=dt.time(9))
    locker = PickupPoint.objects.create(
        depot=depot, name="Parcel locker", address="200 W Adams St", opens=dt.time(7), closes=dt.time(22)
    )
    sent_before = len(texts_sent(twilio))

    case = sms_reply(client, texted, "I'll pick it up at the parcel locker")

    assert (case.state, case.outcome) == (State.RESOLVED, ExceptionCase.Outcome.PICKUP_POINT)
    assert case.outcome_detail["pickup_point_id"] == locker.pk
    first_name, order = case.order.recipient.first_name, case.order.reference
    assert texts_sent(twilio)[sent_before:] == [
        f"Hi {first_name}, your parcel {order} is going to Parcel locker, 200 W Adams St "
        "(open every day, 7 am-10 pm), where you can collect it."
    ]


# --- Confirmed once before the irreversible -----------------------------------------------------------------------


def test_an_unsure_code_is_asked_about_and_acted_on_once_confirmed(client, twilio, texted, dave_stop, caplog):
    caplog.set_level(logging.DEBUG)

    case = sms_reply(client, texted, "four four one seven")

    assert case.state == State.AWAITING_RECIPIENT
    assert instructions(dave_stop) == []
    assert texts_sent(twilio)[-1] == "Just to check: is the code 4417? Reply OK if so, or send the right one."
    assert _stored(case, MessageTemplate.Key.CONFIRM_CODE) == [
        "Just to check: is the code ••••? Reply OK if so, or send the right one."
    ]
    asked = CaseEvent.objects.get(case=case, summary__startswith="Asked the recipient to confirm")
    assert "in words" in asked.summary

    case = sms_reply(client, case, "ok")

    assert (case.state, case.pending_outcome) == (State.RESOLVING, ExceptionCase.Outcome.ACCESS_CODE_PROVIDED)
    assert [i.kind for i in instructions(dave_stop)] == [DriverInstruction.Kind.ACCESS_CODE]
    assert texts_sent(twilio)[-1] == "Got it: code 4417. The driver will be back to try again."
    _nowhere_in_plaintext("4417", case, caplog)


def test_a_no_to_the_question_goes_to_a_dispatcher(client, twilio, texted, dave_stop):
    sms_reply(client, texted, "four four one seven")

    case = sms_reply(client, texted, "no")

    assert case.state == State.ESCALATED
    assert "did not confirm" in case.escalation_reason
    assert "••••" in case.escalation_reason
    assert instructions(dave_stop) == []


def test_a_second_unsure_reading_goes_to_a_dispatcher(client, twilio, texted, dave_stop):
    sms_reply(client, texted, "four four one seven")

    case = sms_reply(client, texted, "five five two one")

    assert case.state == State.ESCALATED
    assert instructions(dave_stop) == []
    assert len(_stored(case, MessageTemplate.Key.CONFIRM_CODE)) == 1


def test_a_spanish_recipient_is_asked_and_read_back_in_spanish(client, twilio, dave, dave_stop):
    recipient = dave_stop.order.recipient
    recipient.language = "es"
    recipient.save(update_fields=["language"])
    at(dave, dave_stop)
    case = triaged(fail(dave_stop))
    texts_sent(twilio)

    case = sms_reply(client, case, "four four one seven")
    assert texts_sent(twilio)[-1] == ("Para confirmar: ¿el código es 4417? Responda OK si es así, o envíe el correcto.")

    case = sms_reply(client, case, "si")

    assert case.state == State.RESOLVING
    assert texts_sent(twilio)[-1] == "Entendido: código 4417. El repartidor volverá a intentarlo."


def test_an_unsure_drop_off_is_asked_about_and_left_there_once_confirmed(client, twilio, texted, dave_stop):
    Order.objects.filter(pk=dave_stop.order_id).update(safe_drop_allowed=True, signature_required=False)

    # A place named, but nothing says to leave it there: asked before the parcel is left unattended.
    case = sms_reply(client, texted, "back porch")

    assert case.state == State.AWAITING_RECIPIENT
    assert instructions(dave_stop) == []
    assert texts_sent(twilio)[-1] == "Just to check: leave it at the back porch? Reply OK if so, or tell us where."
    asked = CaseEvent.objects.get(case=case, summary__startswith="Asked the recipient to confirm")
    assert "nothing says to leave it there" in asked.summary

    case = sms_reply(client, case, "yes thats right")

    assert (case.state, case.pending_outcome) == (State.RESOLVING, ExceptionCase.Outcome.SAFE_DROP)
    assert [i.kind for i in instructions(dave_stop)] == [DriverInstruction.Kind.SAFE_DROP]
    assert instructions(dave_stop)[0].text == "Safe drop approved: back porch. Leave it there and take a photo."
    assert texts_sent(twilio)[-1].startswith("Got it: leave it at the back porch.")


@pytest.mark.parametrize(
    ("language", "start", "end", "words"),
    [
        ("en", local(15, day=THURSDAY), local(17, day=THURSDAY), "tomorrow (Thu 19 Nov) between 3 and 5 pm"),
        ("es", local(15, day=THURSDAY), local(17, day=THURSDAY), "mañana (jue 19 nov) entre las 3 y las 5 p. m."),
        ("en", local(8, day=FRIDAY), local(20, day=FRIDAY), "Friday 20 Nov"),
        ("es", local(8, day=FRIDAY), local(20, day=FRIDAY), "el viernes 20 nov"),
        ("es", local(10, 30), None, "hoy desde las 10:30 a. m."),
    ],
)
def test_a_window_is_named_in_the_recipients_language_and_zone(language, start, end, words):
    assert when_words(start=start, end=end, now=local(10), zone=CHICAGO, language=language) == words
