"""Access codes: the gate, door or keypad code a reply gives, never one it calls old.

A number is a code when a code word comes before it in its sentence ("gate code is 4821", "codigo 1234"), when
it is marked with # or * ("#4821"), or when it follows a device or what to press ("buzzer 12", "press 4821",
"it's now 2277"). A unit, a phone or a time is not a code ("the code for unit 12 is 4821", "code doesn't work,
call me at 555 0188"), nor one the reply calls old ("the old code 1111 was wrong", "not 1234"). Of several, one
the reply calls new wins, then a code word over a mark over a device, then the first. In answer to an access
problem, a bare number of 3 to 10 digits, or the only number that is not a time, unit or phone, is the code.
A reply that carries a code and a fallback ("gate code 4821, or call me") is still a code: codes are read
before refusals, places, times and calls (rule 4).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from outreach.understanding.meaning import ReplyIntent, Understanding
from outreach.understanding.reply import _Reply
from outreach.understanding.times import _TIME

# Failures that ask the recipient for an access code, so a number alone in the reply can be read as one.
ACCESS_REASONS = frozenset({"ACCESS_DENIED", "WRONG_ACCESS_CODE", "GATE_CLOSED"})


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
    doubt = "the only number in the reply; nothing calls it a code" if best.tier == 3 else ""
    return Understanding(intent=ReplyIntent.ACCESS_CODE, code=re.sub(r"\s", "", best.code), why=best.why, doubt=doubt)


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
            intent=ReplyIntent.ACCESS_CODE,
            code=digits,
            why="a bare number in reply to an access problem",
            doubt="a number alone; nothing calls it a code",
        )
    return None
