"""Reply understanding: what a recipient's free-text answer to an outreach SMS means.

Deterministic and explainable on purpose: compiled regexes and small keyword
tables, English and Spanish, common SMS spellings. Whatever is not clearly one
thing is UNCLEAR, and a person reads it; a wrong guess costs a second failed
attempt, a human read costs a minute.

The rules are tried in a fixed order and the first that decides wins:

1. a carrier keyword that is the whole message (STOP, START, HELP...);
2. nothing to read (emoji, punctuation) or a bare number (no numbered menu);
3. a request to stop messages ("stop texting me");
4. an access code: a reply that carries a code and a fallback is still a code;
5. a refusal ("didn't order", "no lo quiero");
5a. asked how to find the door (the driver could not find the address):
    directions, when nothing in the reply is a drop-off, a time or a call;
6. a neighbour, a pickup point, a safe place, in that order;
7. "send it back" when nothing above matched;
8. the recipient is there now, or will be within minutes;
9. a call request;
10. a time to come back, or else "try again" with no time (there now);
11. a conditional call request ("call me if...").

Conventions for times follow the labelled corpus (shared/benchmarks/replies):
delivery hours 08:00-20:00; a morning 08:00-12:00, an afternoon 12:00-17:00,
an evening 17:00-20:00; "after lunch" 13:00; a bare hour is the next such time
within delivery hours that day (2 means 14:00); a weekday is its next
occurrence after the day the outreach went out.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass

from exceptions.models import ReplyIntent
from exceptions.workflow import Understanding

DAY_OPENS = dt.time(8)
DAY_CLOSES = dt.time(20)
MORNING = (dt.time(8), dt.time(12))
AFTERNOON = (dt.time(12), dt.time(17))
EVENING = (dt.time(17), dt.time(20))
LUNCH = (dt.time(12), dt.time(13))
AFTER_LUNCH = dt.time(13)
# A recipient who will be there within this long is treated as there now: the driver can wait or loop back.
SHORT_WAIT = dt.timedelta(minutes=15)
# "in 5 minutes" without a "give me"/"wait" is a shorter promise than "give me 10 minutes".
SHORT_ARRIVAL = dt.timedelta(minutes=5)
# "later" names no time; an hour on is the earliest a dispatcher would send the driver back.
LATER = dt.timedelta(hours=1)
# A time of day that passed longer ago than this, with no day named, means the next day's.
GONE_GRACE = dt.timedelta(minutes=30)

ACCESS_REASONS = frozenset({"ACCESS_DENIED", "WRONG_ACCESS_CODE", "GATE_CLOSED"})

# Twilio acts on its default keywords only when one is the whole message, so we read them the same way
# ("STOP PLEASE" is not one). "opt out" and "stop all" as two words are the FCC's and Telnyx's spellings.
CARRIER_KEYWORDS: dict[str, str] = {
    **dict.fromkeys(
        (
            "stop",
            "stopall",
            "stop all",
            "unsubscribe",
            "end",
            "quit",
            "revoke",
            "optout",
            "opt out",
            "opt-out",
            "cancel",
        ),
        ReplyIntent.OPT_OUT,
    ),
    **dict.fromkeys(("start", "yes", "unstop"), ReplyIntent.OPT_IN),
    # AYUDA is ours, not the carrier's: Spanish-speaking recipients ask for help in Spanish.
    **dict.fromkeys(("help", "info", "ayuda"), ReplyIntent.HELP),
}
_KEYWORD_TRIM = " \t\r\n.,!?¡¿'\"()[]-~:;"

# --- Reading the text: folded to lower case without accents, same length so spans map back to the original ----------

_FOLD = str.maketrans(
    "áàâäéèêëíìïîóòöôúùüûñç\u2019\u2018`\u00b4\u201c\u201d\u2013\u2014\u00a0\t\r",
    "aaaaeeeeiiiioooouuuunc''''\"\"--   ",
)
# "p.m." would otherwise end a sentence; rewritten in place with padding so offsets stay put.
_MERIDIEM_DOTS = re.compile(r"(?<=[\d\s])([ap])\.\s?m\.?")


def _fold(text: str) -> str:
    low = text.lower()
    if len(low) != len(text):
        # A few characters lower-case to two (e.g. 'İ'); keep them as they are so offsets stay aligned.
        low = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    low = low.translate(_FOLD)
    return _MERIDIEM_DOTS.sub(lambda m: (m.group(1) + "m").ljust(len(m.group(0))), low)


# A full stop ends a sentence unless it is a decimal ("6.30") or a title ("Mrs. Chen").
_STOP = r"\.(?!\d)(?<!\bmrs\.)(?<!\bmr\.)(?<!\bms\.)(?<!\bdr\.)(?<!\bsr\.)(?<!\bsra\.)"
_SENTENCE_END = re.compile(rf"[!?;\n]+|{_STOP}|\s-\s|\s/\s")
_CLAUSE_END = re.compile(rf"[!?;\n,()]+|{_STOP}|\s-\s|\s/\s|\s(?:but|pero|although|though|so|then|and then)\s")
_WORDS = re.compile(r"[^\W_]")


@dataclass(frozen=True)
class _Span:
    start: int
    end: int


class _Reply:
    """The reply once, folded, with its sentences and clauses; every rule reads from here."""

    def __init__(self, *, text: str, now: dt.datetime, reason_code: str) -> None:
        self.raw = text
        self.t = _fold(text)
        self.now = now
        self.today = now.date()
        self.reason_code = reason_code.strip().upper()
        self.sentences = _split(self.t, _SENTENCE_END)
        self.clauses = _split(self.t, _CLAUSE_END)
        self.negated_actions = [
            _Span(m.start(), _clause_end(self.t, m.end())) for m in _NEGATED_ACTION.finditer(self.t)
        ]
        self.negated = self.negated_actions + [_Span(m.start(), m.end()) for m in _NEGATED_PHRASE.finditer(self.t)]

    def is_negated(self, pos: int, *, actions_only: bool = False) -> bool:
        spans = self.negated_actions if actions_only else self.negated
        return any(span.start <= pos < span.end for span in spans)

    def sentence(self, pos: int) -> int:
        return _index_of(self.sentences, pos)

    def clause(self, pos: int) -> _Span:
        return self.clauses[_index_of(self.clauses, pos)]

    def original(self, start: int, end: int) -> str:
        return self.raw[start:end]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _split(text: str, boundary: re.Pattern[str]) -> list[_Span]:
    spans, start = [], 0
    for m in boundary.finditer(text):
        spans.append(_Span(start, m.start()))
        start = m.end()
    spans.append(_Span(start, len(text)))
    return spans


def _index_of(spans: list[_Span], pos: int) -> int:
    for i, span in enumerate(spans):
        if pos < span.end or (pos == span.end and i == len(spans) - 1):
            return i
    return len(spans) - 1


def _clause_end(text: str, pos: int) -> int:
    m = _CLAUSE_END.search(text, pos)
    return m.start() if m else len(text)


# "don't leave it outside", "no lo deje afuera": an action the recipient rules out, up to the end of its clause.
_NEGATED_ACTION = re.compile(
    r"\b(?:do ?n'?t|do not|dont|never|no|nunca|please don'?t|pls don'?t|can'?t|cannot|can not|won'?t|wont|"
    r"unable to|no puedo|no voy a)\s+(?:(?:please|pls|just|ever|u|you|go|lo|la|los|las|me|le)\s+){0,2}"
    r"(?:leave|leav|put|drop|place|set|give|deliver|hand|bring|send|take|pick|collect|get|go|come|"
    r"deje|dejes|dejen|dejar|dejarlo|dejarla|entregue|entreguen|pongan?|pongas|recoger|ir)\b"
)
# "not with the neighbour", "porch isn't safe", "my neighbour is away".
_NEGATED_PHRASE = re.compile(
    r"\bnot\s+(?:with|to|on|at|in)\s+(?:the|my|a|any)?\s*\w+(?:\s+\w+)?"
    r"|\b\w+(?:\s+\w+)?\s+(?:isn'?t|aren'?t|is\s+not|are\s+not|not)\s+(?:safe|secure)\b"
    r"|\b(?:neighbou?rs?|vecin[oa]s?)\s+(?:isn'?t|aren'?t|is\s+not|are\s+not|won'?t|can'?t|"
    r"(?:is|are)\s+(?:never|rarely|away|out|gone|at\s+work))\b"
    r"|\bno\s+(?:neighbou?rs?|vecin[oa]s?|lockers?|porch|safe\s*drop)\b"
    r"|\bnot\s+(?:the|my|a|an|any|your)\s+\w+"
)


# --- Entry point ------------------------------------------------------------------------------------------------------


def reply_understand(
    *, text: str, sent_at: dt.datetime, time_zone: zoneinfo.ZoneInfo, reason_code: str = ""
) -> Understanding:
    """What a recipient's reply means. Never guesses: what no rule reads clearly is UNCLEAR.

    `sent_at` is when the outreach went out (aware); times in the reply are read in `time_zone`.
    `why` names the rule or phrase that decided, for the case timeline; it never holds the access code.
    """
    if sent_at.tzinfo is None:
        raise ValueError("sent_at must be timezone-aware")
    key = _fold(text).strip(_KEYWORD_TRIM)
    keyword = CARRIER_KEYWORDS.get(re.sub(r"\s+", " ", key))
    if keyword is not None:
        return Understanding(intent=keyword, why=f"keyword {key.upper()!r} is the whole message")
    if not _WORDS.search(text):
        return _unclear("no words: emoji or punctuation only")
    reply = _Reply(text=text, now=sent_at.astimezone(time_zone), reason_code=reason_code)
    if _BARE_NUMBER.fullmatch(key):
        bare = _bare_code(reply, key)
        return bare or _unclear("a bare number: the message offers no numbered menu")
    for rule in _RULES:
        understood = rule(reply)
        if understood is not None:
            return _safe_why(understood)
    if _STOP_FIRST.match(reply.t):
        # Whoever starts with STOP is not asked again, whatever the carrier makes of the rest.
        return Understanding(intent=ReplyIntent.UNCLEAR, why=_unclear_why(reply), ask_again=False)
    return _unclear(_unclear_why(reply))


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


_STOP_FIRST = re.compile(r"^\W*(stop|stopall|unsubscribe|end|quit|revoke|optout|cancel)\b")


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


_QUESTION = re.compile(r"\?|\b(?:who|what|why|que|quien|por que)\b")
_ANOTHER_TIME = re.compile(
    r"\b(?:another|different|other|some other)\s+(?:day|time)\b|\b(?:otro|otra)\s+(?:dia|hora|vez)\b|\breschedule\b"
)


# --- 3. Stop messages -------------------------------------------------------------------------------------------------

_OPT_OUT = re.compile(
    r"\b(?:stop|quit|cease)\s+(?:(?:texting|txting|txtng|messaging|msging|msg|sending|contacting|bothering|spamming|"
    r"emailing|calling)\b(?:\s+(?:me|us|this number))?|(?:the|these|all|your|those)\s+(?:texts|messages|msgs|sms))"
    r"|\b(?:do ?n'?t|do not|dont|never|pls don'?t|please don'?t)\s+(?:text|txt|message|msg|contact|sms)\s+"
    r"(?:me|us|this number)\b"
    r"|\bno\s+more\s+(?:texts|txts|messages|msgs|sms)\b"
    r"|\b(?:do ?n'?t|do not|dont)\s+want\s+(?:these|your|any|any\s+more|more|the)\s+(?:texts|txts|messages|msgs|sms)\b"
    r"|\b(?:remove|take)\s+(?:me|my number|this number)\s+(?:off|from)\b"
    r"|\b(?:unsubscribe|opt)\s+me\b|\bopt(?:-|\s)?out\b|\bunsubscribe\b"
    r"|\bno\s+me\s+(?:escriba|escriban|mande|manden|envie|envien|textee|texteen|contacte|contacten)n?\b"
    r"|\bdej(?:a|e|en|ar)\s+de\s+(?:escribirme|mandarme|enviarme|textearme|molestarme)\b"
    r"|\bno\s+(?:quiero|deseo)\s+(?:recibir\s+)?(?:mas\s+)?mensajes\b"
)


def _opt_out(reply: _Reply) -> Understanding | None:
    m = _OPT_OUT.search(reply.t)
    if m is None:
        return None
    return Understanding(intent=ReplyIntent.OPT_OUT, why=f"asks to stop messages ({m.group(0).strip()!r})")


# --- 4. Access codes --------------------------------------------------------------------------------------------------

# Either contiguous digits or digits typed with single spaces ("5 5 0 2"), optionally marked with # or *.
_CODE = re.compile(r"(?<![\w#*])([#*]?(?:\d(?: \d){2,9}(?![\d])|\d{2,10})(?: ?[#*])?)(?![\w:]|\s?(?:am|pm|min|hr)\b)")
_CODE_WORD = re.compile(
    r"(?<!zip )(?<!area )(?<!postal )(?<!promo )(?<!tracking )(?<!bar )\b(?:"
    r"(?:(?:gate|door|entry|access|building|lobby|garage|front door|security|alarm|keypad|lockbox|lock box|box|new|"
    r"old|the|my|our)\s+)?(?:code|codes|c0de|pin|passcode|pass code|password|combo|combination)"
    r"|codigo|clave|contrasena|numero de acceso)\b"
    r"(?!\s+(?:postal|zip))"
)
# What to press at a device is access information too, but weaker than a number called a code.
_CODE_DEVICE = re.compile(r"\b(?:call ?box|callbox|buzzer|intercom|keypad|lockbox|lock box)\b")
_CODE_STOP = re.compile(r"call|phone|text|cell|llam|tel")
# How far after "code" its number may come.
CODE_REACH = 60
_CODE_ACTION = re.compile(
    r"\b(?:press|dial|enter|punch(?:\s+in)?|key\s+in|type(?:\s+in)?|buzz|ring|use|try|marque|marca|presione|"
    r"oprima|teclee|pulse|new\s+one(?:\s+is)?|new\s+number(?:\s+is)?|changed\s+(?:it\s+)?to|now\s+it'?s|it'?s\s+now|"
    r"el\s+nuevo\s+es|ahora\s+es)\s*:?\s*(?:the\s+)?(?:number\s+)?"
)
_CODE_MARKED = re.compile(r"(?<![\w#*])(#\d{3,10}|\*\d{3,10}|\d{3,10}[#*])(?!\w)")
_UNIT_BEFORE = re.compile(
    r"\b(?:apt|apartment|unit|suite|ste|no|number|num|room|rm|house|bldg|building|floor|lot|depto|departamento|dpto|"
    r"casa|piso|in|at)\.?\s*#?\s*$"
)
_OLD_BEFORE = re.compile(r"\b(?:old|used to be|wrong|antiguo|viejo|anterior)\b")
_OLD_JUST_BEFORE = re.compile(r"\b(?:was|not|isn'?t|era|no\s+es)\s*:?\s*$")
_NEW_BEFORE = re.compile(r"\b(?:new|now|nuevo|ahora|changed)\b")
_TIMEISH_BEFORE = re.compile(
    r"\b(?:at|after|before|until|till|til|by|around|in|from|between|and|to|las|la|apt|unit|suite|#)\s*$"
)
# Numbers a reply about access also carries that are not the code: "zip code is 60607", "my apt is 1204".
_OTHER_NUMBER = re.compile(
    r"\b(?:zip|postal|area|order|tracking|phone|cell|mobile|apt|apartment|unit|suite|address|street|house|"
    r"calle|telefono|celular|pedido|departamento|depto)\b"
)
_LONE_NUMBER = re.compile(r"(?<![\w#*:.\-()])\d{3,8}(?![\w:\-])")


@dataclass(frozen=True)
class _CodeFound:
    code: str
    pos: int
    tier: int
    why: str


def _access_code(reply: _Reply) -> Understanding | None:
    t = reply.t
    found: list[_CodeFound] = []
    for tier, words in ((0, _CODE_WORD), (2, _CODE_DEVICE)):
        for m in words.finditer(t):
            code = _code_after(reply, m.end())
            if code is not None:
                keyword = reply.original(m.start(), m.end()).strip()
                found.append(_CodeFound(code.group(1), code.start(1), tier, f"code after {keyword!r}"))
    for m in _CODE_MARKED.finditer(t):
        if not _UNIT_BEFORE.search(t, 0, m.start()):
            mark = "#" if "#" in m.group(1) else "*"
            found.append(_CodeFound(m.group(1), m.start(1), 1, f"code written with {mark!r}"))
    for m in _CODE_ACTION.finditer(t):
        code = _CODE.match(t, m.end())
        if code and len(re.sub(r"\D", "", code.group(1))) >= 3:
            found.append(_CodeFound(code.group(1), code.start(1), 2, f"code after {m.group(0).strip()!r}"))
    # "the old code 1111 was wrong, it's 2222 now": a code the reply calls old is not the one to use.
    found = [f for f in found if not _code_is_old(reply, f.pos)]
    if not found and reply.reason_code in ACCESS_REASONS:
        found = _lone_number(reply)
    if not found:
        return None
    new = [f for f in found if _NEW_BEFORE.search(t, reply.clause(f.pos).start, f.pos)]
    best = min(new or found, key=lambda f: (f.tier, f.pos))
    return Understanding(intent=ReplyIntent.ACCESS_CODE, code=re.sub(r"\s", "", best.code), why=best.why)


def _code_after(reply: _Reply, pos: int) -> re.Match[str] | None:
    """The first code-shaped number after a code word in its sentence: 'gate code doesnt work after 8pm, its 2277'."""
    end = min(reply.sentences[reply.sentence(pos)].end, pos + CODE_REACH)
    for code in _CODE.finditer(reply.t, pos, end):
        between = reply.t[pos : code.start()]
        if _CODE_STOP.search(between):
            return None  # "the code doesn't work, call me at 555 0188": that number is a phone
        if _UNIT_BEFORE.search(reply.t, pos, code.start()):
            continue  # "the code for unit 12 is 4821"
        if len(re.sub(r"\D", "", code.group(1))) >= 3 or not between.strip(" :-=is"):
            return code
    return None


def _code_is_old(reply: _Reply, pos: int) -> bool:
    """'the old code 1111 was wrong', 'not 1234': the last word on the matter before the number says old."""
    start = reply.clause(pos).start
    if _OLD_JUST_BEFORE.search(reply.t, start, pos):
        return True
    old = [m.end() for m in _OLD_BEFORE.finditer(reply.t, start, pos)]
    new = [m.end() for m in _NEW_BEFORE.finditer(reply.t, start, pos)]
    return bool(old) and (not new or max(old) > max(new))


def _lone_number(reply: _Reply) -> list[_CodeFound]:
    """In answer to an access problem, the one 3-8 digit number that is not a time, unit or phone is the code."""
    t = reply.t
    numbers = [
        m
        for m in _LONE_NUMBER.finditer(t)
        if not _TIMEISH_BEFORE.search(t, 0, m.start())
        and not _code_is_old(reply, m.start())
        and not _OTHER_NUMBER.search(t, reply.clause(m.start()).start, m.start())
    ]
    if len(numbers) != 1 or _TIME.search(t, numbers[0].start(), numbers[0].end() + 12):
        return []
    m = numbers[0]
    return [_CodeFound(m.group(0), m.start(), 3, "the only number in a reply about access")]


_BARE_NUMBER = re.compile(r"[#*]?\d(?:[\d ]*\d)?[#*]?")


def _bare_code(reply: _Reply, key: str) -> Understanding | None:
    digits = re.sub(r"\D", "", key)
    if "#" in key or "*" in key:
        if len(digits) >= 3:
            return Understanding(
                intent=ReplyIntent.ACCESS_CODE, code=key.replace(" ", ""), why="a code marked with # or *"
            )
        return None
    if reply.reason_code in ACCESS_REASONS and 3 <= len(digits) <= 10:
        # We asked for an access code; a 3+ digit reply is that code. A lone digit stays UNCLEAR (no menu).
        return Understanding(
            intent=ReplyIntent.ACCESS_CODE, code=digits, why="a bare number in reply to an access problem"
        )
    return None


# --- 5. Refusal -------------------------------------------------------------------------------------------------------

_REFUSE = re.compile(
    r"\b(?:i\s+)?(?:did ?n'?t|didnt|did not|never|have ?n'?t|havent|have not)\s+(?:order|ordered|buy|bought|"
    r"purchase|purchased|request|requested)\b"
    r"|\b(?:not|isn'?t|is not|aint|ain'?t)\s+(?:mine|ours|for me|for us|my (?:package|parcel|order))\b"
    r"|\b(?:do ?n'?t|dont|do not|no longer|don'?t even|not)\s+(?:want|need)\s+(?:it|this|that|them|anything|"
    r"(?:the|this|that|your)\s+(?:package|parcel|box|order|item|delivery|thing|stuff|product))\b"
    r"(?!\s+(?:left|to be left|outside|there|here|at|on|in|by|near|dropped|delivered to|"
    r"until|till|before|after|today|tomorrow|tonight|anymore\s+(?:at|on)))"
    r"|\brefuse[ds]?\b|\brefusing\b|\breject(?:ed|ing)?\b"
    r"|\bcancel\s+(?:it|(?:the|my|this|that)\s+(?:order|delivery|package|shipment)|order|delivery|shipment)\b"
    r"|\breturn\s+to\s+sender\b|\bwrong\s+person\b|\b(?:no\s*one|nobody)\s+(?:by|with|named)\s+that\s+name\b"
    r"|\b(?:already\s+)?cancell?ed\s+(?:it|this|that|the|my)\b|\bordered\s+(?:it\s+|this\s+)?by\s+mistake\b"
    r"|\b(?:doesn'?t|does not)\s+live\s+here\b"
    r"|\b(?:sent|delivered|shipped|came|ordered)\s+(?:to\s+(?:me|us|here)\s+)?(?:by\s+mistake|in\s+error|by\s+accident)\b"
    r"|\bwrong\s+(?:package|parcel|item|order)\b"
    r"|\bno\s+(?:lo|la|los|las)\s+(?:quiero|necesito|acepto|pedi|ordene|compre)\b"
    r"|\bno\s+quiero\s+(?:el|ese|este|nada)\b"
    r"|\bno\s+(?:pedi|ordene|compre|he pedido)\b|\bno\s+es\s+(?:mio|mia|para mi|nuestro)\b"
    r"|\b(?:want|need|get|prefer)\s+(?:a\s+)?refund\b|\breembolso\b"
    r"|\brechaz\w*|\bcancel(?:en|ar|e)\s+(?:el\s+)?(?:pedido|paquete|envio)\b"
)
_SEND_BACK = re.compile(
    r"\b(?:send|ship|take|bring)\s+(?:it|this|them|the\s+\w+)\s+back\b|\breturn\s+(?:it|this|them|the\s+\w+)\b"
    r"|\bdevuel(?:va|valo|vanlo|ve|ver|velo)\b|\bregres(?:alo|enlo|elo|ar)\b"
)


def _refuse(reply: _Reply) -> Understanding | None:
    for m in _REFUSE.finditer(reply.t):
        # A refusal carries its own "not" ("not mine"); only a ruled-out action ("don't return it") cancels it.
        if not reply.is_negated(m.start(), actions_only=True):
            return Understanding(intent=ReplyIntent.REFUSE, why=f"refusal ({reply.original(m.start(), m.end())!r})")
    return None


def _send_back(reply: _Reply) -> Understanding | None:
    for m in _SEND_BACK.finditer(reply.t):
        if not reply.is_negated(m.start(), actions_only=True):
            return Understanding(
                intent=ReplyIntent.REFUSE, why=f"asks to return it ({reply.original(m.start(), m.end())!r})"
            )
    return None


# --- 6a. Neighbour ----------------------------------------------------------------------------------------------------

_NEIGHBOUR = re.compile(
    r"\bn(?:ei|ie|e|ai)g?h?b(?:ou?)?rs?(?:'s)?\b|\bvecin[oa]s?\b|\bnext\s+door\b|\bde\s+al\s+lado\b"
)
_UNIT = re.compile(
    r"(?P<word>\b(?:apt|apartment|unit|suite|ste|no\.|number|num|room|rm|house|flat|bldg|depto|departamento|dpto|"
    r"casa|puerta|piso)\.?\s*#?\s*|#\s*)(?P<unit>[a-z]?\d{1,5}[a-z]?)\b"
    r"|(?P<prep>\b(?:in|at|from|of|del|de la|de el|en el|en la|en|el|la)\s+)"
    r"(?P<punit>\d{1,4}[a-z]|[a-z]\d{1,4}|\d{3,5}|1[3-9]|[2-9]\d)\b"
    r"(?!\s*(?:am|pm|min|hour|hr|o'?clock|:))"
    r"|(?P<bare>\b(?:\d{1,4}[b-gi-lnoq-z]|[a-z]\d{1,3}))\b"
)
_UNIT_RIGHT_AFTER = re.compile(
    r"\s+(?:at|in|from|of|del|de\s+la|en\s+el|en\s+la|#)\s*#?\s*(\d{1,4}[a-z]?)\b"
    r"(?!\s*(?:am|pm|a\.|p\.|:|o'?clock|min|hour|hr))"
)
_NAME = re.compile(
    r"(?:(?:Mr|Mrs|Ms|Miss|Dr|Sr|Sra|Srta|Don|Doña|Dona)\.?\s+)?[A-ZÁÉÍÓÚÑ][a-záéíóúñ'\-]+(?:\s+[A-ZÁÉÍÓÚÑ][a-záéíóúñ'\-]+)?"
)
_NOT_NAMES = _words(
    "i im i'm i'll id i'd the a an she he they we it its it's is will can could said has have had at in on next "
    "across apt unit please pls thanks thank ok okay leave give del de la el en por con her his my our their "
    "neighbor neighbour neighbors neighbours vecina vecino door house across upstairs downstairs who she's he's "
    "just also if and or but yes no hi hello hey"
)
_NEIGHBOUR_PLACE = re.compile(
    r"\b(?:next door|across the (?:hall|street|way|road)|upstairs|downstairs|on the (?:left|right)|"
    r"de al lado|de enfrente|de arriba|de abajo)\b"
)


def _neighbour(reply: _Reply) -> Understanding | None:
    t = reply.t
    for m in _NEIGHBOUR.finditer(t):
        if reply.is_negated(m.start()):
            continue
        sentence = reply.sentences[reply.sentence(m.start())]
        start = max(sentence.start, m.start() - 30)
        found = [_Span(m.start(), m.end())]
        name = _neighbour_name(reply, m, start, sentence.end)
        if name is not None:
            found.append(name)
        unit = _neighbour_unit(reply, m, start, sentence.end)
        if name is not None:
            # "neighbour Jo in 6": a small number right after the name is their unit too.
            right = _UNIT_RIGHT_AFTER.match(t, name.end)
            unit = _Span(right.start(1), right.end(1)) if right is not None else unit
        if unit is not None:
            found.append(unit)
        place = _NEIGHBOUR_PLACE.search(t, m.start(), sentence.end)
        if name is None and unit is None and place is not None:
            found.append(_Span(place.start(), place.end()))
        spans = found[1:] or found
        detail = reply.original(min(s.start for s in spans), max(s.end for s in spans)).strip(" ,()")
        return Understanding(
            intent=ReplyIntent.NEIGHBOR, detail=detail, why=f"neighbour named ({reply.original(m.start(), m.end())!r})"
        )
    return None


def _neighbour_name(reply: _Reply, keyword: re.Match[str], start: int, end: int) -> _Span | None:
    # A capitalised word right after the keyword ("neighbor Maria") or right before "next door" ("Dave next door").
    after = re.compile(r"[\s,:]+(?:(?:named|called|llamad[oa])\s+)?").match(reply.raw, keyword.end())
    candidates = []
    if after is not None:
        candidates.append(_NAME.match(reply.raw, after.end(), end))
    before = re.search(r"(\S+(?:\s+\S+)?)\s+$", reply.raw[start : keyword.start()])
    if before is not None:
        candidates.append(_NAME.fullmatch(reply.raw, start + before.start(1), start + before.end(1)))
        last = before.group(1).split()[-1]
        candidates.append(_NAME.fullmatch(reply.raw, keyword.start() - len(last) - 1, keyword.start() - 1))
    for name in candidates:
        if name is not None and name.group(0).split()[0].lower().strip(".") not in _NOT_NAMES:
            return _Span(name.start(), name.end())
    return None


def _neighbour_unit(reply: _Reply, keyword_match: re.Match[str], start: int, end: int) -> _Span | None:
    # Right after the keyword even a small number is a unit: "neighbour at 14", "vecino del 3".
    right = _UNIT_RIGHT_AFTER.match(reply.t, keyword_match.end())
    if right is not None:
        return _Span(right.start(1), right.end(1))
    keyword, best = keyword_match.start(), None
    for m in _UNIT.finditer(reply.t, start, end):
        if m.group("bare") and _TIME.match(reply.t, m.start()):
            continue
        if best is None or abs(m.start() - keyword) < abs(best.start() - keyword):
            best = m
    if best is None:
        return None
    if best.group("punit"):
        # "in 3B", "del 4A": the preposition is not part of the unit unless a name comes first.
        return _Span(best.start("punit"), best.end("punit"))
    return _Span(best.start(), best.end())


# --- 6b. Pickup point -------------------------------------------------------------------------------------------------

_PICKUP_PLACE = re.compile(
    r"(?:\b(?:the|a|an|your|ur|nearest|closest|nearby|local|amazon|ups|fedex|usps|parcel|package|pick ?-?up|"
    r"collection)\s+){0,3}"  # bounded: "a a a a ..." must not backtrack from every word
    r"\b(?:lockers?|depot|warehouse|distribution cent(?:er|re)|sorting facility|facility|hub|"
    r"pick ?-?up (?:point|location|spot|station|center|counter)|collection point|access point|post office|"
    r"parcel shop|service point|ups store|your office|your location|your store|"
    r"sucursal|oficina de correos|almacen|bodega|punto de (?:recogida|entrega|recoleccion)|casillero|loquer)\b"
)
_PICKUP_ACTION = re.compile(
    r"\bpick\s+(?:it|them|(?:the|my)\s+(?:package|parcel|box|order|delivery))\s+up\b"
    r"|\bpick\s*-?\s*up\s+(?:it|the\s+(?:package|parcel|box|order)|from|at)\b|\bpickup\s+from\b"
    r"|\bcome\s+(?:and\s+)?(?:get|grab|collect)\s+it\b|\bcollect\s+(?:it|them|the\s+(?:package|parcel|box|order))\b"
    r"|\bhold\s+(?:it|the\s+package|the\s+parcel|onto\s+it)\s+(?:at|for)\b|\bgo\s+get\s+it\b"
    r"|\b(?:i'?ll|i\s+will|ill|i\s+can|can\s+i|let\s+me|i\s+could|i'?d)\s+(?:rather\s+|just\s+)?(?:come\s+(?:and\s+)?)?"
    r"pick\s*-?\s*(?:it\s+)?up\b(?!\s+(?:the\s+)?(?:phone|call))"
    r"|\brecoger(?:lo|la|los)?\b|\b(?:lo|la)\s+recojo\b|\b(?:lo|la)\s+(?:paso|pasare|voy)\s+a\s+(?:buscar|recoger)\b"
    r"|\bpas(?:o|ar)\s+a\s+(?:buscarlo|recogerlo|por\s+el)\b"
)


def _pickup(reply: _Reply) -> Understanding | None:
    t = reply.t
    place = next((m for m in _PICKUP_PLACE.finditer(t) if not reply.is_negated(m.start())), None)
    action = next((m for m in _PICKUP_ACTION.finditer(t) if not reply.is_negated(m.start())), None)
    if place is not None:
        detail = re.sub(r"^(?:the|a|an)\s+", "", reply.original(place.start(), place.end()), flags=re.I)
        return Understanding(intent=ReplyIntent.PICKUP_POINT, detail=detail, why=f"pickup place ({detail!r})")
    if action is not None:
        # Collecting without naming a place means from us, i.e. the depot.
        phrase = reply.original(action.start(), action.end())
        return Understanding(
            intent=ReplyIntent.PICKUP_POINT, detail="depot", why=f"will collect ({phrase!r}), so the depot"
        )
    return None


# --- 6c. Safe place ---------------------------------------------------------------------------------------------------

# "leave" may stand alone ("leave with the front desk"); the others are also nouns ("my place") and need an object.
_DROP_VERB = re.compile(
    r"\b(?:just\s+)?(?:leave|leav|lave|leeve|drop\s+off)"
    r"(?:\s+(?:it|them|the\s+(?:package|parcel|box|delivery|order|pkg)|package|parcel|pkg))?(?:\s+(?:off|down|here))?"
    r"(?=\s|$|[.,!])"
    r"|\b(?:just\s+)?(?:put|drop|place|set|stick|toss|throw|hide|slide|slip|tuck|deliver)"
    r"\s+(?:it|them|the\s+(?:package|parcel|box|delivery|order|pkg))(?:\s+(?:off|down))?(?=\s|$|[.,!])"
    r"|\b(?:just\s+)?(?:give|hand)\s+(?:it|them|the\s+(?:package|parcel|box|pkg))(?=\s+to\b)"
    r"|\b(?:just\s+)?(?:put|drop)(?=\s+(?:at|on|in|by|behind|under|inside|outside|next\s+to)\b)"
    r"|\b(?:safe|ok(?:ay)?|fine)\s+to\s+leave(?:\s+(?:it|them))?"
    r"|\b(?:dejel[oa]s?|dejal[oa]s?|dejenl[oa]s?|dejarl[oa]s?|lo\s+puede\s+dejar|puede\s+dejarlo|lo\s+deja|"
    r"ponl[oa]|pongal[oa]|(?:deje|dejar|dejen)(?:\s+(?:el|la)\s+(?:paquete|caja|pedido))?)\b"
)
_LEAVE_ALONE = re.compile(r"leav|lave|leeve|dej")
# A person's name (original capitals) or another unit as the place to leave it.
_SOMEONE_ELSE = re.compile(
    r"(?:(?:Mr|Mrs|Ms|Miss|Dr|Sr|Sra|Srta)\.?\s+)?[A-Z][a-z]+\b(?!\s+(?:door|porch|desk|office|room|gate|garage|side))"
    r"|(?:apt|apartment|unit|suite|#|no\.)\s*#?\s*\d|\d{1,4}[A-Za-z]?\b(?!\s*(?:am|pm|st|nd|rd|th)\b)",
)
_PLACE_WORDS = _words(
    "reception security front back side lobby office door desk porch garage management concierge doorman mailroom "
    "mailbox gate building manager staff guard leasing main porter recepcion porteria portero conserje"
)
_HOUSEHOLD = re.compile(
    r"\b(?:wife|husband|son|daughter|kid|kids|mom|mum|dad|roommate|partner|family|esposa|esposo|hijo|hija|mama|papa)\b"
)
_DROP_PLACE = re.compile(
    r"\s*(?:(?:at|on|in|inside|into|by|behind|under|underneath|beneath|beside|next to|near|in front of|outside|"
    r"between|with|w/|w|to|against|round|around|on top of|through|thru|over|en|con|detras de|debajo de|junto a|"
    r"al lado de|dentro de|"
    r"frente a)\b(?:[^.!?;\n,]|(?<=\bmrs)\.|(?<=\bmr)\.|(?<=\bms)\.|(?<=\bdr)\.)*"
    r"|(?:outside|out front|out back|there|anywhere|wherever|afuera|fuera|atras|ahi)\b)"
)
_NOT_A_PLACE = re.compile(
    r"\s*(?:(?:at|by|around|after|before|until|till|on|in|for|en|a\s+las)\s+)?"
    r"(?:\d{1,2}(?:[:.]\d{2})?\s*(?:am|pm)?\b|noon|tomorrow|tmrw|today|tonight|work|the\s+(?:morning|afternoon|evening)|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
)
_NOTHING_MORE = re.compile(r"\s*(?:[.!,]|please\b|pls\b|plz\b|thanks\b|thx\b|por\s+favor\b|$)")
_PLACE_STOP = re.compile(
    r"\s+(?:please|pls|plz|thanks|thank you|thx|ty|if|and|but|so|because|cause|since|or|por favor|gracias|y|pero|si|"
    r"when|cuando|i'?m|i am|i'?ll|im|is|are|it'?s)\b.*$|\s*[-/:]\s*$"
)
_TRAILING_JUNK = re.compile(r"[^\w)]+$")
_PLACE_LEAD = re.compile(r"^\s*(?:at|on|in|with|w/|w|to|en|con)\s+|^\s*(?:the|my|our|a|an|your|la|el|los|las|mi)\s+")
_SAFE_PLACES = re.compile(
    r"\b(?:safe\s*drop|safe\s+place|porch|proch|back door|backdoor|frontdoor|side door|garage|mail ?room|package room|"
    r"parcel room|front desk|concierge|consierge|conserge|reception|doorman|door man|porter|mail ?box|parcel box|"
    r"package box|drop box|patio|"
    r"backyard|back yard|shed|planter|leasing office|front office|management office|security desk|"
    r"porteria|portero|recepcion|conserje|buzon|porche|garaje|cochera|puerta trasera)\b"
)
_SAFE_WORD = re.compile(r"^\W*safe\b")
# Everyday places that also come up in other talk ("knock on the front door"): a place only when offered as one.
_PLAIN_PLACES = re.compile(
    r"\b(?:front\s+door|door|front\s+step|steps?|stoop|lobby|gate|hallway|outside|entrance|entrada|puerta)"
    r"(?=\s+(?:is|would\s+be|should\s+be|es|esta)\s+(?:fine|ok|okay|good|great|safe|perfect|bien)\b"
    r"|\s*(?:pls|please|plz|por\s+favor)?\s*[.!]*\s*$)"
)
# A reply that is only a place: "behind the planter", "under the mat".
_PLACE_ONLY = re.compile(
    r"^\W*(?:behind|under|underneath|beneath|beside|next\s+to|inside|detras\s+de|debajo\s+de|junto\s+a)\s+[^.!?]+$"
)
_PRESENCE_BEFORE = re.compile(
    r"\b(?:i'?m|i am|im|we'?re|you'?re|you are|u r|ur|meet|come to|i'?ll be|be|waiting|estoy|estare|esperando|"
    r"coming|going|walking|heading|running|omw|on my way|voy)\b"
    r"[^.!?,\n]*$"
)
# Kept with the place: "behind the shed" is not "the shed".
_SPATIAL_BEFORE = re.compile(
    r"\b(?:behind|under|underneath|beneath|beside|next\s+to|inside|near|in\s+front\s+of|on\s+top\s+of|detras\s+de|"
    r"debajo\s+de|junto\s+a)\s+(?:(?:the|my|our|a|el|la|mi)\s+)?$"
)
_FUNCTION_WORDS = _words(
    "the my our a an to at on in by it is are was be can could will would should you u ur you're your me we i im "
    "i'm i'll it's and or but if so when then just please pls plz thx thanks ty use ok okay fine safe good great "
    "leave put drop call come go get try knock ring there here this that for of with from works unlocked open "
    "la el en de del con los las mi por favor puede es esta"
)


def _safe_drop(reply: _Reply) -> Understanding | None:
    t = reply.t
    for verb in _DROP_VERB.finditer(t):
        if reply.is_negated(verb.start()):
            continue
        place = _DROP_PLACE.match(t, verb.end())
        if place is not None and _NOT_A_PLACE.match(t, place.start()):
            continue  # "I leave at 5", "leave in 10 minutes": a time, not a place
        if place is None and not (_LEAVE_ALONE.search(verb.group(0)) and _NOTHING_MORE.match(t, verb.end())):
            continue  # "leave the door open", "drop by": not a drop-off instruction
        detail = _place_detail(reply, verb.end(), place.end()) if place else ""
        said = reply.original(verb.start(), verb.end()).strip()
        if _someone_else(detail):
            # "give it to Tom in 4", "leave it at 3B": another person or another unit is a neighbour.
            return Understanding(intent=ReplyIntent.NEIGHBOR, detail=detail, why=f"someone else named after {said!r}")
        return Understanding(
            intent=ReplyIntent.SAFE_DROP,
            detail=detail,
            why=f"place after {said!r}" if detail else f"told to {said!r}, no place named",
        )
    if _PLACE_ONLY.match(t):
        detail = _place_detail(reply, 0, len(t))
        return Understanding(intent=ReplyIntent.SAFE_DROP, detail=detail, why="the reply is a place")
    for m in _SAFE_PLACES.finditer(t):
        if reply.is_negated(m.start()) or _PRESENCE_BEFORE.search(t, reply.clause(m.start()).start, m.start()):
            continue
        detail = _noun_phrase(reply, m.start(), m.end())
        return Understanding(intent=ReplyIntent.SAFE_DROP, detail=detail, why=f"safe place named ({detail!r})")
    for m in _PLAIN_PLACES.finditer(t):
        if reply.is_negated(m.start()) or _PRESENCE_BEFORE.search(t, reply.clause(m.start()).start, m.start()):
            continue
        detail = _noun_phrase(reply, m.start(), m.end())
        return Understanding(intent=ReplyIntent.SAFE_DROP, detail=detail, why=f"offers a place ({detail!r})")
    if _SAFE_WORD.search(t):
        clause = reply.clause(0)
        detail = _PLACE_STOP.sub("", reply.original(clause.start, clause.end))
        detail = re.sub(r"^\W*safe\W*", "", detail, flags=re.I).strip()
        return Understanding(intent=ReplyIntent.SAFE_DROP, detail=detail, why="starts with 'SAFE'")
    return None


def _someone_else(detail: str) -> bool:
    m = _SOMEONE_ELSE.match(detail)
    if m is None or _HOUSEHOLD.search(detail.lower()):
        return False
    first = m.group(0).split()[0].lower().strip(".")
    return first not in _PLACE_WORDS and not _SAFE_PLACES.match(detail.lower())


def _place_detail(reply: _Reply, start: int, end: int) -> str:
    text = reply.original(start, end)
    text = _PLACE_STOP.sub("", text)
    for _ in range(2):
        text = _PLACE_LEAD.sub("", text)
    return _TRAILING_JUNK.sub("", text.strip(" .,!-/"))


def _noun_phrase(reply: _Reply, start: int, end: int) -> str:
    """The place noun widened over its neighbouring content words: 'garage' in 'SAFE garage side door is unlocked'."""
    words = list(re.finditer(r"[\w'-]+", reply.t))
    inside = [i for i, w in enumerate(words) if w.start() < end and w.end() > start]
    if not inside:
        return reply.original(start, end)
    lo, hi = inside[0], inside[-1]
    clause = reply.clause(start)
    while (
        lo > 0
        and hi - lo < 5
        and words[lo - 1].start() >= clause.start
        and words[lo - 1].group(0) not in _FUNCTION_WORDS
    ):
        lo -= 1
    while (
        hi + 1 < len(words)
        and hi - lo < 5
        and words[hi + 1].end() <= clause.end
        and words[hi + 1].group(0) not in _FUNCTION_WORDS
    ):
        hi += 1
    spatial = _SPATIAL_BEFORE.search(reply.t, clause.start, words[lo].start())
    return reply.original(spatial.start() if spatial else words[lo].start(), words[hi].end())


# --- 8. There now -----------------------------------------------------------------------------------------------------

_PRESENT = re.compile(
    r"\b(?:i'?m|i am|im|we'?re|we are|someone'?s|someone is|somebody'?s|somebody is|my\s+\w+\s+is|my\s+\w+'s|"
    r"he'?s|she'?s|they'?re|i'?m\s+already|i\s+just\s+got|just\s+got|i\s+got)\s+"
    r"(?:(?:already|just|now|finally|still|right)\s+)?"
    r"(?:home|here|there|back|in(?=\s*(?:[.!,]|$|now))|downstairs|outside|available|around|"
    r"at\s+(?:home|the\s+(?:(?:front|back|side|main)\s+)?(?:door|front|gate|lobby|house|entrance))|"
    r"in\s+the\s+(?:lobby|house|building|office))\b"
    r"(?!\s+(?:at|after|by|from|around|tomorrow|tmrw|tonight|later|on|in\s+\d|in\s+an?\b|"
    r"between|this\s+(?:afternoon|evening)|soon|next))"
    r"|\b(?:home|here|back|open)\s+now\b|\b(?:we'?re|we\s+are|it'?s|store\s+is|office\s+is)\s+open\b(?!\s+(?:at|after|from|until|till|on|tomorrow))"
    r"|\b(?:i'?m\s+|im\s+)?coming\b(?=\s*(?:[.!]|$))|\b(?:i'?m|im)\s+coming\b(?!\s+(?:home|back|at|after|by|in|on|tomorrow|tmrw|tonight|later|around|from))"
    r"|\b(?:be|back|down|out|there)\s+in\s+(?:a|one|1)\s+(?:sec|second|moment|min|minute)\b|\bcome\s+(?:on\s+)?up\b"
    r"|\b(?:i'?m|im|we'?re)\s+(?:in|at)\s+the\s+(?:back\s*yard|backyard|garden|yard|garage|back|side)\b"
    r"|\b(?:just\s+)?(?:pulled|pulling|got|getting)\s+(?:in|up|into)\s+(?:the\s+)?(?:driveway|now)\b|\bjust\s+(?:arrived|pulled\s+in)\b"
    r"|\b(?:on\s+my\s+way|omw|otw|coming\s+(?:down|out|now|to\s+the\s+door|right\s+now|over)|be\s+right\s+"
    r"(?:there|down|out|back|over)|brt|one\s+(?:sec|second|moment)|1\s+sec|hold\s+on|"
    r"(?:try|come|ring|knock)\s+(?:again\s+)?now|you\s+can\s+come\s+now|come\s+back\s+now|"
    r"knock\s+(?:again|loud|louder|harder)|ring\s+again|try\s+again\s+now)\b"
    r"|(?<!\bno\s)\b(?:ya\s+)?estoy\s+(?:en\s+casa|aqui|afuera|abajo)\b|\bya\s+(?:voy|bajo|salgo|llegue|estoy)\b"
    r"|^\W*(?:now|right\s+now|now\s+is\s+(?:fine|good|ok|okay)|ahora|ahorita)\W*$"
    r"|\bvoy\s+bajando\b|\bun\s+momento\b|\bespere(?:me)?\b|\bahorita\s+(?:bajo|salgo|voy)\b"
)
_TRY_AGAIN = re.compile(
    r"\b(?:try\s+again|ring\s+again|knock\s+again|ring\s+the\s+bell|knock\s+(?:loud|louder|harder)|come\s+back|"
    r"vuelva\s+a\s+(?:tocar|intentar)|intente\s+de\s+nuevo|toque\s+(?:el\s+timbre|otra\s+vez))\b"
    r"(?!\s+(?:later|another|some|other|next|tomorrow|tmrw|on|in|after|at))"
)
_NOT_PRESENT_BEFORE = re.compile(r"\b(?:not|no|nobody|no one|noone|nadie|isn'?t|aren'?t)\s*$")
_SHORT_WAIT = re.compile(
    r"\b(?:give\s+me|gimme|wait(?:\s+for\s+me)?|need|dame|espere(?:me)?|deme)\s+(?:like\s+|about\s+)?"
    r"(?P<n>a|an|one|two|three|five|ten|fifteen|a\s+few|a\s+couple(?:\s+of)?|\d{1,2}|un|una|unos|cinco|diez|dos)\s*"
    r"(?P<unit>min|mins|minute|minutes|minuto|minutos|sec|secs|second|seconds|segundos|moment|momento)\b"
)


def _present_now(reply: _Reply) -> str:
    """The phrase that says the recipient is there (or within minutes), or ''."""
    t = reply.t
    for m in _PRESENT.finditer(t):
        if _NOT_PRESENT_BEFORE.search(t, max(0, m.start() - 10), m.start()) or _in_complaint(reply, m.start()):
            continue
        return reply.original(m.start(), m.end())
    for m in _SHORT_WAIT.finditer(t):
        n = _number(m.group("n"))
        minutes = n / 60 if m.group("unit").startswith(("sec", "seg")) else n
        if m.group("unit").startswith("moment") or minutes <= SHORT_WAIT.total_seconds() / 60:
            return reply.original(m.start(), m.end())
    return ""


# --- 9. Call request --------------------------------------------------------------------------------------------------

_CALL = re.compile(
    r"\b(?:call|phone|ring|cal|cll)\s+(?:me|us|my\s+(?:cell|phone|number|mobile|husband|wife)|this\s+number|(?=\(?\d{3}))"
    r"|\bgive\s+(?:me|us)\s+a\s+(?:call|ring|buzz)\b"
    r"|\b(?:can|could|would|will|pls|please|plz)\s+(?:you|someone|somebody|the\s+driver|driver|u|anyone|y'?all)\s+"
    r"(?:please\s+|pls\s+)?(?:call|phone|ring)\b(?!\s*box)"
    r"|\bhave\s+(?:the\s+driver|someone|somebody|him|her|them|driver)\s+(?:call|phone)\b"
    r"|\b(?:please|pls|plz)\s+call\b(?!\s*box)"
    r"|\b(?:talk|speak)\s+(?:to|with)\s+(?:a\s+person|someone|somebody|a\s+human|the\s+driver|dispatch|a\s+real\s+person)\b"
    r"|\b(?:llamame|llameme|llamenme|marcame|marqueme|hablame|hableme)\b"
    r"|(?<!don't\s)(?<!dont\s)(?<!not\s)\btext\s+me\b(?=\s*(?:when|before|once|if|cuando|back|first))"
    r"|\bme\s+(?:pueden|puede|podrian|podria|puedes)\s+(?:llamar|marcar|hablar)\b"
)
_CALL_CONDITION = re.compile(r"\s*(?:if|in\s+case|when|once|before|si|cuando|antes)\b")
_NO_CALL_BEFORE = re.compile(r"\b(?:don'?t|dont|do not|no need to|never|no me|not)\s+(?:\w+\s+)?$")


def _call_request(reply: _Reply, *, conditional: bool) -> Understanding | None:
    t = reply.t
    for m in _CALL.finditer(t):
        if _NO_CALL_BEFORE.search(t, max(0, m.start() - 20), m.start()):
            continue
        courtesy = bool(_CALL_CONDITION.match(t, m.end()))
        if courtesy == conditional:
            phrase = reply.original(m.start(), m.end()).strip()
            kind = "asks for a call if needed" if conditional else "asks for a call"
            return Understanding(intent=ReplyIntent.CALL_REQUEST, why=f"{kind} ({phrase!r})")
    return None


# --- 10. Times --------------------------------------------------------------------------------------------------------

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
    rf"(?:half\s+past\s+)?(?:\d{{1,2}}(?![\d/])|{_HOUR_WORD}|noon|midday|mediodia|medio\s+dia|midnight)"
    r"(?:[:.h][0-5]\d)?(?:\s*(?:am|pm)\b|(?<=\d)[ap]\b)?(?:\s*o'?clock|\s?ish)?(?:\s+y\s+(?:media|cuarto))?"
)
_MERIDIEM_CLOCK = r"\d{1,2}(?:[:.][0-5]\d)?\s*(?:am|pm)\b|\d{1,2}[:][0-5]\d|\d{1,2}(?<=\d)[ap]\b|noon|midday|mediodia"
_AT = (
    r"at|@|around|arround|aroud|round|about|abt|by|like|at\s+like|at\s+about|at\s+around|say|a\s+las|a\s+la|"
    r"como\s+a\s+las|tipo|sobre\s+las|para\s+las|alrededor\s+de\s+las|a\s+eso\s+de\s+las"
)
_AFTER = (
    r"after|aftr|afer|past|from|later\s+than|any\s*time\s+after|any\s*time\s+from|despues\s+de\s+las|"
    r"despues\s+de\s+la|desde\s+las|desde\s+la|a\s+partir\s+de\s+las|a\s+partir\s+de\s+la|luego\s+de\s+las"
)
_UNTIL = r"until|untill|untl|till|til|'til|hasta\s+las|hasta\s+la"
_BEFORE = r"before|b4|befor|bfr|no\s+later\s+than|antes\s+de\s+las|antes\s+de\s+la"
_UNIT_AFTER = (
    r"(?!\s*(?:min|mins|minute|minutes|hour|hours|hr|hrs|sec|secs|days?|weeks?|minutos|horas|dias|st|nd|rd|th)\b)"
)
_TIME = re.compile(
    rf"(?P<between>\b(?:between|btwn|btw|from|entre|de)\s+(?:las?\s+)?(?P<b1>{_CLOCK})\s*"
    rf"(?:and|&|to|til+|until|-|y|a|hasta)\s*(?:las?\s+)?(?P<b2>{_CLOCK}){_UNIT_AFTER}(?!\s*[\d/]))"
    rf"|(?P<range>(?<![\w:.#/-])(?P<r1>\d{{1,2}}(?:[:.][0-5]\d)?(?:\s*(?:am|pm))?)\s*(?:-|to)\s*"
    rf"(?P<r2>\d{{1,2}}(?:[:.][0-5]\d)?)\s*(?P<rap>am|pm)?(?![\w/-]){_UNIT_AFTER})"
    r"|(?P<rel>\b(?:in|within|en|dentro\s+de|give\s+me|gimme|dame|deme|need)\s+(?:like\s+|about\s+|around\s+|approx\s+|unos\s+|un\s+)?"
    r"(?P<rn>\d{1,3}|an?|one|two|three|four|five|ten|fifteen|twenty|thirty|forty(?:[\s-]five)?|half\s+an?|"
    r"a\s+half|a\s+couple(?:\s+of)?|couple(?:\s+of)?|a\s+few|few|una|media)\s*"
    r"(?P<ru>min|mins|minute|minutes|minuto|minutos|hours|hour|hrs|hr|h|horas|hora)\b)"
    r"|(?P<away>\b(?P<an>\d{1,3}|a\s+few|few|five|ten|fifteen|twenty|thirty)\s*(?P<au>min|mins|minute|minutes|hours?|hrs?)"
    r"\s+(?:away|out)\b)"
    r"|(?P<soon>\b(?:back|home|there|down|out)\s+in\s+(?P<sn>\d{1,2})(?!\s*(?:am|pm|:|\w)))"
    rf"|(?P<prep>(?<![\w'])(?P<p>{_AT}|{_AFTER}|{_UNTIL}|{_BEFORE})(?:\s+|(?<=@))(?:(?:about|around|like|approx|approximately|maybe)\s+)?(?P<c>{_CLOCK}){_UNIT_AFTER}(?![\w/]))"
    rf"|(?P<bare>(?<![\w:#*/.])(?P<bc>{_MERIDIEM_CLOCK})(?![\w/]))"
    rf"|(?P<dayclock>(?<![\w:#*/.])(?P<dc>\d{{1,2}}(?:[:.][0-5]\d)?)(?=\s+(?:in\s+the|this|de\s+la|por\s+la|at\s+night|"
    rf"tonight|tomorrow|tmrw|today|manana|hoy)\b))"
)
_PREP_KIND = [
    (re.compile(rf"^(?:{_AFTER})$"), "after"),
    (re.compile(rf"^(?:{_UNTIL})$"), "until"),
    (re.compile(rf"^(?:{_BEFORE})$"), "before"),
]
_CLOCK_PARTS = re.compile(
    rf"(?P<half>half\s+past\s+)?(?P<h>\d{{1,2}}|{_HOUR_WORD}|noon|midday|mediodia|medio\s+dia|midnight)"
    r"(?:[:.h](?P<m>[0-5]\d))?\s*(?P<ap>am|pm|a|p)?(?:\s*o'?clock|\s?ish)?(?:\s+y\s+(?P<y>media|cuarto))?"
)

_TOMORROW = (
    r"tomorrow|tomorow|tommorow|tommorrow|tomorrrow|tomorro|tomoro|tmrw|tmrow|tmrrw|tmw|tmr|tmro|2moro|2morrow|2morow|"
    r"2mrw|2mro|2mrow"
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
    rf"|(?P<weekday>(?<!')\b(?:{_WEEKDAY_NAMES})\b"
    r"|\b(?:sat|sun)\b(?=\s+(?:morning|afternoon|evening|night|at|after|before|\d))"
    r"|(?<=\bon\s)(?:sat|sun)\b|(?<=\bthis\s)(?:sat|sun)\b|(?<=\bnext\s)(?:sat|sun)\b)"
    rf"|(?P<date>\b(?P<mon>{_MONTH_NAMES})\.?\s+(?P<dom>\d{{1,2}})(?:st|nd|rd|th)?\b"
    rf"|\b(?P<dom2>\d{{1,2}})\s+de\s+(?P<mon2>{_MONTH_NAMES})\b"
    r"|(?<![\d/])(?P<m3>1[0-2]|0?[1-9])/(?P<d3>3[01]|[12]\d|0?[1-9])(?![\d/])"
    r"|\b(?:on\s+)?the\s+(?P<dom4>\d{1,2})(?:st|nd|rd|th)\b)"
    r"|(?P<later>\b(?:later|l8r|l8ter)(?:\s+(?:today|on))?\b|\bmas\s+tarde\b)"
    r"|(?P<in_days>\b(?:in|en|dentro\s+de)\s+(?P<nd>\d|a|one|two|three|four|five|a\s+couple(?:\s+of)?|a\s+few|un|una|dos|tres)"
    r"\s+(?P<du>days?|dias?|weeks?|semanas?)\b)"
)
_PART = re.compile(
    r"(?P<after_lunch>\b(?:after|aftr|past|despues\s+del?|luego\s+del?)\s+(?:la\s+)?(?:lunch|lunchtime|almuerzo|comida)\b)"
    r"|(?P<lunch>\b(?:at|around|by|during|over|a\s+la\s+hora\s+del?)\s+(?:lunch|lunchtime|almuerzo|comida)\b)"
    r"|(?P<morning>\b(?:morning|mornin'?|mornig|moring|morn|mrng|mornings)\b|\b(?:por|en|de|a)\s+la\s+manana\b|\besta\s+manana\b"
    r"|\btemprano\b|\bfirst\s+thing\b)"
    r"|(?P<afternoon>\b(?:afternoon|afternoons|aftrnoon|afternon|arvo)\b|\b(?:por|en|de)\s+la\s+tarde\b|\besta\s+tarde\b)"
    r"|(?P<evening>\b(?:evening|evenings|evenin|evning|evenning|eve|evng|night|nite|nights)\b|\b(?:por|en|de)\s+la\s+noche\b)"
    r"|(?P<anytime>\b(?:any\s*time|all\s+day|whole\s+day|todo\s+el\s+dia|cualquier\s+hora|whenever)\b"
    r"(?!\s+(?:after|before|between|from|till|until|despues|antes|that|then)))"
)
_NEGATED_DAY_BEFORE = re.compile(
    r"\b(?:not|no|can'?t|cant|cannot|won'?t|isn'?t|except|busy|away|out|gone|working|at\s+work|closed|"
    r"traveling|travelling|ocupad[oa]|trabajando|fuera)\b[^,.!?;\n]{0,20}$"
)
_NEGATED_DAY_AFTER = re.compile(
    r"^\s*(?:(?:is|isn'?t|doesn'?t|does not|won'?t|will not|is not)\s+(?:no\s+good|bad|not\s+good|work|good)|no)\b"
)
_CLOSING_BEFORE = re.compile(r"\b(?:close|closes|closing|shut|shuts|cierra|cierran|cerramos)\s+$")
_OPEN_BEFORE = re.compile(r"\b(?:open|abiert[oa]|available|disponible|here|home|around|there|aqui|en\s+casa)\s+$")
_NEGATOR = re.compile(r"\b(?:not|no|nobody|no\s+one|noone|nadie|never|nunca|isn'?t|aren'?t|won'?t|wont|can'?t|cant)\b")
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


def _in_complaint(reply: _Reply, pos: int) -> bool:
    clause = reply.clause(pos)
    return bool(_COMPLAINT.search(reply.t, clause.start, clause.end))


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
        minute = 30
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
    stamps = [dt.datetime.combine(day, dt.time(h, minute), tzinfo=tz) for h in options]
    opens = dt.datetime.combine(day, DAY_OPENS, tzinfo=tz)
    closes = dt.datetime.combine(day, DAY_CLOSES, tzinfo=tz)
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
    if kind == "weekday":
        wanted = _WEEKDAYS[m.group(0)]
        ahead = (wanted - today.weekday() - 1) % 7 + 1  # strictly after the day the outreach went out
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


def _date(reply: _Reply, m: re.Match[str]) -> tuple[dt.date, dt.date] | None:
    today = reply.today
    month_name = m.group("mon") or m.group("mon2")
    if month_name:
        month, dom = _MONTHS[month_name], int(m.group("dom") or m.group("dom2"))
    elif m.group("m3"):
        month, dom = int(m.group("m3")), int(m.group("d3"))
    else:
        month, dom = today.month, int(m.group("dom4"))
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


def _windows(reply: _Reply) -> list[_Window]:
    """Every time the reply names, resolved. Clauses that complain about the past ("I was home at 2") name none."""
    t, now = reply.t, reply.now
    days = [m for m in _DAY.finditer(t) if not _in_complaint(reply, m.start())]
    parts = [m for m in _PART.finditer(t) if not _in_complaint(reply, m.start())]
    times = [m for m in _TIME.finditer(t) if not _in_complaint(reply, m.start()) and not _is_unit_number(reply, m)]
    windows: list[_Window] = []
    carried: re.Match[str] | None = None
    for index in range(len(reply.sentences)):
        s_days = [d for d in days if reply.sentence(d.start()) == index]
        s_parts = [p for p in parts if reply.sentence(p.start()) == index]
        s_times = [m for m in times if reply.sentence(m.start()) == index]
        for m in s_times:
            day_match = _nearest(s_days, m.start()) or carried
            part = _nearest(s_parts, m.start())
            tonight = day_match is not None and day_match.lastgroup == "tonight"
            bounds = _day_offset(reply, day_match) if day_match else None
            day = bounds[0] if bounds else reply.today
            hint = "pm" if tonight else _part_hint(part.lastgroup if part else None)
            window = _time_window(reply, m, day, hint)
            if window is not None and day_match is None and _gone(window, now):
                # "gate opens at 9" sent at 11: today's 9 has passed, so the next one.
                window = _time_window(reply, m, day + dt.timedelta(days=1), hint)
            if window is not None:
                if day_match is not None:
                    # "tmrw after 10am": the timeline shows the day with the time.
                    first, second = sorted((m, day_match), key=lambda x: x.start())
                    if 0 <= second.start() - first.end() <= 20:
                        phrase = reply.original(first.start(), second.end())
                    else:
                        phrase = f"{reply.original(day_match.start(), day_match.end())} … {window.phrase}"
                    window = dataclasses.replace(window, phrase=phrase.strip())
                windows.append(window)
        if not s_times:
            for p in s_parts:
                day_match = _nearest(s_days, p.start()) or carried
                found = _part_window(reply, p, day_match, reply.today)
                if day_match is None and any(_gone(w, now) for w in found):
                    found = _part_window(reply, p, None, reply.today + dt.timedelta(days=1))
                windows.extend(found)
            if not s_parts:
                for d in s_days:
                    if not _day_negated(reply, d):
                        windows.extend(_day_window(reply, d))
        if s_days and not s_times:
            carried = s_days[-1]
        elif s_days:
            carried = None
    return windows


def _gone(window: _Window, now: dt.datetime) -> bool:
    if window.end is not None:
        return window.end <= now
    return window.start < now - GONE_GRACE


def _nearest(matches: Iterable[re.Match[str]], pos: int) -> re.Match[str] | None:
    return min(matches, key=lambda m: abs(m.start() - pos), default=None)


def _is_unit_number(reply: _Reply, m: re.Match[str]) -> bool:
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
        if not c1[2] and shared and not (shared == "pm" and c1[0] > c2[0] and c2[0] != 12):
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
    if m.group("prep"):
        clock = _clock(m.group("c"))
        word = re.sub(r"\s+", " ", m.group("p"))
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
        start = now + LATER
        if start.time() >= DAY_CLOSES or start.date() != reply.today:
            return []
        return [
            _Window(
                max(start, _at(reply.today, DAY_OPENS, now)),
                _at(reply.today, DAY_CLOSES, now),
                "day",
                d.start(),
                phrase,
            )
        ]
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
    if _UNTIL_BEFORE.search(reply.t, clause.start, d.start()):
        return False  # "not home until tonight": the day is when they are back
    return bool(
        _NEGATED_DAY_BEFORE.search(reply.t, clause.start, d.start())
        or _NEGATED_DAY_AFTER.match(reply.t, d.end(), clause.end)
    )


def _best_window(windows: list[_Window]) -> _Window | None:
    # "Not home till 7. can u try tmrw after 10am": the 'until' is a constraint, the request is the time to use;
    # among several, the latest start is the one the recipient is sure to be there for.
    wanted = [w for w in windows if w.kind != "until"] or windows
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


# --- Directions to the door (the driver could not find it) ---------------------------------------------------------

# Words that place a door: positions, entrances, landmarks, building parts, turns; English and Spanish.
_DIRECTION_CUE = re.compile(
    r"\b(?:behind|back|rear|side|around|round|corner|next\s+to|across|opposite|between|beside|past|facing|"
    r"entrance|entry|alley|driveway|lane|building|bldg|tower|block|floor|upstairs|downstairs|stairs|basement|"
    r"above|below|door|gate|garage|coach\s+house|carriage\s+house|left|right|turn|end\s+of|off\s+of|"
    r"blue|green|red|white|yellow|brown|grey|gray|black|"
    r"detras|atras|al\s+lado|enfrente|frente|esquina|entrada|callejon|porton|edificio|piso|escalera|"
    r"izquierda|derecha|arriba|abajo|puerta|azul|verde|roja|rojo|blanca|blanco|amarilla|amarillo)\b"
)
# A code belongs in the vault, never in notes every driver reads: such a reply is a person's to read.
_MENTIONS_CODE = re.compile(r"\b(?:code|codigo|clave|pin|passcode)\b|[#*]\s*\d|\d\s*[#*]")
DIRECTIONS_MIN_WORDS = 3
_LETTER_WORDS = re.compile(r"[^\W\d_]+")


def _directions(reply: _Reply) -> Understanding | None:
    """Asked how to find the door: a description of where it is. Anything else in the reply decides first."""
    if reply.reason_code != "ADDRESS_NOT_FOUND" or _MENTIONS_CODE.search(reply.t) or _QUESTION.search(reply.t):
        return None
    if _DROP_VERB.search(reply.t) or _now_or_later(reply) is not None:
        return None  # "leave it at the back", "I'm home after 5", "call me": those rules read it
    cue = _DIRECTION_CUE.search(reply.t)
    if cue is None or reply.is_negated(cue.start()) or len(_LETTER_WORDS.findall(reply.t)) < DIRECTIONS_MIN_WORDS:
        return None
    detail = re.sub(r"\s+", " ", reply.raw).strip()
    return Understanding(intent=ReplyIntent.DIRECTIONS, detail=detail, why=f"directions ({cue.group(0)!r})")


# --- The order the rules are tried in ---------------------------------------------------------------------------------


def _now_or_later(reply: _Reply) -> Understanding | None:
    present = _present_now(reply)
    window = _best_window(_windows(reply))
    later = window is not None and window.kind not in ("until", "before") and window.start > reply.now + SHORT_WAIT
    if present and not later:
        return Understanding(intent=ReplyIntent.AVAILABLE_NOW, why=f"there now ({present!r})")
    call = _call_request(reply, conditional=False)
    if call is not None:
        return call
    if window is None:
        again = _TRY_AGAIN.search(reply.t)
        if again is not None and not _in_complaint(reply, again.start()):
            # "sorry I was in the shower, try again": no time named, so now.
            return Understanding(intent=ReplyIntent.AVAILABLE_NOW, why=f"asks to try again ({again.group(0)!r})")
        return None
    if window.kind == "in" and window.end is None and window.start - reply.now <= SHORT_ARRIVAL:
        return Understanding(intent=ReplyIntent.AVAILABLE_NOW, why=f"there within minutes ({window.phrase!r})")
    return Understanding(
        intent=ReplyIntent.RESCHEDULE,
        window_start=window.start,
        window_end=window.end,
        why=_describe(window, reply.today),
    )


_RULES = (
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
)
