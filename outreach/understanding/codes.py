"""Access codes: the gate, door or keypad code a reply gives, never one it calls old or takes back.

Codes are read from runs (`numbers`): "4417", "71 08", "K2291", "eight one eight one", "pound 4417". A run is a
code when a code word comes before it in its sentence ("gate code is 4821", "codigo 1234") or right after it
("55 19 is the code"), when it is marked with # or * ("#4821"), or when it follows a device or what to press
("buzzer 12", "press 4821", "it's now 2277"). A run next to a price, a floor, a street or inside a phone number is
not a code, nor is a unit, a phone or a time ("the code for unit 12 is 4821", "code doesn't work, call me at
555 0188"), nor one the reply calls old ("the old code 1111 was wrong", "not 1234") or takes back ("5816 no wait
5861"). Of several, one the reply calls new wins, then a code word over a mark over a device, then the first. In
answer to an access problem, a bare run of 3 to 10 digits, or the only run that is not a time, unit or phone, is
the code, though not a sure one.

How sure: a code called a code, marked, or pressed is sure when no other code competes with it; the only number
in a reply about access, or two codes with nothing to choose between them, is not. A reply that carries a code and
a fallback ("gate code 4821, or call me") is still a code: codes are read before refusals, places, times and calls
(rule 4).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from outreach.understanding.meaning import Evidence, ReplyIntent, Understanding
from outreach.understanding.numbers import Run, runs
from outreach.understanding.reply import _Reply, _words
from outreach.understanding.times import _TIME

# Failures that ask the recipient for an access code, so a number alone in the reply can be read as one.
ACCESS_REASONS = frozenset({"ACCESS_DENIED", "WRONG_ACCESS_CODE", "GATE_CLOSED"})

_CODE_WORD = re.compile(
    r"(?<!zip )(?<!area )(?<!postal )(?<!promo )(?<!tracking )(?<!bar )(?<!directory )(?<!dir )\b(?:"
    r"(?:(?:gate|door|entry|access|building|lobby|garage|front door|security|alarm|keypad|lockbox|lock box|box|new|"
    r"old|the|my|our)\s+)?(?:code|codes|c0de|pin|passcode|pass code|password|combo|combination)|gatecode|doorcode"
    r"|codigo|clave|contrasena|numero de acceso)(?![a-z])"
    r"(?!\s+(?:postal|zip))"
)
# "55 19 is the code", "4417 es la clave": the code word after the number.
_CODE_WORD_AFTER = re.compile(
    r"\s*(?:is|=|es|would\s+be|should\s+be|will\s+work|works|opens\s+(?:it|the\s+\w+))?\s*"
    r"(?:(?:is\s+)?(?:the|my|our|el|la|mi)\s+)?(?:(?:gate|door|entry|access|building|lobby|garage|new)\s+)?"
    r"(?:code|pin|passcode|codigo|clave)\b"
)
# What to press at a device is access information too, but weaker than a number called a code.
_CODE_DEVICE = re.compile(r"\b(?:call ?box|callbox|buzzer|intercom|keypad|lockbox|lock box)\b")
_CODE_STOP = re.compile(r"call|phone|text|cell|llam|tel")
# "the code is the last 4 of my phone number: 9026": a phone's digits as the code.
_PHONE_DIGITS = re.compile(r"\blast\s+(?:4|four|\d)\s+(?:digits\s+)?of\b|\bultimos\s+(?:4|cuatro)\b")
# How far after "code" its number may come.
CODE_REACH = 60
_CODE_ACTION = re.compile(
    r"\b(?:press|dial|enter|punch(?:\s+in)?|key\s+in|type(?:\s+in)?|use|try|hit|marque|marca|presione|"
    r"oprima|teclee|pulse|new\s+one(?:\s+is)?|new\s+number(?:\s+is)?|"
    r"(?:changed|switched|updated|reset|set)\s+(?:it\s+)?to|now\s+it'?s|it'?s\s+now|"
    r"el\s+nuevo\s+es|ahora\s+es|(?:gate|door|building|lobby|entry|entrance|keypad|buzzer|porton|puerta|reja)\s+"
    r"(?:is|=|es)|(?:gate|door|building|lobby|keypad|porton|puerta|reja)\s*[:=-])\s*:?\s*(?:the\s+)?(?:number\s+)?$"
)
_UNIT_BEFORE = re.compile(
    r"\b(?:apt|apartment|unit|suite|ste|no|number|num|room|rm|house|bldg|building|floor|lot|depto|departamento|dpto|"
    r"casa|piso|in|at)\.?\s*#?\s*$"
)
_UNIT_ONLY_BEFORE = re.compile(r"\b(?:apt|apartment|unit|suite|ste|room|rm|flat|depto|departamento)\.?\s*#?\s*$")
_OLD_BEFORE = re.compile(
    r"\b(?:old|used to be|wrong(?!\s+one\b)|antiguo|viejo|anterior|"
    r"(?:you|u|he|the\s+driver)\s+(?:probably|must\s+have)\s+"
    r"(?:put|used|tried|entered|typed|pressed)|(?:you|u|he|the\s+driver)\s+(?:used|tried|entered|typed|pressed))\b"
)
_OLD_JUST_BEFORE = re.compile(r"(?<!\bif\s)\b(?:was|not|isn'?t|era|no\s+es|no)\s*:?\s*(?:el|la|the)?\s*$")
_NEW_BEFORE = re.compile(r"\b(?:new|now|nuevo|ahora|changed)\b")
# "104 but that's broken", "the 1234 was from last year": said after it, the number is not the code.
_OLD_AFTER = re.compile(
    r"[^.!?;\d]{0,12}?\b(?:was|were|used\s+to|(?:it\s+)?rings\s+(?:me|my|the)|for\s+me\b|(?:is|'s|that'?s)\s+(?:(?:my|the|an?)\s+)?(?:broken|old|wrong|dead|out)|(?:doesn'?t|does\s+not|"
    r"don'?t|didn'?t|won'?t)\s+work|not\s+working|no\s+longer|expired|no\s+sirve|ya\s+no)\b"
)
# Numbers written with # that are something else: "order #55190", "house #1120".
_NOT_CODE_BEFORE = re.compile(
    r"\b(?:order|tracking|ref|reference|confirmation|invoice|po|pedido|orden|house|home|casa|address|lot|room|suite|apt)\s*$"
)
_RESTATED = re.compile(r"\b(?:it'?s|it\s+is|es|use|try|now)\b")
# "5816 no wait 5861", "4417 sorry I mean 4471": what comes after takes back what came before.
_TAKEN_BACK = re.compile(
    r"\b(?:no\s+wait|wait\s+no|wait|sorry|i\s+mean|i\s+meant|actually|correction|oops|typo|my\s+bad|"
    r"perdon|quise\s+decir|mejor\s+dicho|o\s+sea|digo|no\s+espere|espere|espera|hit\s+send\s+too\s+(?:fast|soon))\b|\bno\b[,.!]|\bno\s+(?:fr|jk|really|seriously|for\s+real)\b"
    r"|\b(?:jk|just\s+kidding|kidding)\b"
)
_TIMEISH_BEFORE = re.compile(
    r"\b(?:at|after|before|until|till|til|by|around|in|from|between|and|to|las|la|apt|unit|suite|back|home)\s*$"
)
# Numbers a reply about access also carries that are not the code: "zip code is 60607", "my apt is 1204".
_OTHER_NUMBER = re.compile(
    r"\b(?:zip|postal|area|order|tracking|phone|cell|mobile|apt|apartment|unit|suite|address|street|house|"
    r"calle|telefono|celular|pedido|departamento|depto|floor|piso|room|rm|flat|bldg|building|cuarto|ring|buzz|knock)\b"
)


@dataclass(frozen=True)
class _CodeFound:
    run: Run
    tier: int
    why: str
    said: Evidence | None = None

    @property
    def pos(self) -> int:
        return self.run.start


def _access_code(reply: _Reply) -> Understanding | None:
    t = reply.t
    all_runs = [r for r in runs(reply) if not r.beside]
    found: list[_CodeFound] = []
    for tier, words in ((0, _CODE_WORD), (2, _CODE_DEVICE)):
        for m in words.finditer(t):
            run = _code_after(reply, all_runs, m.end())
            if run is not None:
                keyword = reply.original(m.start(), m.end()).strip()
                said = Evidence(m.start(), m.end(), "code word" if tier == 0 else "device")
                found.append(_CodeFound(run, tier, f"code after {keyword!r}", said))
    found += _at_the_door(reply, all_runs)
    for run in all_runs:
        if _UNIT_ONLY_BEFORE.search(t, max(0, run.start - 12), run.start) and not _CODE_WORD.search(
            t, max(0, run.start - 14), run.start
        ):
            continue  # "apt 308", "unit 1207 on the callbox": a door, not a code
        symbol_first = _SYMBOL_FIRST.match(t, run.end)
        if symbol_first is not None and run.digits >= 3 and not run.code.startswith(("#", "*")):
            mark = "#" if re.search(r"#|pound|hash", symbol_first.group(0)) else "*"
            run = dataclasses.replace(run, code=mark + run.code)
        symbol_after = _SYMBOL_AFTER.match(t, run.end)
        if symbol_after is not None and run.digits >= 3 and not run.code.endswith(("#", "*")):
            mark = "#" if re.search(r"#|pound|hash", symbol_after.group(0)) else "*"
            run = dataclasses.replace(run, code=run.code + mark)
        keypad = _ON_THE_KEYPAD.match(t, run.end) or _PRESS_AFTER.match(t, run.end)
        if keypad is not None and run.digits >= 3:
            said = Evidence(keypad.start(), keypad.end(), "device")
            found.append(_CodeFound(run, 1, f"code {keypad.group(0).strip()!r}", said))
        after = _CODE_WORD_AFTER.match(t, run.end)
        owns = after is not None and any(r.start > after.end() and r.start - after.end() <= 3 for r in all_runs)
        if after is not None and run.digits >= 3 and not owns:
            found.append(_CodeFound(run, 0, "code before 'code'", Evidence(after.start(), after.end(), "code word")))
        marked = ("#" in run.code or "*" in run.code) and run.digits >= 3
        if marked and not _UNIT_BEFORE.search(t, 0, run.start) and not _NOT_CODE_BEFORE.search(t, 0, run.start):
            mark = "#" if "#" in run.code else "*"
            found.append(_CodeFound(run, 1, f"code written with {mark!r}"))
        action = _CODE_ACTION.search(t, max(0, run.start - 30), run.start)
        if action is not None and run.digits >= 3:
            said = Evidence(action.start(), action.end(), "what to press")
            found.append(_CodeFound(run, 2, f"code after {action.group(0).strip()!r}", said))
    # "the old code 1111 was wrong, it's 2222 now": a code the reply calls old is not the one to use.
    if reply.reason_code not in ACCESS_REASONS and not any(f.tier != 1 for f in found):
        # Not asked about access, a number marked with # alone is as likely a house or an order: no code.
        found = []
    found = [
        f
        for f in found
        if not _code_is_old(reply, f.pos) and not _said_old_after(reply, f.run) and not _taken_back(reply, f, found)
    ]
    if not found and reply.reason_code in ACCESS_REASONS:
        found = _lone_run(reply, all_runs)
    if not found:
        return None
    new = [f for f in found if _NEW_BEFORE.search(t, reply.clause(f.pos).start, f.pos)]
    best = min(new or found, key=lambda f: (f.tier, f.pos))
    later = _said_instead(reply, best.run, all_runs)
    if later is not None:
        best = _CodeFound(later, best.tier, f"{best.why}, then taken back", best.said)
    return Understanding(
        intent=ReplyIntent.ACCESS_CODE,
        code=best.run.code,
        why=best.why,
        doubt=_doubt(best, new or found) or _other_number(reply, best, all_runs),
        evidence=tuple(e for e in (best.said, Evidence(best.run.start, best.run.end, "the code")) if e is not None),
    )


def _doubt(best: _CodeFound, found: list[_CodeFound]) -> str:
    if best.tier == 3:
        return "the only number in the reply; nothing calls it a code"
    rivals = {f.run.code for f in found if f.tier == best.tier and f.run.code != best.run.code}
    if rivals:
        return "more than one code, none called new"
    if best.run.written == "words" and best.tier > 0:
        return "a code in words with nothing calling it a code"
    return ""


def _other_number(reply: _Reply, best: _CodeFound, all_runs: list[Run]) -> str:
    """Another number in the reply that could be the code, when nothing right before this one calls it a code."""
    if best.tier == 0:
        return ""
    t = reply.t
    for run in all_runs:
        if run.start == best.run.start or run.digits < 3 or run.code == best.run.code:
            continue
        if _code_is_old(reply, run.start) or _said_old_after(reply, run) or _UNIT_ONLY_BEFORE.search(t, 0, run.start):
            continue
        if _TIME.match(t, run.start) and not re.fullmatch(r"\d{3,}", run.code):
            continue
        return "another number in the reply could be the code"
    return ""


def _code_after(reply: _Reply, all_runs: list[Run], pos: int) -> Run | None:
    """The first code-shaped run after a code word in its sentence: 'gate code doesnt work after 8pm, its 2277'."""
    end = min(reply.sentences[reply.sentence(pos)].end, pos + CODE_REACH)
    for run in all_runs:
        if run.start < pos or run.start >= end:
            continue
        between = reply.t[pos : run.start]
        if _CODE_STOP.search(between) and not _PHONE_DIGITS.search(between):
            return None  # "the code doesn't work, call me at 555 0188": that number is a phone
        if (
            _UNIT_BEFORE.search(reply.t, pos, run.start)
            or run.beside == "street"
            or re.search(r"\bfor\s+$", reply.t[pos : run.start])
        ):
            continue  # "the code for unit 12 is 4821", "code for 1140 Elm is 6271"
        if _TIME.match(reply.t, run.start) and not re.fullmatch(r"\d{3,}", run.code):
            continue  # "the code doesn't work after 8pm"
        if run.digits >= 3:
            return run
        if not between.strip(" :-=is") and not any(
            r.start > run.end and r.start < end and r.digits >= 3 for r in all_runs
        ):
            return run
    return None


def _said_instead(reply: _Reply, run: Run, all_runs: list[Run]) -> Run | None:
    """ "code is 55.. sorry hit send too fast. 5521": a later number after words taking this one back."""
    for later in all_runs:
        if later.start > run.end and later.digits >= 3 and _TAKEN_BACK.search(reply.t, run.end, later.start):
            return later
    return None


def _said_old_after(reply: _Reply, run: Run) -> bool:
    """ "104 but that's broken": the words after the number say it is not the code; "if it doesn't work" does not."""
    m = _OLD_AFTER.match(reply.t, run.end)
    # "if it doesn't work" does not say it is broken; "el otro ya no works" speaks of another one.
    return m is not None and not re.search(
        r"\b(?:if|in\s+case|si|when|cuando|otro|otra|other|old\s+one|buzzer|intercom|call\s*box|doorbell|bell|timbre)\b",
        m.group(0),
    )


def _code_is_old(reply: _Reply, pos: int) -> bool:
    """'the old code 1111 was wrong', 'not 1234': the last word on the matter before the number says old."""
    start = reply.clause(pos).start
    if _OLD_JUST_BEFORE.search(reply.t, start, pos):
        return True
    old = [m.end() for m in _OLD_BEFORE.finditer(reply.t, start, pos)]
    # "u typed it wrong, its 0075": what is said after the old one is the code.
    new = [m.end() for m in _NEW_BEFORE.finditer(reply.t, start, pos)] + [
        m.end() for m in _RESTATED.finditer(reply.t, start, pos)
    ]
    return bool(old) and (not new or max(old) > max(new))


def _taken_back(reply: _Reply, code: _CodeFound, found: list[_CodeFound]) -> bool:
    """A code followed by a word taking it back and another code: '5816 no wait 5861', '3 5 5 1 not 3 5 1 5'."""
    later = [f for f in found if f.pos > code.run.end and f.run.code != code.run.code]
    return any(_TAKEN_BACK.search(reply.t, code.run.end, f.pos) for f in later)


# "use 9982 on the keypad": what is entered at a device is the code.
# "it's 8080 but press * first": the symbol pressed before the code.
_SYMBOL_FIRST = re.compile(
    r"\s*,?\s*(?:and|but|y)?\s*(?:press|hit|push)\s+(?:#|\*|pound|hash|star)\s+(?:first|before(?:\s+it)?)\b"
)
# "you put 2468 and push CALL": what to press after it.
_PRESS_AFTER = re.compile(
    r"\s+(?:and|then|y|but)?\s*(?:push|press|hit|presione)\s+(?:call|enter|ok|the\s+bell|bell|send|#|\*|pound|star)"
)
# "Its 2020 but press # after": the symbol pressed after the code is part of it.
_SYMBOL_AFTER = re.compile(
    r"\s*,?\s*(?:and|then|but|y)?\s*(?:press|hit|push|add)\s+(?:#|\*|pound|hash|star)\s+(?:after|at\s+the\s+end|last)\b"
)
_ON_THE_KEYPAD = re.compile(r"\s+(?:on|at|into|in)\s+the\s+(?:keypad|key\s*pad|keyboard|panel|call\s*box|teclado)\b")
_DOOR_WORD = re.compile(r"\b(?:gate|(?<!next\s)door|entry|entrance|lobby|front|keypad|porton|puerta|reja|entrada)\s*$")


def _at_the_door(reply: _Reply, all_runs: list[Run]) -> list[_CodeFound]:
    """ "GATE 4455 FLOOR 2 APT 9", "building entry K7720": the run named by a door, in answer to an access problem."""
    return [
        _CodeFound(r, 2, "code after a door's name", Evidence(r.start, r.end, "the code"))
        for r in all_runs
        if r.digits >= 3 and _DOOR_WORD.search(reply.t, max(0, r.start - 20), r.start)
    ][:1]


def _lone_run(reply: _Reply, all_runs: list[Run]) -> list[_CodeFound]:
    """In answer to an access problem, the one 3-10 digit run that is not a time, unit or phone is the code."""
    t = reply.t
    numbers = [
        r
        for r in all_runs
        if 3 <= r.digits <= 10
        and not _TIMEISH_BEFORE.search(t, 0, r.start)
        and not _code_is_old(reply, r.start)
        and not _said_old_after(reply, r)
        and not _OTHER_NUMBER.search(t, reply.clause(r.start).start, r.start)
        and not _TIME.match(t, r.start, r.end + 12)
    ]
    codes = {r.code for r in numbers}
    if len(codes) > 1:
        kept = [
            r for r in numbers if not any(_TAKEN_BACK.search(t, r.end, o.start) for o in numbers if o.start > r.end)
        ]
        numbers = kept if len({r.code for r in kept}) == 1 else []
    if not numbers:
        return []
    run = numbers[-1]
    return [_CodeFound(run, 3, "the only number in a reply about access")]


# Words that leave a reply as bare as the number in it: "it's 4417", "es 4417 gracias".
_FILLER = _words(
    "it its it's is the number ok okay hi hello hey sorry "
    "thanks thank you thx ty pls please es el la gracias hola perdon try here"
)


def _bare_code(reply: _Reply) -> Understanding | None:
    """A reply that is one run and small talk: a marked one is a code; to an access problem, any of 3+ digits.

    Four digits or more given alone in answer to our question for the code are sure; three (an apartment?) or
    digits in words are not.
    """
    found = runs(reply)
    if len(found) != 1:
        return None
    run = found[0]
    rest = re.findall(r"[^\W\d_]+(?:'[a-z]+)?", reply.t[: run.start] + " " + reply.t[run.end :])
    if any(word not in _FILLER for word in rest):
        return None
    evidence = (Evidence(run.start, run.end, "the code"),)
    if "#" in run.code or "*" in run.code:
        if run.digits >= 3:
            return Understanding(
                intent=ReplyIntent.ACCESS_CODE, code=run.code, why="a code marked with # or *", evidence=evidence
            )
        return None
    if reply.reason_code in ACCESS_REASONS and 3 <= run.digits <= 10:
        # We asked for an access code; a 3+ digit reply is that code. A lone digit stays UNCLEAR (no menu).
        sure = run.digits >= 4 and run.written != "words"
        return Understanding(
            intent=ReplyIntent.ACCESS_CODE,
            code=run.code,
            why="a number alone in reply to an access problem",
            doubt="" if sure else "a short number or one in words; nothing calls it a code",
            evidence=evidence,
        )
    return None
