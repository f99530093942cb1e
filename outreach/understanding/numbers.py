"""Numbers as people type and say a code: digit groups, spaced or dashed digits, digits in words, letters, symbols.

A *run* is what a keypad would take from a stretch of the reply: "4417", "71 08", "1-8-8-2", "K 4 4 0 9", "B7 19",
"eight one eight one", "cinco cinco tres dos", "forty two nineteen", "pound 4417" (#4417), "8824 then star"
(8824*). Groups join when each is one or two digits (a code said in pairs or one digit at a time); longer groups
stand alone, so "312 555 0188" is three numbers, not a code. A letter counts when it is typed with digits ("8R42")
or as a capital before them ("K 4 4 0 9"). Digits in words count from two words and three digits up, so "the new
one" and "two kids" are not numbers. Whether a run is a code is the reader's business (`codes`); what the run is
next to is noted here: a price ("$20", "20 dollars"), a floor or an ordinal ("3rd"), a phone number, a street
address ("1550 N Ashland"), a time ("5pm").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from outreach.understanding.reply import _Reply

_DIGIT_WORDS = {
    "zero": "0",
    "oh": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "cero": "0",
    "uno": "1",
    "dos": "2",
    "tres": "3",
    "cuatro": "4",
    "cinco": "5",
    "seis": "6",
    "siete": "7",
    "ocho": "8",
    "nueve": "9",
}
_TEENS = {
    "ten": "10",
    "eleven": "11",
    "twelve": "12",
    "thirteen": "13",
    "fourteen": "14",
    "fifteen": "15",
    "sixteen": "16",
    "seventeen": "17",
    "eighteen": "18",
    "nineteen": "19",
    "diez": "10",
    "once": "11",
    "doce": "12",
    "trece": "13",
    "catorce": "14",
    "quince": "15",
    "dieciseis": "16",
    "diecisiete": "17",
    "dieciocho": "18",
    "diecinueve": "19",
}
_TENS = {
    "twenty": "2",
    "thirty": "3",
    "forty": "4",
    "fifty": "5",
    "sixty": "6",
    "seventy": "7",
    "eighty": "8",
    "ninety": "9",
    "veinte": "2",
    "treinta": "3",
    "cuarenta": "4",
    "cincuenta": "5",
    "sesenta": "6",
    "setenta": "7",
    "ochenta": "8",
    "noventa": "9",
}
_HASH_WORDS = ("pound", "hash", "hashtag", "numeral", "gato", "number sign", "pound sign", "hash sign", "almohadilla")
_STAR_WORDS = ("star", "asterisk", "asterisco", "estrella")
_SYMBOL_WORDS = {**dict.fromkeys(_HASH_WORDS, "#"), **dict.fromkeys(_STAR_WORDS, "*")}

# Whether a reply says any number at all, in digits, words or a keypad's symbols.
_ANY_NUMBER = re.compile(
    r"\d|\b(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|\w+teen|twenty|thirty|forty|fifty|"
    r"sixty|seventy|eighty|ninety|cero|uno|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|once|doce|trece|catorce|"
    r"quince|dieci\w+|veinte|treinta|cuarenta|cincuenta|sesenta|setenta|ochenta|noventa|double|triple|doble)\b"
)
# One token: a symbol, digits (with letters: "8r42", "k2291"), or a word.
_TOKEN = re.compile(
    r"[#*]|number\s+sign|pound\s+sign|hash\s+sign|(?:(?:gate|door)?code|pin|codigo|clave|gate|door|apt|unit)(?=\d)|[a-z]*\d[a-z\d]*|[a-z]+"
)
# Words that join two parts of a run ("pound then 1102", "2772 seguido del gato"), read in the gap between them.
_JOINT_WORDS = frozenset({"then", "luego", "followed", "plus", "seguido"})
_ACTION_BEFORE_SYMBOL = frozenset({"hit", "press", "push", "add", "marque", "presione"})
# "2 0 2 6 y luego el gato", "4471 y luego la tecla #", "0 9 1 1 con asterisco al final": words around a symbol.
_SYMBOL_SIDE = re.compile(
    r"(?:y|and|con|with|el|la|the|tecla|key|button|sign|signo|simbolo)\s+(?:(?:el|la|the|tecla|key)\s+)*"
    r"(?:pound|hash|hashtag|numeral|gato|almohadilla|star|asterisk|asterisco|estrella|[#*])"
)
_JOINT_STARTS = re.compile(
    r"(?:and|y)\s+(?:then|luego|despues)\b"
    r"|(?:hit|press|push|add|marque|presione)\s+(?:the\s+)?(?:pound|hash|star|asterisk|gato|numeral|asterisco|[#*])"
)
_JOINT_ENDS = re.compile(r"\b(?:followed\s+by|seguido\s+del?|y\s+despues|after\s+that)$")
_DIGIT_CLOSE = re.compile(
    r"\d[\s,]*(?:(?:y|luego|then|and|el|la|the|tecla|key|con|with|hit|press|push|add|followed|by|despues|seguido|del?)\s+)*$"
)
# "treinta y dos": the "y" inside a number said in Spanish.
_TENS_Y = re.compile(r"y\s+(?:uno|dos|tres|cuatro|cinco|seis|siete|ocho|nueve)\b")
_TENS_BEFORE = re.compile(r"(?:veinte|treinta|cuarenta|cincuenta|sesenta|setenta|ochenta|noventa)\s+$")
_REPEATED = re.compile(r"\s+(?:\d(?!\d)|zero|oh|one|two|three|four|five|six|seven|eight|nine)\b")
_CODE_SAID = re.compile(r"\b(?:code|codigo|clave|pin|passcode)\b")
_ONE_AS_PRONOUN = re.compile(r"\b(?:new|the|this|that|old|other|right|wrong|a|which|each|correct|real)\s+$")
_DICTATED_FOUR = re.compile(r"for\s+\d\b")
_DIGIT_BEFORE = re.compile(r"(?<!\d)\d\s+$")
# What may sit between two parts of one run: a dash or comma, or words that join (which ones may join what is
# decided in ``_joins``).
_JOIN = re.compile(
    r"[ \t]*[-,]?(?:[ \t]+(?:then|luego|and|y|followed|by|plus|seguido|del?|despues|after|that|con|with|el|la|the|"
    r"tecla|key|button|sign|signo|simbolo|hit|press|push|add))*[ \t]*"
)
_ALNUM = re.compile(r"(?:[a-z]{1,2}\d+[a-z\d]*|\d+[a-z]\d+[a-z\d]*|\d{3,}[a-z])")
_ORDINAL = re.compile(r"\d+(?:st|nd|rd|th|hr|hrs|min|mins|k)|\d{1,2}(?:am|pm|a|p|h)")

_PRICE_BEFORE = re.compile(r"\$\s*$")
_COUNT_AFTER = re.compile(r"[\s-]*(?:digits?|numbers?|characters?|numeros?|digitos?|boxes|packages|times|veces)\b")
_PRICE_AFTER = re.compile(r"\s*(?:dollars?|bucks|usd|pesos|cents)\b")
_FLOOR_NEAR = re.compile(r"\b(?:floor|fl|piso|planta)\s*#?\s*$")
_FLOOR_AFTER = re.compile(r"\s*(?:st|nd|rd|th)?\s*(?:floor|fl)\b")
_STREET_AFTER = re.compile(
    r"\s+(?:[nsew]\.?|north|south|east|west|[a-z]+\s+(?:st|street|ave|avenue|rd|road|blvd|dr|drive|ln|lane|ct|way|pl))\b"
    r"|\s+(?:st|street|ave|avenue|rd|road|blvd|calle)\b"
)
_PHONE_SHAPE = re.compile(r"\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}|\d{3}[\s.-]\d{4}")


@dataclass(frozen=True)
class Run:
    """A stretch of the reply a keypad would take, as ``code``; ``start``/``end`` are its span in the reply."""

    start: int
    end: int
    code: str
    # How it was written: "digits", "spaced" (groups joined), "words", "letters"; a reader trusts some less.
    written: str
    # What it sits next to, when that says it is not a code: "price", "floor", "street", "phone", "" otherwise.
    beside: str = ""

    @property
    def digits(self) -> int:
        return sum(c.isdigit() for c in self.code)


@dataclass(frozen=True)
class _Part:
    start: int
    end: int
    text: str
    kind: str  # digits, alnum, word, tens, symbol, letter


def runs(reply: _Reply) -> list[Run]:
    """Every run in the reply, in order (read once per reply)."""
    found = reply.memo.get("runs")
    if found is None:
        found = reply.memo["runs"] = _runs(reply)
    return list(found)


def _runs(reply: _Reply) -> list[Run]:
    if not _ANY_NUMBER.search(reply.t):
        return []  # nothing a keypad would take
    parts = _parts(reply)
    found: list[Run] = []
    i = 0
    while i < len(parts):
        group = [parts[i]]
        j = i + 1
        while j < len(parts) and _joins(reply, group, parts[j]):
            group.append(parts[j])
            j += 1
        run = _run(reply, group)
        if run is not None:
            found.append(run)
            i = j
        else:
            i += 1
    return found


def _parts(reply: _Reply) -> list[_Part]:
    t, raw = reply.t, reply.raw
    parts: list[_Part] = []
    for m in _TOKEN.finditer(t):
        word = re.sub(r"\s+", " ", m.group(0))
        if (
            word in _JOINT_WORDS
            or _JOINT_STARTS.match(t, m.start())
            or _JOINT_ENDS.search(t, max(0, m.end() - 24), m.end())
            or (
                word not in _SYMBOL_WORDS
                and _SYMBOL_SIDE.match(t, m.start())
                and _DIGIT_CLOSE.search(t, max(0, m.start() - 48), m.start())
            )
            or (_TENS_Y.match(t, m.start()) and _TENS_BEFORE.search(t, max(0, m.start() - 16), m.start()))
        ):
            continue  # a joint ("pound then 1102"), read in the gap between parts
        kind = ""
        if word in ("#", "*") or word in _SYMBOL_WORDS:
            kind = "symbol"
        elif word.isdigit():
            kind = "digits"
        elif _ALNUM.fullmatch(word) and not _ORDINAL.fullmatch(word):
            kind = "alnum"
        elif (
            word in ("to", "too")
            and re.match(r"(?:to|too)\s+\d\b", t[m.start() :])
            and _DIGIT_BEFORE.search(t, max(0, m.start() - 8), m.start())
            and _CODE_SAID.search(t, max(0, m.start() - 30), m.start())
        ):
            kind, word = "digits", "2"  # "the code is 8 3 to 6 pound": dictation writes two as "to"
        elif (
            word == "for"
            and _DICTATED_FOUR.match(t, m.start())
            and _DIGIT_BEFORE.search(t, max(0, m.start() - 8), m.start())
        ):
            kind, word = "digits", "4"  # "3 for 7 0": dictation writes four as "for"
        elif word in ("double", "triple", "doble") and _REPEATED.match(t, m.end()):
            kind = "times"  # "double 4 double 8": 4488
        elif word == "one" and _ONE_AS_PRONOUN.search(t, max(0, m.start() - 12), m.start()):
            kind = ""  # "the new one 2 2 7 1": "one" stands for the code
        elif word in _DIGIT_WORDS or word in _TEENS:
            kind = "word"
        elif word in _TENS:
            kind = "tens"
        elif (
            len(word) == 1
            and word.isalpha()
            and raw[m.start()].isupper()
            and (
                word not in ("i", "a")
                or re.match(r"a\s+\d\s+\d", t[m.start() :])
                or re.search(r"\d\s+\d\s+$", t[max(0, m.start() - 12) : m.start()])  # "1 1 7 4 A"
            )
        ):
            kind = "letter"
        parts.append(_Part(m.start(), m.end(), word, kind or "other"))
    return parts


def _joins(reply: _Reply, group: list[_Part], nxt: _Part) -> bool:
    """Whether ``nxt`` continues the run ``group`` ends with."""
    last = group[-1]
    if nxt.kind == "other" or last.kind == "other":
        return False
    gap = reply.t[last.end : nxt.start]
    joint = _JOIN.fullmatch(gap)
    if joint is None:
        return False
    spoken = {"word", "tens", "times"}
    if last.kind in spoken or nxt.kind in spoken:
        # Words join words ("eight one eight one", "forty two") and single digits ("8 zero 1 5").
        def joinable(part: _Part) -> bool:
            return part.kind in spoken or part.kind == "symbol" or (part.kind == "digits" and len(part.text) == 1)

        tens_and = last.kind == "tens" and nxt.kind == "word" and gap.strip() == "y"  # "treinta y dos"
        return joinable(last) and joinable(nxt) and (gap.strip() in ("", "-", ",") or tens_and)
    if re.search(r"then|luego|followed|plus|seguido|despues|after|\bhit\b|\bpress\b|\bpush\b|\badd\b", gap):
        # "pound then 1102", "8824 then star", "star 6 then 9 2 1": across "then" only a symbol or a short group.
        return last.kind == "symbol" or nxt.kind == "symbol" or (_short(last) and _short(nxt))
    if re.search(r"\b(?:y|and|con|with|el|la|the|tecla|key|button|sign|signo|simbolo)\b", gap):
        # "4409 y gato", "0911 con asterisco": only a symbol joins across a word; "3 and 5" are two numbers.
        return last.kind == "symbol" or nxt.kind == "symbol"
    if last.kind == "symbol" or nxt.kind == "symbol":
        return gap.strip() in ("", "-", ",")
    if last.kind == "letter":
        return nxt.kind == "digits" and gap.strip() in ("", "-")  # "K 4 4 0 9", "K-3380"
    if nxt.kind == "letter":
        # "1 1 7 4 A": a capital after spaced single digits ends the code
        return gap.strip() == "" and last.kind == "digits" and len(last.text) == 1 and len(group) >= 3
    # Digit groups join when each is one or two digits: "71 08", "5 5 0 2", "1-8-8-2", "B7 19"; or when the reply
    # says how many digits the code has and the groups make up that many ("6 digits 120 455").
    if gap.strip() not in ("", "-", ","):
        return False
    if _short(last) and _short(nxt) and (_consistent(group, nxt) or gap.strip() == "-"):
        return True  # "90-21-7": dashes join short groups of any size
    if len(group) == 1 and len(last.text) == len(nxt.text) == 3 and last.kind == nxt.kind == "digits":
        # "code to the gate 556 677": two threes after a code word, unless a phone number's four follow
        said = _CODE_SAID.search(reply.t, max(0, last.start - 30), last.start)
        if said and not re.match(r"[\s.-]*\d{4}", reply.t[nxt.end :]):
            return True
    told = _LENGTH_TOLD.search(reply.t)
    if told is None or not last.kind == nxt.kind == "digits":
        return False
    return _digits(group) + len(nxt.text) <= int(told.group(1))


# "takes 6 digits", "it's a 6 digit code", "6-digit pin".
_LENGTH_TOLD = re.compile(r"\b([4-9])[\s-]*digits?\b")


def _digits(group: list[_Part]) -> int:
    return sum(c.isdigit() for p in group for c in p.text)


def _short(part: _Part) -> bool:
    digits = sum(c.isdigit() for c in part.text)
    return part.kind in ("digits", "alnum") and 1 <= digits <= 2


def _consistent(group: list[_Part], nxt: _Part) -> bool:
    """Groups of one shape: all single digits, or pairs (a lone digit may lead: "7 08")."""
    sizes = [len(p.text) for p in group if p.kind in ("digits", "alnum")] + [len(nxt.text)]
    return len(set(sizes[1:])) <= 1


def _run(reply: _Reply, group: list[_Part]) -> Run | None:
    kinds = {p.kind for p in group}
    if kinds <= {"symbol", "letter"}:
        return None
    if "word" in kinds or "tens" in kinds or "times" in kinds:
        code = _spoken(group)
        if code is None or len([p for p in group if p.kind != "symbol"]) < 2 or sum(c.isdigit() for c in code) < 3:
            return None
        written = "words"
    else:
        if group[-1].kind == "letter" and len(group) < 4:
            group = group[:-1]
        code = re.sub(r"([#*])\1+", r"\1", "".join(_SYMBOL_WORDS.get(p.text, p.text) for p in group).upper())
        if len(code) > 2 and code[0] == code[-1] and code[0] in "#*":
            if group[-1].text in _SYMBOL_WORDS:
                code = code[:-1]  # "#6247 with the pound first": the symbol said twice
            elif group[0].text in ("#", "*") and group[1].start - group[0].end > 1:
                code = code[1:]  # "ends with the #, 4417#": the symbol named, then the code
        digit_parts = [p for p in group if p.kind in ("digits", "alnum")]
        if not digit_parts:
            return None
        if "alnum" in kinds or "letter" in kinds:
            written = "letters"
        elif len(digit_parts) > 1:
            written = "spaced"
        else:
            written = "digits"
    start, end = group[0].start, group[-1].end
    return Run(start, end, code, written, _beside(reply, start, end, written))


def _spoken(group: list[_Part]) -> str | None:
    out = []
    i = 0
    while i < len(group):
        p = group[i]
        if p.kind == "symbol":
            out.append(_SYMBOL_WORDS.get(p.text, p.text))
        elif p.kind == "times":
            nxt = group[i + 1] if i + 1 < len(group) else None
            if nxt is None:
                return None
            digit = nxt.text if nxt.kind == "digits" else _DIGIT_WORDS.get(nxt.text, "")
            out.append(digit * (3 if p.text == "triple" else 2))
            i += 1
        elif p.kind == "digits":
            out.append(p.text)
        elif p.kind == "tens":
            unit = group[i + 1] if i + 1 < len(group) else None
            if (
                unit is not None
                and unit.kind == "word"
                and unit.text in _DIGIT_WORDS
                and unit.text not in ("oh", "zero")
            ):
                out.append(_TENS[p.text] + _DIGIT_WORDS[unit.text])
                i += 1
            else:
                out.append(_TENS[p.text] + "0")
        elif p.text in _TEENS:
            out.append(_TEENS[p.text])
        else:
            out.append(_DIGIT_WORDS[p.text])
        i += 1
    code = "".join(out)
    if code.startswith("0") and group[0].text == "oh" and len(group) < 4:
        return None  # "oh five" is more likely talk than a code; "oh four four two" is one
    return code


def _beside(reply: _Reply, start: int, end: int, written: str) -> str:
    t = reply.t
    if written == "words":
        return ""
    if _PRICE_BEFORE.search(t, max(0, start - 2), start) or _PRICE_AFTER.match(t, end):
        return "price"
    if _COUNT_AFTER.match(t, end):
        return "count"  # "the code is 5 digits now": how long it is
    if _FLOOR_NEAR.search(t, max(0, start - 10), start) or (end - start <= 3 and _FLOOR_AFTER.match(t, end)):
        return "floor"
    if _STREET_AFTER.match(t, end):
        return "street"
    phone = _PHONE_SHAPE.search(t, max(0, start - 10), min(len(t), end + 12))
    if phone is not None and phone.start() <= start and phone.end() >= end and phone.end() - phone.start() >= 8:
        return "phone"
    return ""
