"""Reply understanding: what a recipient's free-text answer to an outreach SMS means, and how sure it is.

Deterministic and explainable on purpose: compiled regexes and small keyword
tables, English and Spanish, common SMS spellings. Whatever is not clearly one
thing is UNCLEAR, and a person reads it; a wrong guess costs a second failed
attempt, a human read costs a minute. Every reading says what in the reply it
rests on (``evidence``) and, when it is not sure, why (``doubt``): the desk
confirms an unsure code, drop or opt-out with the recipient before acting.

The rules are tried in a fixed order and the first that decides wins:

0. the answer to "just to check: ...?" when the desk asked one (``confirm``);
1. a carrier keyword that is the whole message (STOP, START, HELP...);
2. nothing to read (emoji, punctuation); a phone's reaction to our text, an
   automatic reply, "who is this"; a keyword with filler ("stop please",
   "wrong number. stop": any plain way of saying stop opts out);
3. a code alone ("4417", "K 4 4 0 9"), or a bare number (no numbered menu);
4. what the reply says after taking back what came before ("tmrw... actually
   friday", "with the neighbour, no, on the porch"): the last word wins;
5. asking to start texts again, then to stop them, in words ("opt me back
   in", "stop texting me", "no more texts");
6. an access code: a reply that carries a code and a fallback is still a code;
7. a refusal ("didn't order", "no lo quiero");
7a. asked how to find the door (the driver could not find the address):
    directions, when nothing in the reply is a drop-off, a time or a call;
8. someone else to take it (a neighbour, a person or shop who will), a pickup
   point, a safe place, in that order;
9. "send it back" when nothing above matched;
10. the recipient is there now, or will be within minutes;
11. a call request;
12. a time to come back, or else "try again" with no time (there now);
13. a conditional call request ("call me if...");
14. asking for help ("what does this mean?").

Each rule reads from its own module: `keywords` carrier keywords and set
phrases, `numbers` and `codes` access codes, `people` neighbours, `places`
directions, pickup points and safe places, `availability` there now, a call
or a time, with the windows `windows` makes of what `times` reads
(conventions for times are there), `confirm` a yes or no to a reading. All of
them read the reply as `reply` folds it and cuts it into sentences and
clauses. This module holds the order and the public entry point,
`reply_understand`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import zoneinfo

from outreach.understanding.availability import _call_request, _now_or_later
from outreach.understanding.codes import _access_code, _bare_code
from outreach.understanding.confirm import confirmation
from outreach.understanding.keywords import (
    _KEYWORD_TRIM,
    _STOP_FIRST,
    CARRIER_KEYWORDS,
    _help_asked,
    _opt_in,
    _opt_out,
    _refuse,
    _send_back,
    keyword_with_filler,
    not_an_answer,
)
from outreach.understanding.meaning import ReplyIntent, Understanding
from outreach.understanding.people import _neighbour
from outreach.understanding.places import _directions, _pickup, _safe_drop
from outreach.understanding.reply import _QUESTION, _fold, _Reply

__all__ = ["reply_understand"]

_WORDS = re.compile(r"[^\W_]")
_BARE_NUMBER = re.compile(r"[#*]?\d(?:[\d ]*\d)?[#*]?")


def reply_understand(
    *,
    text: str,
    sent_at: dt.datetime,
    time_zone: zoneinfo.ZoneInfo,
    reason_code: str = "",
    confirming: Understanding | None = None,
) -> Understanding:
    """What a recipient's reply means. Never guesses: what no rule reads clearly is UNCLEAR.

    `sent_at` is when the outreach went out (aware); times in the reply are read in `time_zone`.
    `why` names the rule or phrase that decided, for the case timeline; it never holds the access code.
    `confirming`: the reading the recipient was just asked to confirm; a yes or no is read against it.
    """
    if sent_at.tzinfo is None:
        raise ValueError("sent_at must be timezone-aware")
    if confirming is not None:
        answer = confirmation(_fold(text).strip(), confirming)
        if answer is not None:
            return answer
    key = _fold(text).strip(_KEYWORD_TRIM)
    keyword = CARRIER_KEYWORDS.get(re.sub(r"\s+", " ", key))
    if keyword is not None:
        return Understanding(intent=keyword, why=f"keyword {key.upper()!r} is the whole message")
    if not _WORDS.search(text):
        return _unclear("no words: emoji or punctuation only")
    reply = _Reply(text=text, now=sent_at.astimezone(time_zone), reason_code=reason_code)
    said = not_an_answer(reply) or keyword_with_filler(reply)
    if said is not None:
        return said
    bare = _bare_code(reply)
    if bare is not None:
        return bare
    if _BARE_NUMBER.fullmatch(key):
        return _unclear("a bare number: the message offers no numbered menu")
    undecided = _UNDECIDED.search(reply.t)
    if undecided is not None and not _OUTRIGHT.search(reply.t):
        # "maybe tmrw or the locker idk ill let u know": nothing to act on yet; asked again, then a person.
        return _unclear(f"not decided yet ({reply.original(undecided.start(), undecided.end())!r})")
    marks = list(_TAKEN_BACK.finditer(reply.t))
    taken_back = marks[-1] if marks else None  # the last word taken back counts
    if taken_back is not None and taken_back.end() < len(text):
        # "tmrw... actually friday is better", "leave it with the neighbour, no, on the porch": the last word wins.
        # A code takes back its own numbers ("5816 no wait 5861"), and a code with a fallback is a code.
        start, marker = taken_back.end(), taken_back.group("marker").strip(" ,.;-")
        whole = _access_code(reply)
        swapped = (
            None
            if whole is not None
            else _number_swapped(text, taken_back.start("marker"), start)
            or _unit_carried(text, taken_back.start("marker"), start)
        )
        if swapped is not None:
            # "at 4 no wait 5": the new number takes the old one's place.
            then = reply_understand(text=swapped, sent_at=sent_at, time_zone=time_zone, reason_code=reason_code)
            if then.intent != ReplyIntent.UNCLEAR:
                return dataclasses.replace(then, why=f"{then.why}, after {marker!r}", evidence=())
        then = reply_understand(text=text[start:], sent_at=sent_at, time_zone=time_zone, reason_code=reason_code)
        if then.intent != ReplyIntent.UNCLEAR and (whole is None or then.intent == ReplyIntent.ACCESS_CODE):
            return _shifted(then, start, f"{then.why}, after {marker!r}")
    for rule in _RULES:
        understood = rule(reply)
        if understood is not None:
            return _safe_why(understood)
    stop = _STOP_FIRST.match(reply.t)
    if stop is not None and _STOP_VISIT.match(reply.t):
        return _unclear("'stop by' is a visit, not asking to stop texts")  # "stop by later", "stop over tomorrow"
    if stop is not None and stop.group(1) in ("stop", "stopall", "unsubscribe", "optout"):
        # "stop pls i get 10 of these a day": starting with STOP and asking nothing else is a plain way of saying
        # stop, which since the FCC's 2025 rule is an opt-out.
        return Understanding(intent=ReplyIntent.OPT_OUT, why=f"starts with {stop.group(1).upper()!r}")
    if stop is not None:
        # Whoever starts with another carrier word is not asked again, whatever the carrier makes of the rest.
        return Understanding(intent=ReplyIntent.UNCLEAR, why=_unclear_why(reply), ask_again=False)
    return _unclear(_unclear_why(reply))


# "stop by later", "stop over tomorrow": to stop somewhere is to come, not to stop texting.
_STOP_VISIT = re.compile(r"^\W*stop\s+(?:by|over|in|round|around|back|at|here|there)\b")

# Taking back what came before: "... actually", "no wait", ", no,", "I mean". The last one counts.
_TAKEN_BACK = re.compile(
    r"(?P<marker>(?:\.\.+|,|;|-)\s*(?:wait|well|no(?=\s*[,.!])|nah|hmm+|(?:no\s+)?actually)\b|\b(?:no\s+)?make\s+(?:it|that)\b(?=\s*\d)|"
    r"\bno\s+mejor\b|(?:^|(?<=[.!?]))\s*actually\b|"
    r"\b(?:no\s+wait|wait\s+no|wait[\s,]+actually|jk|just\s+kidding|i\s+mean|i\s+meant|scratch\s+that|on\s+second\s+thought|"
    r"changed\s+my\s+mind|mejor\s+dicho|o\s+sea|pensandolo\s+bien)\b)[\s,.!:]*"
)


_LAST_NUMBER = re.compile(
    r"\d{1,2}(?:[:.]\d\d)?(?:\s*(?:am|pm))?(?=[\s.,;-]*(?:(?:no|nah|wait|sorry|actually)[\s.,;-]*)*$)", re.I
)
_FIRST_NUMBER = re.compile(
    r"\s*(?:(?:no\s+)?make\s+(?:it|that)\s+|say\s+|more\s+like\s+|mejor\s+)?(\d{1,2}(?:[:.]\d\d)?(?:\s*(?:am|pm))?)(?![\d:])",
    re.I,
)


# Not decided yet, unless the reply also asks for something outright (a call, a stop, a return).
_UNDECIDED = re.compile(
    r"\b(?:idk|i\s+dunno|i\s+don'?t\s+know\s+(?:yet|when|which)|not\s+sure\s+(?:yet|which|when|if)|"
    r"i'?ll\s+let\s+(?:you|u|ya)\s+know|let\s+me\s+(?:check|see|ask)|no\s+se\s+(?:todavia|aun))\b"
)
_OUTRIGHT = re.compile(r"\b(?:call|stop|return|refund|cancel|llam|help)\w*\b")


def _number_swapped(text: str, marker_start: int, tail_start: int) -> str | None:
    """ "at 4 no wait 5, i have a thing at 4" read as "at 5, i have a thing at 4"; None when it is not that."""
    old = _LAST_NUMBER.search(text, 0, marker_start)
    new = _FIRST_NUMBER.match(text, tail_start)
    if old is None or new is None:
        return None
    number = new.group(1)
    meridiem = re.search(r"(?i)\s*[ap]m$", old.group(0))
    if meridiem and not re.search(r"(?i)[ap]m$", number):
        number += meridiem.group(0)  # "2pm... no make it 4": four in the afternoon too
    return text[: old.start()] + number + text[new.end() :]


# "5 min away... actually traffic, more like 20": the new number keeps the old one's unit.
_DURATION = re.compile(r"\b(\d{1,3})\s*(?:mins?|minutes?|hrs?|hours?)\b", re.I)
_BARE_AMOUNT = re.compile(
    r"\b(?:more\s+like|like|closer\s+to|prob(?:ably)?|maybe|say|make\s+it|mas\s+bien|como)\s+(\d{1,3})\b"
    r"(?!\s*(?:mins?|minutes?|hrs?|hours?|am|pm|[:.]\d))",
    re.I,
)


def _unit_carried(text: str, marker_start: int, tail_start: int) -> str | None:
    """ "5 min away... actually more like 20" read as "20 min away"; None when it is not that."""
    durations = list(_DURATION.finditer(text, 0, marker_start))
    old = durations[-1] if durations else None
    tail = text[tail_start:]
    new = _BARE_AMOUNT.search(tail)
    if old is None or new is None or len(re.findall(r"\d+", tail)) != 1:
        return None
    return text[: old.start(1)] + new.group(1) + text[old.end(1) : marker_start]


def _shifted(understood: Understanding, offset: int, why: str) -> Understanding:
    """A reading of the reply's tail, with its evidence placed in the whole reply."""
    evidence = tuple(dataclasses.replace(e, start=e.start + offset, end=e.end + offset) for e in understood.evidence)
    return _safe_why(dataclasses.replace(understood, evidence=evidence, why=why))


def _unclear(why: str) -> Understanding:
    return Understanding(intent=ReplyIntent.UNCLEAR, why=why)


def _safe_why(understood: Understanding) -> Understanding:
    # Belt and braces: the timeline shows `why` unmasked, so a code must never reach it.
    if understood.code and understood.code.strip("#*") in re.sub(r"\s", "", understood.why):
        return Understanding(
            intent=understood.intent,
            code=understood.code,
            window_start=understood.window_start,
            window_end=understood.window_end,
            detail=understood.detail,
            why="code given",
        )
    return understood


def _unclear_why(reply: _Reply) -> str:
    m = _STOP_FIRST.match(reply.t)
    if m:
        # "STOP PLEASE": carriers act only on the bare keyword, so neither do we; a person reads it.
        return f"{m.group(1).upper()!r} with other words is not a carrier keyword; a person decides"
    if reply.negated:
        return "says what not to do, not what to do"
    if _QUESTION.search(reply.t):
        return "a question, not an answer"
    if _ANOTHER_TIME.search(reply.t):
        return "asks for another time but names none"
    return "no rule matched"


_ANOTHER_TIME = re.compile(
    r"\b(?:another|different|other|some other)\s+(?:day|time)\b|\b(?:otro|otra)\s+(?:dia|hora|vez)\b|\breschedule\b"
)


# --- The order the rules are tried in ---------------------------------------------------------------------------------

_RULES = (
    _opt_in,
    _opt_out,
    _access_code,
    _refuse,
    _directions,
    _neighbour,
    _pickup,
    _safe_drop,
    _send_back,
    _now_or_later,
    lambda reply: _call_request(reply, conditional=True),
    _help_asked,
)
