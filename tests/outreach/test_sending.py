"""Sending through the real Twilio SDK to a fake Twilio on 127.0.0.1: at most one SMS per key, whatever happens."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from demo.fakes.twilio import OPTED_OUT, STALL
from dispatch.models import Order, Recipient
from exceptions import workflow
from exceptions.models import ExceptionCase, ReplyIntent
from exceptions.workflow import Understanding
from outreach.models import Message
from outreach.services import message_send, quiet_hours_release, send_backoff
from tests.helpers import asked, fail

pytestmark = pytest.mark.usefixtures("triage_enqueued")


def case_of(message: Message) -> ExceptionCase:
    return ExceptionCase.objects.get(conversation=message.conversation)


def test_it_sends_the_question_once_even_when_the_task_runs_twice(dave_stop, twilio):
    message = asked(dave_stop)
    assert message.status == Message.Status.QUEUED
    assert dave_stop.order.reference in message.body
    assert dave_stop.order.address.line1 not in message.body

    assert message_send(message_id=message.pk).status == Message.Status.SENT
    assert message_send(message_id=message.pk).status == "not_claimed"

    assert len(twilio.posts) == 1
    assert twilio.posts[0]["To"] == str(dave_stop.order.recipient.phone)
    message.refresh_from_db()
    assert (message.status, message.provider_sid) == (Message.Status.SENT, twilio.accepted[0]["Sid"])


def test_a_busy_twilio_is_tried_again_and_one_sms_is_accepted(dave_stop, twilio):
    twilio.answer(429)
    message = asked(dave_stop)

    first = message_send(message_id=message.pk)
    assert (first.status, first.retry) == (Message.Status.QUEUED, True)
    message.refresh_from_db()
    assert message.release_at is not None
    assert message_send(message_id=message.pk).status == "not_claimed"  # not before the backoff is over
    assert message_send(message_id=message.pk, now=message.release_at).status == Message.Status.SENT

    assert len(twilio.posts) == 2
    assert len(twilio.accepted) == 1
    message.refresh_from_db()
    assert message.attempts == 2


def test_an_opted_out_number_is_never_retried_and_the_case_escalates(dave_stop, twilio):
    twilio.answer(OPTED_OUT)
    message = asked(dave_stop)

    result = message_send(message_id=message.pk)

    assert (result.status, result.retry) == (Message.Status.FAILED, False)
    message.refresh_from_db()
    assert message.error_code == 21610
    assert Recipient.objects.get(pk=dave_stop.order.recipient_id).opted_out
    assert case_of(message).state == ExceptionCase.State.ESCALATED
    assert message_send(message_id=message.pk).status == "not_claimed"
    assert len(twilio.posts) == 1


def test_a_stalled_twilio_is_not_asked_again(dave_stop, twilio):
    twilio.answer(STALL)
    message = asked(dave_stop)

    assert message_send(message_id=message.pk).status == Message.Status.UNKNOWN
    assert message_send(message_id=message.pk).status == "not_claimed"

    assert len(twilio.posts) == 1
    message.refresh_from_db()
    assert message.status == Message.Status.UNKNOWN
    assert "after the request was sent" in message.error_message


def test_a_broken_twilio_is_given_up_on_after_the_last_attempt(dave_stop, twilio):
    twilio.answer(*[500] * 6)
    message = asked(dave_stop)

    results, now = [], timezone.now()
    for _ in range(6):
        results.append(message_send(message_id=message.pk, now=now))
        message.refresh_from_db()
        now = message.release_at or now  # each try when the one before allows it

    assert [r.retry for r in results] == [True] * 5 + [False]
    assert results[-1].status == Message.Status.FAILED
    assert case_of(message).state == ExceptionCase.State.ESCALATED


def test_an_opted_out_recipient_is_not_asked_and_the_case_escalates(dave_stop, twilio):
    Recipient.objects.filter(pk=dave_stop.order.recipient_id).update(opted_out=True)

    case = fail(dave_stop)
    workflow.case_triage(case_id=case.pk)

    case.refresh_from_db()
    assert case.state == ExceptionCase.State.ESCALATED
    assert "opted out" in case.escalation_reason
    assert not Message.objects.exists()


def test_a_question_in_quiet_hours_waits_until_morning(dave_stop, twilio):
    recipient = dave_stop.order.recipient
    zone = dave_stop.run.depot.time_zone
    late = dt.datetime.combine(timezone.localdate(timezone.now(), zone), dt.time(23, 30), tzinfo=zone)

    release = quiet_hours_release(recipient=recipient, now=late, fallback_zone=zone)

    assert release == dt.datetime.combine(late.date() + dt.timedelta(days=1), dt.time(8, 0), tzinfo=zone)
    assert quiet_hours_release(recipient=recipient, now=late.replace(hour=12), fallback_zone=zone) is None


def test_a_held_message_is_not_sent_before_its_release(dave_stop, twilio):
    message = asked(dave_stop)
    Message.objects.filter(pk=message.pk).update(release_at=timezone.now() + dt.timedelta(hours=1))

    assert message_send(message_id=message.pk).status == "not_claimed"
    assert twilio.posts == []


def test_spanish_speakers_are_asked_in_spanish(dave_stop, twilio):
    Recipient.objects.filter(pk=dave_stop.order.recipient_id).update(language="es")

    message = asked(dave_stop)

    assert message.language == "es"
    assert message.body.startswith("Hola")


@pytest.mark.parametrize(("language", "words"), [("en", "How do we find your door?"), ("es", "encontramos su puerta")])
def test_a_driver_who_cannot_find_the_address_asks_the_way_to_the_door(dave_stop, twilio, language, words):
    Recipient.objects.filter(pk=dave_stop.order.recipient_id).update(language=language)
    case = fail(dave_stop, code="ADDRESS_NOT_FOUND")
    workflow.case_triage(case_id=case.pk)

    message = Message.objects.get(conversation__case=case)

    assert (message.template_key, message.language) == ("ask_directions", language)
    assert words in message.body
    assert dave_stop.order.address.line1 not in message.body


def test_a_drop_the_sender_forbids_is_answered_with_why_and_a_question(dave_stop, twilio):
    Order.objects.filter(pk=dave_stop.order_id).update(signature_required=True)
    case = fail(dave_stop, code="RECIPIENT_ABSENT")
    workflow.case_triage(case_id=case.pk)
    workflow.case_reply_apply(case_id=case.pk, understood=Understanding(intent=ReplyIntent.SAFE_DROP, detail="porch"))

    second = Message.objects.filter(conversation__case=case, direction=Message.Direction.OUTBOUND).order_by("pk")[1]
    assert second.template_key == "ask_window"
    assert "handed to someone" in second.body
    assert "When can we come back?" in second.body


@pytest.mark.parametrize("attempts", [1, 2, 5, 20])
def test_backoff_grows_and_is_capped(attempts):
    assert 0 <= send_backoff(attempts=attempts) <= min(300, 5 * 2 ** (attempts - 1))


def test_the_sweep_releases_held_messages_and_marks_dead_sends_unknown(dave_stop, erin, twilio):
    from outreach.services import messages_sweep
    from tests.factories import StopFactory

    held = asked(dave_stop)
    Message.objects.filter(pk=held.pk).update(release_at=timezone.now() + dt.timedelta(minutes=5))
    dying = asked(StopFactory(run__driver=erin))
    Message.objects.filter(pk=dying.pk).update(
        status=Message.Status.SENDING, claimed_until=timezone.now() - dt.timedelta(seconds=1)
    )

    assert messages_sweep() == ([], 1)
    assert messages_sweep(now=timezone.now() + dt.timedelta(minutes=6)) == ([held.pk], 0)
    dying.refresh_from_db()
    assert dying.status == Message.Status.UNKNOWN
    assert twilio.posts == []


def test_an_unknown_message_is_settled_by_asking_twilio_not_by_sending_blindly(dave_stop, erin, twilio):
    from outreach.reconcile import message_reconcile
    from tests.factories import StopFactory

    twilio.answer(STALL)
    taken = asked(dave_stop)
    assert message_send(message_id=taken.pk).status == Message.Status.UNKNOWN
    lost = asked(StopFactory(run__driver=erin))
    Message.objects.filter(pk=lost.pk).update(status=Message.Status.UNKNOWN)

    assert message_reconcile(message_id=taken.pk) == "not_due"
    later = timezone.now() + dt.timedelta(minutes=3)
    assert message_reconcile(message_id=taken.pk, now=later) == Message.Status.SENT
    # Twilio does not list the other one: it never took it, so it goes out once more, like a refused try.
    assert message_reconcile(message_id=lost.pk, now=later) == Message.Status.QUEUED
    assert message_reconcile(message_id=lost.pk, now=later) == "not_due"
    assert message_send(message_id=lost.pk).status == Message.Status.SENT

    taken.refresh_from_db()
    lost.refresh_from_db()
    assert taken.provider_sid == twilio.accepted[0]["Sid"]
    assert lost.provider_sid == twilio.accepted[1]["Sid"]
    assert case_of(lost).state == ExceptionCase.State.AWAITING_RECIPIENT
    assert len(twilio.posts) == 2


def test_a_message_twilio_never_took_is_given_up_on_after_the_last_attempt(dave_stop, twilio):
    from outreach.reconcile import message_reconcile
    from outreach.services import MAX_SEND_ATTEMPTS

    message = asked(dave_stop)
    Message.objects.filter(pk=message.pk).update(status=Message.Status.UNKNOWN, attempts=MAX_SEND_ATTEMPTS)

    assert message_reconcile(message_id=message.pk, now=timezone.now() + dt.timedelta(minutes=3)) == "failed"

    assert case_of(message).state == ExceptionCase.State.ESCALATED
    assert twilio.posts == []


def test_an_urgent_playbook_texts_even_in_quiet_hours(dave_stop, twilio):
    from exceptions.models import Playbook
    from outreach.services import message_queue

    case = fail(dave_stop)
    zone = dave_stop.run.depot.time_zone
    late = dt.datetime.combine(timezone.localdate(timezone.now(), zone), dt.time(23, 30), tzinfo=zone)
    context = {"first_name": "Ana", "order": "LM-1"}

    held = message_queue(case=case, template_key="ask_window", idempotency_key="a", context=context, now=late)
    urgent = message_queue(
        case=case, template_key="ask_window", idempotency_key="b", context=context, now=late, urgent=True
    )

    assert held.release_at is not None
    assert urgent.release_at is None
    Playbook.objects.filter(reason_code__code="ACCESS_DENIED").update(urgent_outreach=True)
    workflow.case_triage(case_id=case.pk)
    assert Message.objects.get(conversation__case=case, template_key="ask_access_code").urgent
