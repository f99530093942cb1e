"""Times as a reply names them: clock readings, days and parts of the day, in English and Spanish SMS spellings.

One regex each for a clock reading with what comes before it (`_TIME`: "at 2", "after 5pm", "between 3 and 5",
"in 20 mins", "back in 10"), a day (`_DAY`: "tmrw", "friday", "the 21st", "next week", "later") and a part of the
day (`_PART`: "morning", "after lunch", "por la tarde"), and the small functions that turn a match into hours and
dates. Which of them the reply means, and for when, is read in `windows`.

Conventions follow the labelled corpus (shared/benchmarks/replies): delivery hours 08:00-20:00; a morning
08:00-12:00, an afternoon 12:00-17:00, an evening 17:00-20:00; "after lunch" 13:00; a bare hour is the next such
time within delivery hours that day (2 means 14:00); a weekday is its next occurrence after the day the outreach
went out.
"""

from __future__ import annotations

import datetime as dt
import re

from outreach.understanding.reply import _Reply

DAY_OPENS = dt.time(8)
DAY_CLOSES = dt.time(20)
MORNING = (dt.time(8), dt.time(12))
AFTERNOON = (dt.time(12), dt.time(17))
EVENING = (dt.time(17), dt.time(20))
LUNCH = (dt.time(12), dt.time(13))
AFTER_LUNCH = dt.time(13)
# A recipient who will be there within this long is treated as there now: the driver can wait or loop back.
SHORT_WAIT = dt.timedelta(minutes=10)
# "in 5 minutes" without a "give me"/"wait" is a shorter promise than "give me 10 minutes".
SHORT_ARRIVAL = dt.timedelta(minutes=5)
# A time of day that passed longer ago than this, with no day named, means the next day's.
GONE_GRACE = dt.timedelta(minutes=30)


_NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "un": 1,
    "una": 1,
    "uno": 1,
    "two": 2,
    "dos": 2,
    "three": 3,
    "tres": 3,
    "four": 4,
    "cuatro": 4,
    "five": 5,
    "cinco": 5,
    "six": 6,
    "seis": 6,
    "seven": 7,
    "siete": 7,
    "eight": 8,
    "ocho": 8,
    "nine": 9,
    "nueve": 9,
    "ten": 10,
    "diez": 10,
    "eleven": 11,
    "once": 11,
    "twelve": 12,
    "doce": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "forty five": 45,
    "forty-five": 45,
    "a few": 3,
    "few": 3,
    "unos": 3,
    "a couple": 2,
    "a couple of": 2,
    "couple": 2,
    "couple of": 2,
    "half an": 0.5,
    "half": 0.5,
    "half a": 0.5,
    "media": 0.5,
    "a half": 0.5,
}


def _number(word: str) -> float:
    word = re.sub(r"\s+", " ", word.strip())
    return float(word) if word.isdigit() else _NUMBER_WORDS.get(word, 0)


_HOUR_WORD = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"una|uno|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|once|doce"
)
# A clock reading: "2", "2pm", "2:30", "14:00", "6.30", "5ish", "three", "noon", "4 y media".
_CLOCK = (
    rf"(?:(?:a\s+)?(?:half|quarter)\s+(?:past|after|to|til|till)\s+)?(?:\d{{1,2}}(?![\d/])|{_HOUR_WORD}|noon|midday|mediodia|medio\s+dia|midnight)"
    r"(?:[:.h][0-5]\d)?(?:\s*(?:am|pm)\b|(?<=\d)[ap]\b)?(?:\s*o\s?'?\s?clock|\s?ish)?(?:\s+y\s+(?:media|cuarto))?"
)
_MERIDIEM_CLOCK = (
    r"\d{1,2}(?:[:.][0-5]\d)?\s*(?:am|pm)\b|\d{1,2}[:][0-5]\d|\d{1,2}(?<=\d)[ap]\b|noon|midday|mediodia"
    r"|\d{1,2}\s*o\s?'?\s?clock\b|half\s+\d{1,2}\b"
)
_AT = (
    r"at|@|back|opens|open\s+at|abre|abrimos|around|arround|aroud|round|about|abt|by|like|at\s+like|at\s+about|at\s+around|say|a\s+las|a\s+la|"
    r"como\s+a\s+las|tipo|sobre\s+las|para\s+las|alrededor\s+de\s+las|a\s+eso\s+de\s+las"
)
_AFTER = (
    r"after|aftr|afer|aft|dsp\s+de\s+las|desp\s+de\s+las|dsp\s+de\s+la|past|from|later\s+than|any\s*time\s+after|any\s*time\s+from|despues\s+de\s+las|"
    r"despues\s+de\s+la|desde\s+las|desde\s+la|a\s+partir\s+de\s+las|a\s+partir\s+de\s+la|luego\s+de\s+las"
)
_UNTIL = r"until|untill|untl|till|til|'til|hasta\s+las|hasta\s+la"
_BEFORE = r"before|b4|befor|bfr|no\s+later\s+than|antes\s+de\s+las|antes\s+de\s+la"
_UNIT_AFTER = (
    r"(?!\s*(?:min|mins|minute|minutes|hour|hours|hr|hrs|sec|secs|days?|weeks?|minutos|horas|dias|st|nd|rd|th)\b)"
)
_TIME = re.compile(
    rf"(?P<between>\b(?:between|btwn|btw|from|entre|de)\s+(?:las?\s+)?(?P<b1>{_CLOCK})\s*"
    rf"(?:and|&|to|til+|until|-|y|a|hasta|n)\s*(?:las?\s+)?(?P<b2>{_CLOCK}){_UNIT_AFTER}(?!\s*[\d/]))"
    rf"|(?P<range>(?<![\w:.#/-])(?P<r1>\d{{1,2}}(?:[:.][0-5]\d)?(?:\s*(?:am|pm))?)\s*(?:-|to)\s*"
    rf"(?P<r2>\d{{1,2}}(?:[:.][0-5]\d)?)\s*(?P<rap>am|pm)?(?![\w/-]){_UNIT_AFTER})"
    r"|(?P<rel>(?:(?:^|[.!?]\s*)\W*(?=\d{1,2}\s*(?:min|mins|minutes|minutos|hrs?|hours?)\W*$)|\b(?:now|back|in|within|en|dentro\s+de|give\s+me|gimme|dame|deme|need|estoy\s+a|llego\s+en|a|like|about|"
    r"around|approx|arrive(?:\s+home)?|reach(?:\s+home)?|be\s+(?:home|there|back))\s+)(?:~\s*|like\s+|about\s+|around\s+|approx\s+|unos\s+|un\s+)?"
    r"(?P<rn>\d{1,3}|an?|one|two|three|four|five|ten|fifteen|twenty|thirty|forty(?:[\s-]five)?|half(?:\s+an?)?|"
    r"a\s+half|a\s+couple(?:\s+of)?|couple(?:\s+of)?|a\s+few|few|una|media|dos|tres|cinco|diez|quince|veinte|"
    r"treinta)\s*"
    r"(?P<ru>min|mins|minute|minutes|minuto|minutos|hours|hour|hrs|hr|h|horas|hora)\b)"
    r"|(?P<away>\b(?P<an>\d{1,3}|a\s+few|few|a\s+couple(?:\s+of)?|one|two|three|four|five|ten|fifteen|twenty|thirty|"
    r"half\s+an?|half|an?)"
    r"\s*(?P<au>min|mins|minute|minutes|hours?|hrs?)\s+(?:away|out)\b)"
    r"|(?P<soon>(?:\b(?:back|home|there|here|down|out|arrive|arriving|be\s+there|llego|estoy\s+ahi)\s+|^\W*)"
    r"(?:in|en)\s+(?:like\s+|about\s+|around\s+|como\s+)?(?P<sn>\d{1,2})(?![\d:\w])(?!\s*(?:am|pm|a\.|p\.|o'?clock|mins?|minutes?|minutos|hrs?|hours?|horas?|"
    r"days?|dias?|weeks?|st|nd|rd|th)\b))"
    rf"|(?P<prep>(?<![\w'])(?P<p>{_AT}|{_AFTER}|{_UNTIL}|{_BEFORE})(?:\s+|(?<=@)|(?<=after)(?=\d)|(?<=til)(?=\d))(?:(?:about|around|like|approx|approximately|maybe|the)\s+)?(?P<c>{_CLOCK}){_UNIT_AFTER}(?![\w/]))"
    rf"|(?P<hhmm>(?<![\w'])(?P<hp>by|at|until|till|til|after|before|around|@)\s*(?P<hh>[01]?\d|2[0-3])(?P<mm>[0-5]\d)\b"
    r"(?!\s*(?:am|pm|min|hour|hr)))"
    rf"|(?P<bare>(?<![\w:#*/.])(?P<bc>{_MERIDIEM_CLOCK}|\d{{1,2}}(?=ish\b)|(?:half|quarter)\s+(?:past|to|after)\s+\d{{1,2}}\b)(?:\s?ish)?(?![\w/]))"
    rf"|(?P<dayclock>(?<![\w:#*/.])(?P<dc>\d{{1,2}}(?:[:.][0-5]\d)?)(?=\s+(?:in\s+the|this|de\s+la|por\s+la|at\s+night|"
    rf"tonight|tomorrow|tmrw|today|manana|hoy)\b))"
)
_PREP_KIND = [
    (re.compile(rf"^(?:{_AFTER})$"), "after"),
    (re.compile(rf"^(?:{_UNTIL})$"), "until"),
    (re.compile(rf"^(?:{_BEFORE})$"), "before"),
]
_CLOCK_PARTS = re.compile(
    rf"(?:a\s+)?(?P<half>(?:half|quarter)\s+(?:(?:past|after|to|til|till)\s+)?)?(?P<h>\d{{1,2}}|{_HOUR_WORD}|noon|midday|mediodia|medio\s+dia|midnight)"
    r"(?:[:.h](?P<m>[0-5]\d))?\s*(?P<ap>am|pm|a|p)?(?:\s*o\s?'?\s?clock|\s?ish)?(?:\s+y\s+(?P<y>media|cuarto))?"
)

_TOMORROW = (
    r"tomorrow|tomorow|tommorow|tommorrow|tomorrrow|tomorro|tomoro|tmrw|tmrow|tmrrw|tmw|tmr|tmro|2moro|2morrow|2morow|"
    r"2mrw|2mro|2mrow|mnn|mna|mnna"
)
_WEEKDAYS = {
    "monday": 0,
    "mon": 0,
    "lunes": 0,
    "tuesday": 1,
    "tues": 1,
    "tue": 1,
    "martes": 1,
    "wednesday": 2,
    "wed": 2,
    "weds": 2,
    "wensday": 2,
    "wednsday": 2,
    "miercoles": 2,
    "thursday": 3,
    "thurs": 3,
    "thur": 3,
    "thu": 3,
    "thrusday": 3,
    "jueves": 3,
    "friday": 4,
    "fri": 4,
    "viernes": 4,
    "saturday": 5,
    "saterday": 5,
    "sat": 5,
    "sabado": 5,
    "sunday": 6,
    "sun": 6,
    "domingo": 6,
}
_MONTHS = {
    name: i + 1
    for i, names in enumerate(
        [
            ("january", "jan", "enero"),
            ("february", "feb", "febrero"),
            ("march", "mar", "marzo"),
            ("april", "apr", "abril"),
            ("may", "mayo"),
            ("june", "jun", "junio"),
            ("july", "jul", "julio"),
            ("august", "aug", "agosto"),
            ("september", "sep", "sept", "septiembre"),
            ("october", "oct", "octubre"),
            ("november", "nov", "noviembre"),
            ("december", "dec", "diciembre"),
        ]
    )
    for name in names
}
_MONTH_NAMES = "|".join(sorted(_MONTHS, key=len, reverse=True))


def _slipped(name: str) -> set[str]:
    """A day's name typed with a letter dropped or two swapped ("mondy", "thrusday"), first two letters kept."""
    dropped = {name[:i] + name[i + 1 :] for i in range(2, len(name))}
    swapped = {name[:i] + name[i + 1] + name[i] + name[i + 2 :] for i in range(2, len(name) - 1)}
    return (dropped | swapped) - {name}


# "wednes day": a day's name split in two.
_WEEKDAYS.update({f"{n[:-3]} day": number for n, number in list(_WEEKDAYS.items()) if n.endswith("day") and len(n) > 6})
# Typed days resolve to the day; a name ("frida") or a word ("sunda") is not one.
_WEEKDAYS.update(
    {
        slip: number
        for name, number in list(_WEEKDAYS.items())
        if len(name) >= 6 and name.endswith("day")
        for slip in _slipped(name)
        if slip not in _WEEKDAYS and slip not in ("frida", "sunda", "monda")
    }
)
# "sat" and "sun" are ordinary words too; they count as days only where a day is expected.
_WEEKDAY_NAMES = "|".join(sorted((d for d in _WEEKDAYS if d not in ("sat", "sun")), key=len, reverse=True))
_DAY = re.compile(
    rf"(?P<after_tomorrow>\b(?:the\s+)?day\s+after\s+(?:{_TOMORROW})\b|\bpasado\s+manana\b)"
    rf"|(?P<tomorrow>\b(?:{_TOMORROW})\b|(?<!\bla\s)(?<!\besta\s)\bmanana\b)"
    r"|(?P<today>\b(?:today|2day|tday|todays|hoy)\b)"
    r"|(?P<tonight>\b(?:tonight|tonite|2nite|2night|esta\s+noche)\b)"
    r"|(?P<next_week>\b(?:next|nxt|following)\s+(?:week|wk)\b|\b(?:la\s+)?(?:proxima|siguiente)\s+semana\b"
    r"|\b(?:la\s+)?semana\s+(?:que\s+viene|proxima|entrante)\b)"
    r"|(?P<weekend>\b(?:weekend|wknd|wkend)\b|\bfin\s+de\s+semana\b)"
    # "Mon-Fri", "Tuesday through Saturday", "weekdays": opening days, of which the next is the day to come.
    rf"|(?P<day_range>\b(?P<dr1>{_WEEKDAY_NAMES}|sat|sun)\s*(?:-|to|through|thru|til|till|until|a|hasta)\s*"
    rf"(?P<dr2>{_WEEKDAY_NAMES}|sat|sun)\b|\b(?:weekdays|week\s+days|entre\s+semana)\b)"
    rf"|(?P<weekday>(?<!')(?<!black\s)(?<!cyber\s)(?<!good\s)\b(?:{_WEEKDAY_NAMES})(?=s?\b)"
    r"|\b(?:sat|sun)\b(?=\s+(?:morning|afternoon|evening|night|at|after|before|am|pm|aft|morn|works|is|would|ok|good|instead|"
    r"fine|better|best|pls|please|then|or|and|\d)|\s*[,.!?]|\s*$)"
    r"|(?<=\bon\s)(?:sat|sun)\b|(?<=\bthis\s)(?:sat|sun)\b|(?<=\bnext\s)(?:sat|sun)\b)"
    rf"|(?P<date>\b(?P<mon>{_MONTH_NAMES})\.?\s+(?P<dom>\d{{1,2}})(?:st|nd|rd|th)?\b"
    rf"|\b(?P<dom2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:de|of)\s+(?P<mon2>{_MONTH_NAMES})\b"
    # "3311 1/2" is half a street number, not the 2nd of January.
    r"|(?<![\d/])(?<!\d\s)(?P<m3>1[0-2]|0?[1-9])/(?P<d3>3[01]|[12]\d|0?[1-9])(?![\d/])"
    r"|\b(?:on\s+)?the\s+(?P<dom4>\d{1,2})(?:st|nd|rd|th)\b(?!\s+(?:floor|fl|st|street|ave|avenue|time|place|apt|"
    r"unit|door|house|building|bldg|row|grade|attempt|try|piso)\b)"
    r"|(?<![\w/#])(?<!del\s)(?<!la\s)\bel\s+(?P<dom6>[1-9]|[12]\d|3[01])\b(?=\s+(?:estoy|esta|puedo|puede|traiga|"
    r"traigalo|venga|vengan|por\s+favor|sera|de\s+(?:este|este\s+mes|diciembre|noviembre|octubre))|\s*[,.!?]|\s*$)"
    r"|(?<![\w/#])(?P<dom5>[1-9]|[12]\d|3[01])(?:st|nd|rd|th)\b(?!\s+(?:floor|fl|st|street|ave|avenue|time|place|apt|"
    r"unit|door|house|building|bldg|row|grade|attempt|try|piso)\b))"
    r"|(?P<later>\b(?:later|l8r|l8ter)(?:\s+(?:today|on))?\b|\bmas\s+tarde\b)"
    r"|(?P<in_days>\b(?:in|en|dentro\s+de)\s+(?P<nd>\d|a|one|two|three|four|five|a\s+couple(?:\s+of)?|a\s+few|un|una|dos|tres)"
    r"\s+(?P<du>days?|dias?|weeks?|semanas?)\b)"
)
_PART = re.compile(
    r"(?P<after_lunch>\b(?:after|aftr|past|post|despues\s+del?|luego\s+del?)\s+(?:la\s+)?(?:lunch|lunchtime|almuerzo|comida)\b)"
    r"|(?P<lunch>\b(?:at|around|by|during|over|a\s+la\s+hora\s+del?)\s+(?:lunch|lunchtime|almuerzo|comida)\b)"
    r"|(?P<morning>\b(?:morning|mornin'?|mornig|moring|morn|mrng|mornings)\b|\b(?:por|en|de|a)\s+la\s+manana\b|\besta\s+manana\b"
    r"|\btemprano\b|\bfirst\s+thing\b)"
    r"|(?P<afternoon>\b(?:afternoon|afternoons|aftrnoon|afternon|arvo|aftn)\b|(?<=[a-z]\s)pm\b(?!\s*\d)|\baft\b(?!\s*\d)|\b(?:por|en|de|x)\s+la\s+tarde\b"
    r"|\besta\s+tarde\b)"
    r"|(?P<evening>\b(?:evening|evenings|evenin|evning|evenning|eve|evng|night|nite|nights)\b|\b(?:por|en|de)\s+la\s+noche\b)"
    r"|(?P<anytime>\b(?:any\s*time|all\s+day|whole\s+day|todo\s+el\s+dia|cualquier\s+hora|whenever)\b"
    r"(?!\s+(?:after|before|between|from|till|until|despues|antes|that|then)))"
)


def _clock(text: str) -> tuple[int, int, str] | None:
    """(hour, minute, meridiem) of a clock reading; meridiem is 'am', 'pm', or '' when the reply did not say."""
    m = _CLOCK_PARTS.match(text.strip())
    if m is None:
        return None
    word = re.sub(r"\s+", " ", m.group("h"))
    if word in ("noon", "midday", "mediodia", "medio dia"):
        return 12, 0, "pm"
    if word == "midnight":
        return 0, 0, "am"
    hour = int(word) if word.isdigit() else int(_NUMBER_WORDS[word])
    minute = int(m.group("m") or 0)
    if m.group("half"):
        # "half past six" 6:30, "quarter past six" 6:15, "quarter to six" 5:45.
        words = m.group("half").split()
        minute = 30 if words[0] == "half" else 15
        if len(words) > 1 and words[1] in ("to", "til", "till"):
            hour, minute = (hour - 1) or 12, 60 - minute
    if m.group("y"):
        minute = 30 if m.group("y") == "media" else 15
    if hour > 24 or (hour == 0 and not m.group("m")):
        return None
    ap = {"a": "am", "p": "pm"}.get(m.group("ap") or "", m.group("ap") or "")
    return hour, minute, ap


def _resolve(
    day: dt.date, clock: tuple[int, int, str], *, hint: str, now: dt.datetime, after: dt.datetime | None = None
) -> dt.datetime:
    """The clock on `day`. A bare hour is the next such time within delivery hours (2 means 14:00)."""
    hour, minute, ap = clock
    ap = ap or hint
    tz = now.tzinfo
    if hour > 12 or hour == 0:
        options = [hour % 24]
    elif ap == "am":
        options = [hour % 12]
    elif ap == "pm":
        options = [hour % 12 + 12]
    else:
        options = [hour % 12, hour % 12 + 12] if hour != 12 else [12]
    opens = dt.datetime.combine(day, DAY_OPENS, tzinfo=tz)
    closes = dt.datetime.combine(day, DAY_CLOSES, tzinfo=tz)
    if not clock[2] and hour <= 12 and all(not opens.hour <= h <= closes.hour for h in options):
        options = [hour % 12, hour % 12 + 12]  # a hint from elsewhere ("this morning ... back at 1") gives way
    stamps = [dt.datetime.combine(day, dt.time(h, minute), tzinfo=tz) for h in options]
    in_hours = [s for s in stamps if opens <= s <= closes] or stamps
    floor = after or (now if day == now.date() else None)
    upcoming = [s for s in in_hours if floor is None or s >= floor]
    if after is not None and not upcoming:
        upcoming = [s for s in stamps if s > after]
    return min(upcoming or in_hours)


def _at(day: dt.date, time: dt.time, now: dt.datetime) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=now.tzinfo)


def _day_offset(reply: _Reply, m: re.Match[str]) -> tuple[dt.date, dt.date] | None:
    """First and last day a day mention names."""
    today, kind = reply.today, m.lastgroup
    if kind in ("today", "tonight", "later"):
        return today, today
    if kind == "tomorrow":
        return today + dt.timedelta(days=1), today + dt.timedelta(days=1)
    if kind == "after_tomorrow":
        return today + dt.timedelta(days=2), today + dt.timedelta(days=2)
    if kind == "in_days":
        days = int(_number(m.group("nd")) * (7 if m.group("du").startswith(("week", "semana")) else 1))
        return today + dt.timedelta(days=days), today + dt.timedelta(days=days)
    if kind == "day_range":
        day = _next_open_day(reply, m, today - dt.timedelta(days=1))
        return day, day
    if kind == "weekday":
        wanted = _WEEKDAYS[m.group(0).rstrip("s") if m.group(0) not in _WEEKDAYS else m.group(0)]
        ahead = (wanted - today.weekday() - 1) % 7 + 1  # strictly after the day the outreach went out
        if reply.t[m.end() : m.end() + 1] == "s" and wanted == today.weekday():
            ahead = 0  # "we close at 4:30 thursdays", said on a Thursday: today
        day = today + dt.timedelta(days=ahead)
        return day, day
    if kind == "next_week":
        monday = today + dt.timedelta(days=7 - today.weekday())
        return monday, monday + dt.timedelta(days=4)
    if kind == "weekend":
        if today.weekday() == 6:
            return today, today  # on a Sunday, what is left of the weekend is today
        saturday = today + dt.timedelta(days=(5 - today.weekday()) % 7)
        return saturday, saturday + dt.timedelta(days=1)
    if kind == "date":
        return _date(reply, m)
    return None


def _next_open_day(reply: _Reply, m: re.Match[str], after: dt.date) -> dt.date:
    """The first day after ``after`` that a day range ("Mon-Fri", "weekdays") includes."""
    first, last = (_WEEKDAYS[m.group("dr1")], _WEEKDAYS[m.group("dr2")]) if m.group("dr1") else (0, 4)
    open_days = {(first + i) % 7 for i in range((last - first) % 7 + 1)}
    return next(after + dt.timedelta(days=n) for n in range(1, 8) if (after.weekday() + n) % 7 in open_days)


def _date(reply: _Reply, m: re.Match[str]) -> tuple[dt.date, dt.date] | None:
    today = reply.today
    month_name = m.group("mon") or m.group("mon2")
    if month_name:
        month, dom = _MONTHS[month_name], int(m.group("dom") or m.group("dom2"))
    elif m.group("m3"):
        month, dom = int(m.group("m3")), int(m.group("d3"))
    else:
        month, dom = today.month, int(m.group("dom4") or m.group("dom5") or m.group("dom6"))
        if dom <= today.day:
            month = month % 12 + 1
    year = today.year
    try:
        day = dt.date(year, month, dom)
        if day < today:
            day = dt.date(year + 1, month, dom)
    except ValueError:
        return None
    return day, day


def _part_hint(kind: str | None) -> str:
    return {"morning": "am", "afternoon": "pm", "evening": "pm", "tonight": "pm", "lunch": "pm"}.get(kind or "", "")
