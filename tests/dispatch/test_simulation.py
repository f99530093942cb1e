"""``manage.py simulate_day``: a whole small day through the product, and the people's behaviour models."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from demo.simulation import speech
from dispatch.models import Order, Stop
from exceptions.models import ExceptionCase, PreArrivalContact, StopNotice
from outreach.models import Message

CORPUS = Path(__file__).resolve().parents[2] / "demo" / "simulation" / "replies.csv"
DAY = dt.date(2026, 11, 18)  # a Wednesday


# --- A day ------------------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_small_day_ends_with_every_case_finished_and_no_text_sent_twice(tmp_path):
    out = StringIO()
    call_command(
        "simulate_day", "--stops", "80", "--drivers", "4", "--exception-rate", "0.3", "--seed", "3",
        "--replies", str(CORPUS), "--date", DAY.isoformat(), "--dispatchers", "1", "--out", str(tmp_path),
        stdout=out,
    )  # fmt: skip
    last = out.getvalue().strip().splitlines()[-1]
    figures = json.loads(next(tmp_path.glob("*.json")).read_text())

    cases = ExceptionCase.objects.filter(stop__run__service_date=DAY)
    assert figures["exceptions"] == cases.count() >= 10
    assert not cases.filter(state__in=ExceptionCase.OPEN_STATES).exists()
    assert figures["unfinished"] == 0
    assert figures["duplicate_sms"] == 0
    assert figures["api_error_count"] == 0, figures["api_errors"]
    # Texts really went out through the SDK and recipients' answers came back through the webhook.
    assert figures["sms_sent"] == Message.objects.filter(direction="outbound", provider_sid__isnull=False).count() > 0
    inbound = Message.objects.filter(direction="inbound")
    assert inbound.exclude(channel="link").count() == figures["people"]["replies"] > 0
    # Some answered on the page their text linked to, which reached the desk as their choice.
    assert inbound.filter(channel="link").count() == sum(figures["people"]["answers_on_the_page"].values())
    # Some stops were recovered the same day: delivered after a failed first attempt.
    assert Order.objects.filter(cases__in=cases, status=Order.Status.DELIVERED).exists()
    assert not Stop.objects.filter(run__service_date=DAY, status=Stop.Status.ARRIVED).exists()
    assert last == (
        f"simulate_day: exceptions {figures['exceptions']}, failed parcels {figures['failed_parcels']}, "
        f"rescued without a dispatcher {figures['rescued_without_dispatcher_share']} %, "
        f"no-touch {figures['no_touch_share']} %, median to outcome {figures['minutes_to_outcome_median']} min, "
        f"wrong actions {figures['wrong_actions']}, unanswered requests {figures['unanswered_requests']}, "
        "unfinished 0, duplicate SMS 0"
    )
    # Per failed parcel: every one has exactly one ending, split by whether a dispatcher acted on it.
    assert figures["failed_parcels"] == Order.objects.filter(cases__in=cases).distinct().count()
    assert sum(sum(split.values()) for split in figures["endings"].values()) == figures["failed_parcels"]
    assert figures["rescued_without_dispatcher"] <= (
        figures["endings"]["delivered_same_day"]["without_dispatcher"]
        + figures["endings"]["recipient_choice"]["without_dispatcher"]
    )
    assert (tmp_path / next(tmp_path.glob("*.md")).name).read_text().count("|") > 20
    # Prevention was on: risky stops were texted ahead of the driver, never more than once each.
    # (What an answer ahead changed is read back to the recipient: a text of its own.)
    ahead = Message.objects.filter(conversation__stop__isnull=False, direction="outbound").exclude(
        template_key="read_back"
    )
    assert figures["prearrival_texts"] == PreArrivalContact.objects.exclude(status="skipped").count() > 0
    assert ahead.values("conversation__stop").distinct().count() == ahead.count()
    assert figures["extra_sms_per_stop"] <= 0.3


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_with_notices_every_stop_is_told_and_answers_come_on_the_page_and_are_acted_on(tmp_path):
    call_command(
        "simulate_day", "--stops", "60", "--drivers", "3", "--exception-rate", "0.3", "--seed", "5",
        "--replies", str(CORPUS), "--date", DAY.isoformat(), "--dispatchers", "1", "--notices",
        "--link-share", "1", "--out", str(tmp_path), stdout=StringIO(),
    )  # fmt: skip
    figures = json.loads(next(tmp_path.glob("*.json")).read_text())

    assert figures["options"]["notices"] is True
    assert figures["api_error_count"] == 0, figures["api_errors"]
    # Every stop was told the parcel was out for delivery, with its link, but those no text reaches (no mobile
    # number, opted out, asleep until after the driver's time), and the notice says why for those.
    told = StopNotice.objects.filter(kind=StopNotice.Kind.OUT_FOR_DELIVERY)
    assert told.values("stop__order").distinct().count() == 60
    assert told.filter(sent=True).count() >= 45
    notice = Message.objects.filter(template_key="notice_out_for_delivery").first()
    assert notice is not None
    assert "/r/" in notice.body
    # Whoever answered with something the page offers did so there; each choice reached the desk.
    on_the_page = sum(figures["people"]["answers_on_the_page"].values())
    assert on_the_page > 0
    assert Message.objects.filter(direction="inbound", channel="link").count() == on_the_page
    assert figures["unfinished"] == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--exception-rate", "1.5"], "--exception-rate must be between 0 and 1"),
        (["--replies", "/nonexistent/replies.csv"], "No replies file at /nonexistent/replies.csv"),
        (["--speed", "-1"], "--speed must be 0"),
        (["--date", "21/11/2026"], "--date must be YYYY-MM-DD"),
        (["--dispatchers", "0"], "--dispatchers must be at least 1"),
        (["--persistence", "2"], "--persistence must be between 0 and 1"),
        (["--reply-scale", "0"], "--reply-scale must be above 0"),
        (["--link-share", "1.5"], "--link-share must be between 0 and 1"),
    ],
)
def test_bad_options_say_what_to_fix(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("simulate_day", "--stops", "10", "--drivers", "1", *args, stdout=StringIO())


def test_a_corpus_without_the_columns_is_refused(tmp_path):
    path = tmp_path / "replies.csv"
    path.write_text("id,text\n1,hello\n")
    with pytest.raises(ValueError, match="needs the columns intent, reply"):
        speech.Corpus.load(path)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_misread_reply_is_a_wrong_action_and_the_failure_that_follows_is_the_worlds(tmp_path):
    # Words that say a gate code where the recipient meant a time: what any misread does. The product acts on
    # what it read; the world knows what was meant, and the driver meets the truth: nobody in, the door as it is.
    replies = tmp_path / "misread.csv"
    replies.write_text(
        "id,reason_code,sent_at,reply,intent,code,window_start,window_end,detail\n"
        "m1,RECIPIENT_ABSENT,2026-11-18T09:00:00-06:00,the gate code is 4417,RESCHEDULE,,"
        "2026-11-18T19:00:00-06:00,2026-11-18T20:00:00-06:00,\n"
        "m2,ACCESS_DENIED,2026-11-18T09:00:00-06:00,please call me,CALL_REQUEST,,,,\n"
    )
    call_command(
        "simulate_day", "--stops", "80", "--drivers", "4", "--exception-rate", "0.4", "--seed", "5",
        "--replies", str(replies), "--date", DAY.isoformat(), "--dispatchers", "1", "--reply-scale", "3",
        "--out", str(tmp_path), stdout=StringIO(),
    )  # fmt: skip
    figures = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert figures["api_error_count"] == 0, figures["api_errors"]
    wrong = figures["wrong_and_unheard"]
    assert figures["wrong_actions_by_kind"].get("code not given", 0) >= 1, wrong
    assert any(item.get("wrong") == "code not given" and item["meant"] == "RESCHEDULE" for item in wrong)
    assert figures["failures_after_a_wrong_action"] >= 1
    # Such a parcel is no rescue, whatever the product counts.
    assert figures["rescued_without_dispatcher"] <= figures["rescued_as_the_product_counts"]
