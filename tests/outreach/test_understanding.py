"""Reply understanding: the labelled corpora read well enough, and the rules that decide tricky replies hold.

The corpora are scored by the criteria of shared/benchmarks/replies/score.py, re-implemented here so the
test does not depend on a script outside the repository. `tests/outreach/replies.csv` is ours; the public
corpus is read when the shared benchmarks are checked out next to the repository.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import zoneinfo
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from exceptions.models import ReplyIntent
from exceptions.workflow import Understanding
from outreach.understanding import reply_understand

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
OURS = Path(__file__).with_name("replies.csv")
PUBLIC = Path(__file__).resolve().parents[3] / "shared" / "benchmarks" / "replies" / "public.csv"
REQUIRED_SHARE = 0.95
# Wednesday 18 November 2026, mid-morning in Chicago.
WEDNESDAY = dt.datetime(2026, 11, 18, 10, 0, tzinfo=CHICAGO)


def read(text: str, *, sent_at: dt.datetime = WEDNESDAY, reason_code: str = "RECIPIENT_ABSENT") -> Understanding:
    return reply_understand(text=text, sent_at=sent_at, time_zone=CHICAGO, reason_code=reason_code)


def at(day: int, hour: int, minute: int = 0, *, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=CHICAGO)


def corpus(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def understood(gold: dict[str, str], got: Understanding) -> bool:
    """score.py's criteria: the intent, and the entity that intent carries."""
    if got.intent != gold["intent"]:
        return False
    if gold["intent"] == ReplyIntent.ACCESS_CODE:
        return gold["code"].replace(" ", "") == got.code.replace(" ", "")
    if gold["intent"] == ReplyIntent.RESCHEDULE:
        if got.window_start is None or got.window_start.tzinfo is None:
            return False
        start = dt.datetime.fromisoformat(gold["window_start"])
        if gold["window_end"]:
            return start <= got.window_start <= dt.datetime.fromisoformat(gold["window_end"])
        return abs(got.window_start - start) <= dt.timedelta(minutes=30)
    if gold["intent"] in (ReplyIntent.SAFE_DROP, ReplyIntent.NEIGHBOR, ReplyIntent.PICKUP_POINT):
        return gold["detail"].lower() in got.detail.lower()
    return True


def read_row(row: dict[str, str]) -> Understanding:
    return reply_understand(
        text=row["reply"],
        sent_at=dt.datetime.fromisoformat(row["sent_at"]),
        time_zone=CHICAGO,
        reason_code=row["reason_code"],
    )


def misses(rows: list[dict[str, str]]) -> list[str]:
    found = []
    for row in rows:
        got = read_row(row)
        if not understood(row, got):
            found.append(f"{row['id']} {row['reply']!r}: want {row['intent']}, got {got.intent} ({got.why})")
    return found


# --- The corpora --------------------------------------------------------------------------------------------------


def test_it_understands_our_corpus():
    rows = corpus(OURS)
    missed = misses(rows)
    assert len(rows) >= 150
    assert 1 - len(missed) / len(rows) >= REQUIRED_SHARE, "\n".join(missed)


@pytest.mark.skipif(
    not PUBLIC.exists() and not os.environ.get("CI"), reason=f"the shared benchmarks are not checked out at {PUBLIC}"
)
def test_it_understands_the_public_corpus():
    rows = corpus(PUBLIC)
    missed = misses(rows)
    assert 1 - len(missed) / len(rows) >= REQUIRED_SHARE, "\n".join(missed)


# Corpora written apart from the rules, by authors who had read the labelling conventions but not the rules. The rules
# have since been developed against them (they are in-sample now), so they guard what was learnt from them.
# The unseen-* corpora were measured once before anyone read the parser's output on them (bench/RESULTS.md); what
# that showed was fixed, so they are in-sample now too.
WRITTEN_APART = [
    Path(__file__).resolve().parents[2] / "bench" / "replies" / name
    for name in (
        "blind.csv",
        "dev.csv",
        "dev3.csv",
        "dev4.csv",
        "dev5.csv",
        "dev6.csv",
        "dev7.csv",
        "dev8.csv",
        "dev9.csv",
        "dev10.csv",
        "unseen-plain.csv",
        "unseen-messy.csv",
        "final-check.csv",
        "final-check-2.csv",
        "final-check-3.csv",
        "dev11.csv",
        "final-check-4.csv",
        "final-check-5.csv",
        "final-check-6.csv",
        "final-check-7.csv",
        "final-check-8.csv",
    )
]
# A reading other than UNCLEAR that is wrong, and sure (acted on without asking the recipient): at most 1 in 60.
MISREADS_AT_MOST = 1 / 60


def sure_misreads(rows: list[dict[str, str]]) -> list[str]:
    found = []
    for row in rows:
        got = read_row(row)
        if got.intent != ReplyIntent.UNCLEAR and got.sure and not understood(row, got):
            found.append(f"{row['id']} {row['reply']!r}: want {row['intent']}, got {got.intent} ({got.why})")
    return found


@pytest.mark.parametrize("path", WRITTEN_APART, ids=lambda p: p.name)
def test_it_understands_corpora_written_apart(path):
    rows = corpus(path)
    missed = misses(rows)
    assert 1 - len(missed) / len(rows) >= REQUIRED_SHARE, "\n".join(missed)
    wrong = sure_misreads(rows)
    assert len(wrong) / len(rows) <= MISREADS_AT_MOST, "\n".join(wrong)


def test_it_covers_every_intent_in_our_corpus():
    assert {row["intent"] for row in corpus(OURS)} == set(ReplyIntent.values)


def test_it_explains_every_reading_and_never_shows_the_code():
    rows = corpus(OURS) + (corpus(PUBLIC) if PUBLIC.exists() else [])
    for row in rows:
        got = read_row(row)
        assert got.why, row["reply"]
        if got.code:
            assert got.code not in got.why.replace(" ", ""), row["reply"]
            assert got.code.strip("#*") not in got.why.replace(" ", ""), row["reply"]


# --- Carrier keywords, opt-out, nothing to read -------------------------------------------------------------------


# --- Directions, when the driver could not find the address ---------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Blue door around the side next to the garage",
        "Unit is above the laundromat, door on the left of the shop",
        "La entrada está por el callejón, puerta verde",
    ],
)
def test_it_reads_directions_when_the_driver_could_not_find_the_address(text):
    got = read(text, reason_code="ADDRESS_NOT_FOUND")

    assert (got.intent, got.detail) == (ReplyIntent.DIRECTIONS, text)
    assert read(text).intent != ReplyIntent.DIRECTIONS  # asked about something else, it is not an answer


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("gate code 4821 then the second building", ReplyIntent.ACCESS_CODE),
        ("the green door, code is on the box", ReplyIntent.UNCLEAR),  # a code goes to the vault, not the notes
        ("is it the back building?", ReplyIntent.UNCLEAR),
        ("I'm home after 5, the back building", ReplyIntent.RESCHEDULE),
        ("leave it at the side door", ReplyIntent.SAFE_DROP),
        ("please call me", ReplyIntent.CALL_REQUEST),
        ("the left", ReplyIntent.UNCLEAR),
    ],
)
def test_directions_give_way_to_anything_clearer(text, intent):
    assert read(text, reason_code="ADDRESS_NOT_FOUND").intent == intent


@pytest.mark.parametrize(
    "text", ["STOP", "stop.", "  Stop! ", "UNSUBSCRIBE", "end", "Quit", "REVOKE", "optout", "cancel"]
)
def test_it_opts_out_on_a_carrier_keyword_alone(text):
    assert read(text).intent == ReplyIntent.OPT_OUT


@pytest.mark.parametrize("text", ["START", "Unstop"])
def test_it_opts_in_on_a_carrier_keyword_alone(text):
    assert read(text).intent == ReplyIntent.OPT_IN


@pytest.mark.parametrize("text", ["HELP", "info", "help?"])
def test_it_reads_help_keywords(text):
    assert read(text).intent == ReplyIntent.HELP


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("STOP PLEASE", ReplyIntent.OPT_OUT),
        ("stop pls", ReplyIntent.OPT_OUT),
        ("Please stop", ReplyIntent.OPT_OUT),
        ("STOP STOP STOP", ReplyIntent.OPT_OUT),
        ("wrong number. stop", ReplyIntent.OPT_OUT),
        ("ALTO", ReplyIntent.OPT_OUT),
        ("START please", ReplyIntent.OPT_IN),
        ("start sending again", ReplyIntent.OPT_IN),
        ("need HELP pls", ReplyIntent.HELP),
        ("help me understand this message", ReplyIntent.HELP),
    ],
)
def test_it_reads_a_keyword_with_filler_as_the_keyword(text, intent):
    # Any reasonable way of saying stop is an opt-out (FCC, 2025): we honour it though the carrier does not.
    assert read(text).intent == intent


@pytest.mark.parametrize(
    "text",
    [
        "Loved \u201cWe couldn't deliver your parcel LM-48213 today: the gate was locked. Reply with the code.\u201d",
        "Automatic reply: I am out of the office this week. For urgent matters contact reception.",
        "I'm driving with Do Not Disturb on. I'll see your message when I get where I'm going.",
        "who is this?",
        "wrong number",
    ],
)
def test_a_reaction_an_automatic_reply_or_who_is_this_is_not_an_answer(text):
    got = read(text, reason_code="GATE_CLOSED")
    assert got.intent == ReplyIntent.UNCLEAR
    assert got.why


@pytest.mark.parametrize("text", ["Stop texting me", "please stop sending me messages", "remove me from this list"])
def test_it_opts_out_when_asked_to_stop_messages(text):
    assert read(text).intent == ReplyIntent.OPT_OUT


@pytest.mark.parametrize("text", ["2", "1", " 3 ", "👍", "??", "ok", "yes", "who is this?"])
def test_it_does_not_guess_on_a_bare_digit_or_nothing_to_read(text):
    assert read(text).intent == ReplyIntent.UNCLEAR
    assert read(text, reason_code="ACCESS_DENIED").intent == ReplyIntent.UNCLEAR


# --- Access codes -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Code: 5 5 0 2", "5502"),
        ("Its #7734 at the call box", "#7734"),
        ("new one is 1990*", "1990*"),
        ("ACCESS CODE 2 4 6 8 #", "2468#"),
        ("El código del portón es 2580", "2580"),
    ],
)
def test_it_normalises_codes_keeping_hash_and_star(text, code):
    got = read(text, reason_code="ACCESS_DENIED")
    assert (got.intent, got.code) == (ReplyIntent.ACCESS_CODE, code)


def test_it_reads_a_code_with_a_fallback_as_the_code():
    got = read("the code is 1234 but if that doesnt work leave it at the mailroom", reason_code="ACCESS_DENIED")
    assert (got.intent, got.code) == (ReplyIntent.ACCESS_CODE, "1234")


def test_it_takes_the_new_code_not_the_old_one():
    got = read("sorry the old code 1111 was wrong, it's 2222 now", reason_code="WRONG_ACCESS_CODE")
    assert got.code == "2222"


def test_it_takes_a_bare_number_as_the_code_only_when_asked_about_access():
    assert read("4821", reason_code="ACCESS_DENIED").code == "4821"
    assert read("4821").intent == ReplyIntent.UNCLEAR


@pytest.mark.parametrize(
    "text", ["zip code is 60607", "the code doesn't work, call me at 555-0188", "what's the code?"]
)
def test_it_does_not_take_other_numbers_for_a_code(text):
    assert read(text, reason_code="ACCESS_DENIED").intent != ReplyIntent.ACCESS_CODE


def test_it_never_puts_the_code_in_why():
    for text in ("gate code is 4821", "Code: 5 5 0 2", "4821", "press 3366 at the door", "#7734"):
        got = read(text, reason_code="ACCESS_DENIED")
        assert got.code
        assert got.code.strip("#*") not in got.why.replace(" ", "")


# --- Places and people --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["don't leave it outside", "Please do not leave it on the porch", "not on the porch"])
def test_it_does_not_read_a_ruled_out_place_as_a_safe_drop(text):
    assert read(text).intent == ReplyIntent.UNCLEAR


def test_it_reads_the_place_after_a_ruled_out_one():
    got = read("don't leave it outside, put it behind the side gate")
    assert (got.intent, got.detail) == (ReplyIntent.SAFE_DROP, "behind the side gate")


@pytest.mark.parametrize(
    ("text", "unit"),
    [
        ("Leave it with my neighbor Maria in 3B", "3B"),
        ("my neighbour across the hall (apt 12) said she can grab it", "12"),
        ("Déjelo con la vecina del 4A por favor", "4A"),
        ("leave w/ nieghbor at 214", "214"),
    ],
)
def test_it_keeps_the_neighbours_unit(text, unit):
    got = read(text)
    assert got.intent == ReplyIntent.NEIGHBOR
    assert unit in got.detail


def test_it_names_the_depot_when_the_recipient_will_collect_without_saying_where():
    got = read("I'll come pick it up")
    assert (got.intent, got.detail) == (ReplyIntent.PICKUP_POINT, "depot")


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("I didnt order anything. send it back", ReplyIntent.REFUSE),
        ("no lo quiero", ReplyIntent.REFUSE),
        ("I don't want it left outside, I'll be home at 6", ReplyIntent.RESCHEDULE),
        ("please don't send it back", ReplyIntent.UNCLEAR),
        ("llámame", ReplyIntent.CALL_REQUEST),
        ("don't call me", ReplyIntent.UNCLEAR),
        ("the buzzer is broken, can you call me?", ReplyIntent.CALL_REQUEST),
    ],
)
def test_it_reads_refusals_and_calls_with_their_negations(text, intent):
    assert read(text).intent == intent


# --- Times --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "sent_at", "start"),
    [
        ("back at 2", WEDNESDAY, at(18, 14)),
        ("gate opens at 9", at(18, 8, 50), at(18, 9)),
        ("at 8", WEDNESDAY, at(18, 20)),
        ("after 9", WEDNESDAY, at(19, 9)),  # 21:00 is after hours and 09:00 has passed: tomorrow's
        ("until 6:30", WEDNESDAY, at(18, 18, 30)),
        ("in 20 mins", WEDNESDAY, at(18, 10, 20)),
        ("after lunch", WEDNESDAY, at(18, 13)),
    ],
)
def test_it_reads_clock_times_within_delivery_hours(text, sent_at, start):
    got = read(text, sent_at=sent_at)
    assert (got.intent, got.window_start) == (ReplyIntent.RESCHEDULE, start)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("tomorrow morning", at(19, 8), at(19, 12)),
        ("friday", at(20, 8), at(20, 20)),
        ("wednesday", at(25, 8), at(25, 20)),  # the next one after the day we wrote, not today
        ("between 3 and 5", at(18, 15), at(18, 17)),
        ("mañana por la tarde", at(19, 12), at(19, 17)),
        ("tonight", at(18, 17), at(18, 20)),
        ("next week", at(23, 8), at(27, 20)),
    ],
)
def test_it_reads_days_and_parts_of_days(text, start, end):
    got = read(text)
    assert (got.intent, got.window_start, got.window_end) == (ReplyIntent.RESCHEDULE, start, end)


def test_it_gives_aware_times_across_the_clock_change():
    saturday = dt.datetime(2026, 3, 7, 10, 0, tzinfo=CHICAGO)
    got = read("monday pls", sent_at=saturday)
    assert got.window_start == dt.datetime(2026, 3, 9, 8, 0, tzinfo=CHICAGO)
    assert got.window_start.utcoffset() == dt.timedelta(hours=-5)


def test_it_reads_times_in_the_recipients_zone_whatever_the_zone_of_sent_at():
    got = read("back at 2pm", sent_at=WEDNESDAY.astimezone(dt.UTC))
    assert got.window_start == at(18, 14)
    assert got.window_start.tzinfo == CHICAGO


def test_it_uses_the_requested_time_not_the_constraint():
    got = read("not home till 7. can u try tmrw after 10am", sent_at=at(18, 15, 40))
    assert got.window_start == at(19, 10)


def test_it_ignores_times_in_a_complaint():
    assert read("I was home at 2 and nobody came!").intent == ReplyIntent.UNCLEAR


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("omw to the lobby give me 2 min", ReplyIntent.AVAILABLE_NOW),
        ("be home in 20 mins", ReplyIntent.RESCHEDULE),
        ("I'm home until 4", ReplyIntent.AVAILABLE_NOW),
        ("not home until 4", ReplyIntent.RESCHEDULE),
        ("ya estoy en casa", ReplyIntent.AVAILABLE_NOW),
        ("No estoy en casa. Vuelvo a las 4", ReplyIntent.RESCHEDULE),
    ],
)
def test_it_tells_there_now_from_later(text, intent):
    assert read(text).intent == intent


def test_it_wants_an_aware_sent_at():
    with pytest.raises(ValueError, match="aware"):
        reply_understand(text="at 2", sent_at=dt.datetime(2026, 11, 18, 10), time_zone=CHICAGO)


# --- The management command ---------------------------------------------------------------------------------------


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def parse(*args: str) -> list[dict[str, str]]:
    out = io.StringIO()
    call_command("parse_replies", *args, stdout=out)
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def test_it_writes_what_it_understood_as_csv(tmp_path):
    source = write_csv(
        tmp_path / "replies.csv",
        [
            ["id", "reason_code", "sent_at", "reply"],
            ["r1", "ACCESS_DENIED", "2026-11-18T10:12:00-06:00", "gate code is 4821"],
            ["r2", "RECIPIENT_ABSENT", "2026-11-18T09:45:00-06:00", "Can you come between 3 and 5?"],
            ["r3", "RECIPIENT_ABSENT", "2026-11-18T10:12:00-06:00", "Leave it with my neighbor Maria in 3B"],
            ["r4", "RECIPIENT_ABSENT", "2026-11-18T10:12:00-06:00", "who is this?"],
        ],
    )
    rows = parse(str(source))
    assert list(rows[0]) == ["id", "intent", "code", "window_start", "window_end", "detail", "sure", "doubt"]
    assert rows[0] == {
        "id": "r1",
        "intent": "ACCESS_CODE",
        "code": "4821",
        "window_start": "",
        "window_end": "",
        "detail": "",
        "sure": "yes",
        "doubt": "",
    }
    assert (rows[1]["window_start"], rows[1]["window_end"]) == (
        "2026-11-18T15:00:00-06:00",
        "2026-11-18T17:00:00-06:00",
    )
    assert "3B" in rows[2]["detail"]
    assert rows[3]["intent"] == "UNCLEAR"


def test_it_reads_times_in_the_zone_it_is_given(tmp_path):
    source = write_csv(
        tmp_path / "replies.csv",
        [["id", "reason_code", "sent_at", "reply"], ["r1", "RECIPIENT_ABSENT", "2026-11-18T10:00:00-05:00", "at 2"]],
    )
    assert parse(str(source), "--time-zone", "America/New_York")[0]["window_start"] == "2026-11-18T14:00:00-05:00"


def test_it_says_which_columns_are_missing(tmp_path):
    source = write_csv(tmp_path / "replies.csv", [["id", "sent_at", "text"], ["r1", "2026-11-18T10:00:00-06:00", "hi"]])
    with pytest.raises(CommandError, match=r"missing column\(s\) reason_code, reply"):
        parse(str(source))


def test_it_says_when_the_file_is_missing(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        parse(str(tmp_path / "nowhere.csv"))


def test_it_names_the_line_with_a_bad_time(tmp_path):
    source = write_csv(
        tmp_path / "replies.csv",
        [["id", "reason_code", "sent_at", "reply"], ["r1", "RECIPIENT_ABSENT", "yesterday", "at 2"]],
    )
    with pytest.raises(CommandError, match="line 2: sent_at 'yesterday'"):
        parse(str(source))


def test_it_refuses_an_unknown_time_zone(tmp_path):
    source = write_csv(tmp_path / "replies.csv", [["id", "reason_code", "sent_at", "reply"]])
    with pytest.raises(CommandError, match="not a known zone"):
        parse(str(source), "--time-zone", "Mars/Olympus")


@pytest.mark.parametrize("text", ["friday is bad", "Tuesday doesn't work", "saturday no", "Monday is not good"])
def test_a_day_ruled_out_is_no_time_to_come(text):
    # Never guessed into a visit on the very day the recipient ruled out.
    assert read(text).intent == "UNCLEAR"


@pytest.mark.parametrize("text", ["tomorrow is good", "friday works", "Thursday is fine"])
def test_a_day_welcomed_is_a_time_to_come(text):
    assert read(text).intent == "RESCHEDULE"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("don't return it", "UNCLEAR"),
        ("do not return it, I'll be home at 5", "RESCHEDULE"),
        ("no lo devuelvan", "UNCLEAR"),
    ],
)
def test_asking_not_to_return_it_is_no_refusal(text, intent):
    assert read(text).intent == intent


# --- What a reading rests on, and how sure it is --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Its K2291", "K2291"),
        ("try 71 08, they reset it monday", "7108"),
        ("*33 90 then wait for the beep", "*3390"),
        ("press pound then 1102", "#1102"),
        ("gate code is eight one eight one", "8181"),
        ("la clave es cinco cinco tres dos", "5532"),
        ("its $20 for the 3rd floor, code 4417", "4417"),
        ("5816 no wait 5861 sorry", "5861"),
        ("buzzer 104 is broken, punch in 6720 on the keypad", "6720"),
    ],
)
def test_codes_are_read_however_they_are_typed_or_said(text, code):
    got = read(text, reason_code="GATE_CLOSED")
    assert (got.intent, got.code) == (ReplyIntent.ACCESS_CODE, code)
    spans = [text[e.start : e.end] for e in got.evidence if e.says == "the code"]
    assert spans
    assert all(span.strip() for span in spans)
    assert code not in got.why


@pytest.mark.parametrize(
    ("text", "sure"),
    [("gate code is 4417", True), ("4417", True), ("441", False), ("four four one seven", False)],
)
def test_a_code_says_how_sure_it_is(text, sure):
    got = read(text, reason_code="ACCESS_DENIED")
    assert got.intent == ReplyIntent.ACCESS_CODE
    assert got.sure is sure
    assert bool(got.doubt) is not sure


@pytest.mark.parametrize(
    ("text", "intent", "hour"),
    [
        ("tmrw... actually friday is better", ReplyIntent.RESCHEDULE, 8),
        ("at 4 no wait 5, i have a thing at 4", ReplyIntent.RESCHEDULE, 17),
        ("thurs or fri. thurs better", ReplyIntent.RESCHEDULE, 8),
        ("not home until 5:30. any time after that works", ReplyIntent.RESCHEDULE, 17),
    ],
)
def test_the_last_word_and_the_preferred_one_win(text, intent, hour):
    got = read(text)
    assert (got.intent, got.window_start.hour if got.window_start else None) == (intent, hour)


def test_a_changed_mind_about_where_wins():
    got = read("leave it with the neighbor, no, on the porch")
    assert (got.intent, got.detail) == (ReplyIntent.SAFE_DROP, "on the porch")


@pytest.mark.parametrize(("text", "intent"), [("2 min away", "AVAILABLE_NOW"), ("home in 20 mins", "RESCHEDULE")])
def test_arriving_now_is_told_from_a_short_reschedule(text, intent):
    assert read(text).intent == intent


def test_a_later_with_no_time_is_not_given_one():
    assert read("can u come back later").intent == ReplyIntent.UNCLEAR
