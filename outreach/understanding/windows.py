"""When the recipient can take the parcel: every time the reply names, resolved to a window in their local time.

Read sentence by sentence. A clock takes the day and the part of the day nearest it in its sentence, or the day
the sentence before named ("tomorrow. after 10"); a part of the day alone stands for its hours, a day alone for
the delivery hours left in it. A time of day already gone, with no day named, is the next day's. "We close at 5"
and "open until 6" mean come before then. Clauses that complain about the past ("I was home at 2") and days the
reply rules out ("not Monday", "busy Friday") name no time. Of several windows the latest start is the one
to use, an "until" only when nothing else is named.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from outreach.understanding.reply import _Reply
from outreach.understanding.times import (
    _DAY,
    _PART,
    _PREP_KIND,
    _TIME,
    _UNTIL,
    AFTER_LUNCH,
    AFTERNOON,
    DAY_CLOSES,
    DAY_OPENS,
    EVENING,
    GONE_GRACE,
    LUNCH,
    MORNING,
    _at,
    _clock,
    _day_offset,
    _next_open_day,
    _number,
    _part_hint,
    _resolve,
)

_NEGATED_DAY_BEFORE = re.compile(
    r"\b(?:not|no|can'?t|cant|cannot|won'?t|isn'?t|except|busy|away|out|gone|working|at\s+work|closed|"
    r"traveling|travelling|ocupad[oa]|trabajando|fuera)\b[^,.!?;\n]{0,20}$"
)
# Read from the day's end (``match`` anchors there): "friday is bad", "tuesday doesn't work", "saturday no".
_NEGATED_DAY_AFTER = re.compile(
    r"\s*(?:is\s+(?:no\s+good|bad|not\s+good|thanksgiving|christmas|a\s+holiday|new\s+year'?s)|(?:isn'?t|is\s+not)\s+good|"
    r"(?:doesn'?t|does\s+not|won'?t|will\s+not)\s+work|no)\b"
)
# "phone me when you're 10 minutes out": a time in a condition about the driver is not when to come.
_ABOUT_THE_DRIVER = re.compile(
    r"\b(?:when|once|if|before)\s+(?:you|u|ur|youre|he|she|the\s+driver)(?:'re|\s+are|'s|\s+is|\s+get|\s+r)?\b"
)
# "I'm out all day today", "away this morning": the part of the day they are gone.
_AWAY_BEFORE = re.compile(r"\b(?:out|away|gone|busy|working|at\s+work|not\s+(?:home|here|there))\b[^,.!?;]*$")
_BUSY_BEFORE = re.compile(
    r"\b(?:work|works|working|busy|trabajo|trabajando|closed|cerrado|cerramos)\s+(?:the\s+|on\s+|at\s+|in\s+|from\s+)?$"
)
_CLOSING_BEFORE = re.compile(r"\b(?:close|closes|closing|shut|shuts|cierra|cierran|cerramos)\s+$")
_OPEN_BEFORE = re.compile(r"\b(?:open|abiert[oa]|available|disponible|here|home|around|there|aqui|en\s+casa)\s+$")
_NEGATOR = re.compile(
    r"\b(?:not|no|nobody|no\s+one|noone|nadie|never|nunca|isn'?t|aren'?t|won'?t|wont|can'?t|cant|don'?t|dont|"
    r"doesn'?t|doesnt)\b"
)
_UNTIL_BEFORE = re.compile(rf"\b(?:{_UNTIL})\s+$")
_COMPLAINT = re.compile(
    r"\b(?:was|were|came|stolen|last\s+time|come\s+by\s+earlier|waited|been|estaba|estuve|vino|vinieron|never\s+came|"
    r"didn'?t\s+(?:come|knock|ring|even)|no\s+one\s+(?:came|knocked)|nobody\s+(?:came|knocked))\b"
)


@dataclass(frozen=True)
class _Window:
    start: dt.datetime
    end: dt.datetime | None
    kind: str  # at, after, until, before, range, part, day
    pos: int
    phrase: str
    # "thurs or fri. thurs better": the one the recipient prefers.
    preferred: bool = False
    # "back at 7, or friday morning if that's too late": offered only if the first will not do.
    alternative: bool = False


def _in_complaint(reply: _Reply, pos: int) -> bool:
    clause = reply.clause(pos)
    return bool(_COMPLAINT.search(reply.t, clause.start, clause.end))


def _windows(reply: _Reply) -> list[_Window]:
    """Every time the reply names, resolved. Clauses that complain about the past ("I was home at 2") name none."""
    found = reply.memo.get("windows")
    if found is None:
        found = reply.memo["windows"] = _read_windows(reply)
    return list(found)


def _read_windows(reply: _Reply) -> list[_Window]:
    t, now = reply.t, reply.now
    days = [m for m in _DAY.finditer(t) if not _in_complaint(reply, m.start())]
    # "I work nights", "busy mornings": when the recipient is away says nothing of when to come.
    parts = [
        m
        for m in _PART.finditer(t)
        if not _in_complaint(reply, m.start())
        and not _BUSY_BEFORE.search(t, max(0, m.start() - 16), m.start())
        and not re.match(r"\s+shifts?\b", t[m.end() :])
    ]
    # "I work 9 to 5": the hours of a job say when they are away, not when to come.
    times = [
        m
        for m in _TIME.finditer(t)
        if not _in_complaint(reply, m.start())
        and not _is_unit_number(reply, m)
        and not _ABOUT_THE_DRIVER.search(t, reply.clause(m.start()).start, m.start())
        and not ((m.group("range") or m.group("between")) and _BUSY_BEFORE.search(t, max(0, m.start() - 16), m.start()))
    ]
    windows: list[_Window] = []
    carried: re.Match[str] | None = None
    for index in range(len(reply.sentences)):
        s_days = [d for d in days if reply.sentence(d.start()) == index]
        s_parts = [p for p in parts if reply.sentence(p.start()) == index]
        s_times = [m for m in times if reply.sentence(m.start()) == index]
        hinted: set[int] = set()
        used: set[int] = set()
        for m in s_times:
            # The day in the clause, else one said before the time: "tomorrow, after 5" but not "at 7, or friday".
            clause_days = [d for d in s_days if reply.clause(d.start()) == reply.clause(m.start())]
            day_match = _nearest(clause_days or [d for d in s_days if d.start() < m.start()], m.start()) or carried
            if day_match is not None:
                used.add(day_match.start())
            # A part of the day tells a clock's half only in its own clause ("tmrw morning at 9", not
            # "working til 5 today, tmrw morning would be better").
            clause = reply.clause(m.start())
            part = _nearest([p for p in s_parts if clause.start <= p.start() < clause.end], m.start())
            if part is not None:
                hinted.add(part.start())
            tonight = day_match is not None and day_match.lastgroup == "tonight"
            bounds = _day_offset(reply, day_match) if day_match else None
            day = bounds[0] if bounds else reply.today
            hint = "pm" if tonight else _part_hint(part.lastgroup if part else None)
            window = _time_window(reply, m, day, hint)
            if window is not None and day_match is None and _gone(window, now):
                # "gate opens at 9" sent at 11: today's 9 has passed, so the next one.
                window = _time_window(reply, m, day + dt.timedelta(days=1), hint)
            elif (
                window is not None
                and day_match is not None
                and day_match.lastgroup == "day_range"
                and _gone(window, now)
            ):
                # "open 9-5 Mon-Fri" after five on a Tuesday: the next open day.
                window = _time_window(reply, m, _next_open_day(reply, day_match, day), hint)
            if window is not None:
                if day_match is not None:
                    # "tmrw after 10am": the timeline shows the day with the time.
                    first, second = sorted((m, day_match), key=lambda x: x.start())
                    if 0 <= second.start() - first.end() <= 20:
                        phrase = reply.original(first.start(), second.end())
                    else:
                        phrase = f"{reply.original(day_match.start(), day_match.end())} … {window.phrase}"
                    window = dataclasses.replace(window, phrase=phrase.strip())
                windows.extend(_preferring(reply, [window], m))
        for p in s_parts:
            if p.start() in hinted or p.group(0).endswith("s"):
                continue  # a clock's hint, or a habit ("I work nights", "nurse on nights")
            if _AWAY_BEFORE.search(reply.t, reply.clause(p.start()).start, p.start()):
                continue  # "I'm out all day today": when they are away
            part_days = [d for d in s_days if reply.clause(d.start()) == reply.clause(p.start())]
            day_match = _nearest(part_days or s_days, p.start()) or carried
            if day_match is not None:
                used.add(day_match.start())
            found = _part_window(reply, p, day_match, reply.today)
            if day_match is None and any(_gone(w, now) for w in found):
                found = _part_window(reply, p, None, reply.today + dt.timedelta(days=1))
            windows.extend(_preferring(reply, found, p))
        for d in (d for d in s_days if d.start() not in used):
            # "on saturdays" is a habit: it gives a time its day, never a day to come on its own.
            habit = d.lastgroup == "weekday" and reply.t[d.end() : d.end() + 1] == "s"
            if not habit and not _day_negated(reply, d):
                windows.extend(_preferring(reply, _day_window(reply, d), d))
        if s_days and not s_times:
            carried = s_days[-1]
        elif s_days:
            carried = None
    windows += _busy_until(reply)
    windows += _after_that(reply, windows)
    windows = _hours_on_the_day(windows)
    return [
        dataclasses.replace(w, alternative=True) if _ALTERNATIVE.match(reply.t, reply.clause(w.pos).start) else w
        for w in windows
    ]


def _busy_until(reply: _Reply) -> list[_Window]:
    """ "we r closed 12-1 lunch": busy until the range's end, which "come back after" points to."""
    found = []
    for m in _TIME.finditer(reply.t):
        if (m.group("range") or m.group("between")) and _BUSY_BEFORE.search(reply.t, max(0, m.start() - 16), m.start()):
            window = _time_window(reply, m, reply.today, "")
            if window is not None and window.end is not None:
                found.append(_Window(window.end, None, "until", m.start(), window.phrase))
    return found


def _hours_on_the_day(windows: list[_Window]) -> list[_Window]:
    """ "Open 9-6 Mon-Fri. Try tomorrow?": the day named elsewhere, at the hours the reply gives."""
    ranges = [w for w in windows if w.kind == "range" and w.end is not None]
    if len(ranges) != 1:
        return windows
    hours = ranges[0]
    assert hours.end is not None
    found = []
    for w in windows:
        if (
            w.kind == "day"
            and w.start.date() != hours.start.date()
            and w.end is not None
            and w.end.date() == w.start.date()
        ):
            start = dt.datetime.combine(w.start.date(), hours.start.timetz())
            end = dt.datetime.combine(w.start.date(), hours.end.timetz())
            w = dataclasses.replace(w, start=max(start, w.start), end=min(end, w.end), kind="range")
        found.append(w)
    return found


_AFTER_THAT = re.compile(
    r"\b(?:after\s+that|after\s+then|afterwards|despues\s+de\s+eso|despues)\b"
    r"|\bcome\s+(?:ba?c?k\s+)?after\b(?=\s*(?:[.!?]|$))"
)


def _after_that(reply: _Reply, windows: list[_Window]) -> list[_Window]:
    """ "not home until 5:30. any time after that works": the time they are busy until is when to come."""
    found = []
    for m in _AFTER_THAT.finditer(reply.t):
        before = [w for w in windows if w.kind in ("until", "before") and w.pos < m.start()]
        if before:
            until = before[-1]
            moment = until.end if until.kind == "before" and until.end is not None else until.start
            found.append(_Window(moment, None, "after", m.start(), f"{until.phrase} … {m.group(0)}"))
    return found


_ALTERNATIVE = re.compile(r"\W*(?:or|o|otherwise|else)\b")


def _gone(window: _Window, now: dt.datetime) -> bool:
    if window.end is not None:
        return window.end <= now
    return window.start < now - GONE_GRACE


def _nearest(matches: Iterable[re.Match[str]], pos: int) -> re.Match[str] | None:
    return min(matches, key=lambda m: abs(m.start() - pos), default=None)


def _is_unit_number(reply: _Reply, m: re.Match[str]) -> bool:
    if re.search(r"\d[AP]$", reply.raw[m.start() : m.end()]):
        return True  # "the super at 1A": a capital letter after the number is a unit; "1a" or "1am" is a time
    # "at 118" next to a neighbour is an address, not a time; _CLOCK only reads 1-2 digits, so this is "apt 12 at".
    return bool(re.search(r"\b(?:apt|unit|suite|#|no\.?|room)\s*$", reply.t[max(0, m.start() - 8) : m.start()]))


def _time_window(reply: _Reply, m: re.Match[str], day: dt.date, hint: str) -> _Window | None:
    now = reply.now
    phrase = reply.original(m.start(), m.end()).strip()
    if m.group("between") or m.group("range"):
        first, second = (m.group("b1"), m.group("b2")) if m.group("between") else (m.group("r1"), m.group("r2"))
        c1, c2 = _clock(first), _clock(second)
        if c1 is None or c2 is None:
            return None
        shared = m.group("rap") or c2[2]
        if not c1[2] and shared and c2[0] != 12 and not (shared == "pm" and c1[0] > c2[0]):
            c1 = (c1[0], c1[1], shared)
        start = _resolve(day, c1, hint=hint, now=now)
        end = _resolve(day, c2, hint="", now=now, after=start)
        if end <= start:
            return None
        return _Window(start, end, "range", m.start(), phrase)
    if m.group("rel") or m.group("soon") or m.group("away"):
        if m.group("soon"):
            amount, unit = float(m.group("sn")), "min"
        elif m.group("away"):
            amount, unit = _number(m.group("an")), m.group("au")
        else:
            amount, unit = _number(m.group("rn")), m.group("ru")
        delta = dt.timedelta(hours=amount) if unit.startswith("h") else dt.timedelta(minutes=amount)
        if not delta:
            return None
        return _Window(now + delta, None, "in", m.start(), phrase)
    if m.group("prep") or m.group("hhmm"):
        # "home by 1130": four digits after a preposition are a clock.
        clock = _clock(m.group("c")) if m.group("prep") else _clock(f"{m.group('hh')}:{m.group('mm')}")
        word = re.sub(r"\s+", " ", m.group("p") or m.group("hp"))
        kind = next((k for pattern, k in _PREP_KIND if pattern.match(word)), "at")
    else:
        clock = _clock(m.group("bc") or m.group("dc"))
        kind = "at"
    if clock is None:
        return None
    when = _resolve(day, clock, hint=hint, now=now)
    if _CLOSING_BEFORE.search(reply.t, max(0, m.start() - 12), m.start()) or (
        kind == "until"
        and _OPEN_BEFORE.search(reply.t, max(0, m.start() - 12), m.start())
        and not _NEGATOR.search(reply.t, reply.clause(m.start()).start, m.start())
    ):
        kind = "before"  # "we close at 5", "gate is open until 6": come before then
    ruled_out = re.search(
        r"\b(?:don'?t|dont|do\s+not|not|never|can'?t|cant|cannot|won'?t)\b",
        reply.t[reply.clause(m.start()).start : m.start()],
    )
    if kind == "before" and ruled_out:
        kind = "after"  # "please don't come before 2", "cant make it home b4 6": from then on
    closed = re.search(r"\b(?:closed|not\s+open|cerrado)\b", reply.t[reply.clause(m.start()).start : m.start()])
    if kind == "until" and closed:
        kind = "after"  # "we're closed til 10 tmrw": from ten
    if kind == "before":
        opens = max(_at(day, DAY_OPENS, now), now)
        return _Window(opens, when, "before", m.start(), phrase) if opens < when else None
    return _Window(when, None, kind, m.start(), phrase)


def _part_window(reply: _Reply, p: re.Match[str], day_match: re.Match[str] | None, today: dt.date) -> list[_Window]:
    now, kind = reply.now, p.lastgroup
    bounds = _day_offset(reply, day_match) if day_match else None
    day = bounds[0] if bounds else today
    phrase = reply.original(
        min(p.start(), day_match.start()) if day_match else p.start(),
        max(p.end(), day_match.end()) if day_match else p.end(),
    )
    if kind == "after_lunch":
        return [_Window(_at(day, AFTER_LUNCH, now), None, "after", p.start(), phrase)]
    if kind == "anytime":
        start = max(_at(day, DAY_OPENS, now), now) if day == now.date() else _at(day, DAY_OPENS, now)
        end_day = bounds[1] if bounds else day
        return [_Window(start, _at(end_day, DAY_CLOSES, now), "day", p.start(), phrase)]
    if kind == "morning" and re.search(r"first\s+thing|temprano", p.group(0)):
        return [_Window(_at(day, DAY_OPENS, now), None, "at", p.start(), phrase)]
    span = {"morning": MORNING, "afternoon": AFTERNOON, "evening": EVENING, "lunch": LUNCH}[kind or ""]
    return [_Window(_at(day, span[0], now), _at(day, span[1], now), "part", p.start(), phrase)]


def _day_window(reply: _Reply, d: re.Match[str]) -> list[_Window]:
    now = reply.now
    phrase = reply.original(d.start(), d.end())
    if d.lastgroup == "tonight":
        return [
            _Window(_at(reply.today, EVENING[0], now), _at(reply.today, EVENING[1], now), "part", d.start(), phrase)
        ]
    if d.lastgroup == "later":
        # "later", even "later today", names no time: the desk asks for one rather than invent it.
        return []
    bounds = _day_offset(reply, d)
    if bounds is None:
        return []
    first, last = bounds
    start = _at(first, DAY_OPENS, now)
    if first == reply.today:
        start = max(start, now)
        if start >= _at(first, DAY_CLOSES, now):
            return []
    return [_Window(start, _at(last, DAY_CLOSES, now), "day", d.start(), phrase)]


def _day_negated(reply: _Reply, d: re.Match[str]) -> bool:
    clause = reply.clause(d.start())
    # "wednesday? wait today IS wed lol. thursday then": the day the reply says is today is not the one meant.
    said_today = re.search(r"\btoday\s+is\b", reply.t) is not None
    if said_today and re.match(r"\s*(?:\?|is\s+today)", reply.t[d.end() :]):
        return True
    if said_today and re.search(r"\btoday\s+is\s+$", reply.t[clause.start : d.start()]):
        return True
    if _UNTIL_BEFORE.search(reply.t, clause.start, d.start()) or re.search(
        r"\b(?:hasta|until|till|til|back(?:\s+on)?|home\s+on)\s+(?:el\s+|la\s+|the\s+)?$",
        reply.t[clause.start : d.start()],
    ):
        return False  # "not home until tonight": the day is when they are back
    return bool(
        _NEGATED_DAY_BEFORE.search(reply.t, clause.start, d.start())
        or _NEGATED_DAY_AFTER.match(reply.t, d.end(), clause.end)
    )


_PREFERRED = re.compile(r"\s*(?:is|works|would\s+be|'s)?\s*(?:better|best|preferred|preferably|ideally|mejor)\b")


def _preferring(reply: _Reply, windows: list[_Window], mention: re.Match[str]) -> list[_Window]:
    if _PREFERRED.match(reply.t, mention.end()):
        return [dataclasses.replace(w, preferred=True) for w in windows]
    return windows


def _best_window(windows: list[_Window]) -> _Window | None:
    # "Not home till 7. can u try tmrw after 10am": the 'until' is a constraint, the request is the time to use;
    # among several, the latest start is the one the recipient is sure to be there for.
    wanted = [w for w in windows if w.preferred] or [w for w in windows if w.kind != "until"] or windows
    wanted = [w for w in wanted if not w.alternative] or wanted
    return max(wanted, key=lambda w: (w.start, w.end is not None, w.pos), default=None)


def _describe(window: _Window, today: dt.date) -> str:
    """ "time 'after 5' → 17:00 today", "time 'between 3 and 5' → 15:00-17:00 tomorrow"."""

    def day(moment: dt.datetime) -> str:
        if moment.date() == today:
            return "today"
        if moment.date() == today + dt.timedelta(days=1):
            return "tomorrow"
        return f"{moment:%a %d %b}"

    start, end = window.start, window.end
    if end is None:
        text = f"{start:%H:%M} {day(start)}"
    elif end.date() == start.date():
        text = f"{start:%H:%M}-{end:%H:%M} {day(start)}"
    else:
        text = f"{start:%H:%M} {day(start)} to {end:%H:%M} {day(end)}"
    return f"time {window.phrase!r} → {text}"
