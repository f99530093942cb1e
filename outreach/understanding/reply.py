"""The reply as every rule reads it: folded once, cut into sentences and clauses, with what it rules out.

The text is folded to lower case without accents and keeps its length, so a span found in the folded text maps
back to the recipient's own words (a name keeps its capitals, a place its spelling). A sentence ends at "!", "?",
";", a new line, a dash or slash between spaces, or a full stop that is not a decimal ("6.30") or after a title
("Mrs. Chen"); a clause also ends at a comma, a bracket or "but", "pero", "so", "then". An action the recipient
rules out ("don't leave it outside") covers the rest of its clause; a place or person ruled out ("not with the
neighbour", "porch isn't safe") covers only its own words.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

# Keycap digits ("3️⃣6️⃣9️⃣0️⃣") read as digits: the keycap marks become spaces, so offsets stay put.
_KEYCAP = str.maketrans({"\ufe0f": " ", "\u20e3": " "})
_FOLD = str.maketrans(
    "áàâäéèêëíìïîóòöôúùüûñç\u2019\u2018`\u00b4\u201c\u201d\u2013\u2014\u00a0\t\r",
    "aaaaeeeeiiiioooouuuunc''''\"\"--   ",
)
# "p.m." would otherwise end a sentence; rewritten in place with padding so offsets stay put.
_MERIDIEM_DOTS = re.compile(r"(?<=[\d\s])([ap])\.\s?m\.?")


def _fold(text: str) -> str:
    """Lower case, no accents, the same length; a letter typed three times or more ("mondayyy") kept once."""
    return _REPEATED_LETTERS.sub(lambda m: m.group(1) + " " * (len(m.group(0)) - 1), _fold_only(text))


_REPEATED_LETTERS = re.compile(r"([a-z])\1{2,}(?=\W|$)")


def _fold_only(text: str) -> str:
    low = text.lower()
    if len(low) != len(text):
        # A few characters lower-case to two (e.g. 'İ'); keep them as they are so offsets stay aligned.
        low = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    low = low.translate(_FOLD).translate(_KEYCAP)
    return _MERIDIEM_DOTS.sub(lambda m: (m.group(1) + "m").ljust(len(m.group(0))), low)


# A full stop ends a sentence unless it is a decimal ("6.30") or a title ("Mrs. Chen").
_STOP = r"\.(?!\d)(?<!\bmrs\.)(?<!\bmr\.)(?<!\bms\.)(?<!\bdr\.)(?<!\bsr\.)(?<!\bsra\.)(?!(?<=\bno\.)\s*\d)"
_TITLE_DOT = re.compile(r"\b(?:dr|mr|mrs|ms|sr|sra)\.", re.I)
_SENTENCE_END = re.compile(rf"[!?;\n]+|{_STOP}|\s-\s|\s/\s")
_CLAUSE_END = re.compile(rf"[!?;\n,()]+|{_STOP}|\s-\s|\s/\s|\s(?:but|pero|although|though|so|then|and then)\s")


# "Replying to "The access code provided did not work": ...": the phone's way of quoting us.
_REPLYING_TO = re.compile(
    r"(?:replying\s+to|in\s+reply\s+to|re|respondiendo\s+a|en\s+respuesta\s+a|loved|liked|disliked|laughed\s+at|"
    r"emphasized|emphasised|questioned|reacted\s+\S+\s+to|le\s+gusto|le\s+encanto|enfatizo)\s*:?\s*$"
)
# A line quoted with ">".
_QUOTED_LINE = re.compile(r'^>\s*"[^"\n]*"|^>(?![^\n]*")[^\n]*', re.M)


def _unquoted(folded: str) -> str:
    """The reply with our own words quoted back blanked out: a quotation long enough to be our message ('Loved "We
    couldn't deliver..."'), one the reply opens with, a line quoted with ">". Offsets stay put."""
    text = _QUOTED_LINE.sub(lambda m: " " * len(m.group(0)), folded)
    marks = [i for i, c in enumerate(text) if c == '"']
    for opening, closing in zip(marks[0::2], [*marks[1::2], len(text)], strict=False):
        inside = text[opening + 1 : closing]
        leading = not text[:opening].strip(" \t:;-.,!?'") or bool(_REPLYING_TO.search(text[:opening]))
        if "\n" not in inside and (len(inside) >= 24 or (leading and len(inside) >= 4)):
            text = text[:opening] + " " * (min(closing + 1, len(text)) - opening) + text[closing + 1 :]
    return text


@dataclass(frozen=True)
class _Span:
    start: int
    end: int


class _Reply:
    """The reply once, folded, with its sentences and clauses; every rule reads from here."""

    def __init__(self, *, text: str, now: dt.datetime, reason_code: str) -> None:
        self.raw = text
        # What rules read more than once (``numbers.runs``), read once.
        self.memo: dict[str, Any] = {}
        self.folded = _fold(text)
        # Our own words quoted back (a phone's reaction, a reply above the quote) are not the recipient's.
        self.t = _unquoted(self.folded)
        self.now = now
        self.today = now.date()
        self.reason_code = reason_code.strip().upper()
        # "at the dr. can u come back": a title's dot ends a sentence when no name follows it.
        cut = self.t
        for m in _TITLE_DOT.finditer(text):
            if re.match(r"\s+[a-z0-9]", text[m.end() :]):
                cut = cut[: m.end() - 1] + "!" + cut[m.end() :]
        self.sentences = _split(cut, _SENTENCE_END)
        self.clauses = _split(cut, _CLAUSE_END)
        self.negated_actions = [
            _Span(m.start(), _negation_end(self.t, m.end())) for m in _NEGATED_ACTION.finditer(self.t)
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


def _negation_end(text: str, pos: int) -> int:
    """Where a ruled-out action stops: its clause's end, or the next action asked for ("dont come back just leave
    it on the porch")."""
    end = _clause_end(text, pos)
    again = _ACTION_AGAIN.search(text, pos, end)
    return again.start() if again else end


_ACTION_AGAIN = re.compile(
    r"\b(?:just|instead|please|pls|plz|only|solo|mejor)\s+(?:leave|put|drop|give|bring|hand|deliver|deje|dejelo|dejalo|"
    r"dejenlo|pongalo|entreguelo)\b"
)


# "don't leave it outside", "no lo deje afuera": an action the recipient rules out, up to the end of its clause.
_NEGATED_ACTION = re.compile(
    r"\b(?:do ?n'?t|do not|dont|never|no|nunca|please don'?t|pls don'?t|can'?t|cannot|can not|won'?t|wont|"
    r"unable to|no puedo|no voy a)\s+(?:(?:please|pls|just|ever|u|you|go|lo|la|los|las|me|le)\s+){0,2}"
    r"(?:leave|leav|put|drop|place|set|give|deliver|hand|bring|send|take|pick|collect|get|go|come|return|"
    r"deje|dejes|dejen|dejar|dejarlo|dejarla|entregue|entreguen|pongan?|pongas|recoger|ir|devuelvan?|devolver)\b"
)
# "not with the neighbour", "porch isn't safe", "my neighbour is away".
_NEGATED_PHRASE = re.compile(
    r"\bnot\s+(?:with|to|on|at|in)\s+(?:the|my|a|any)?\s*\w+(?:\s+\w+)?"
    r"|\b\w+(?:\s+\w+)?\s+(?:isn'?t|aren'?t|is\s+not|are\s+not|not)\s+(?:safe|secure)\b"
    r"|\b(?:neighbou?rs?|vecin[oa]s?)\s+(?:isn'?t|aren'?t|is\s+not|are\s+not|won'?t|can'?t|"
    r"(?:is|are)\s+(?:never|rarely|away|out|gone|at\s+work))\b"
    r"|\bno\s+(?:neighbou?rs?|vecin[oa]s?|lockers?|porch|safe\s*drop|gate|door|buzzer|doorbell|mailbox|lobby)\b"
    r"|\bnot\s+(?:the|my|a|an|any|your)\s+\w+(?:\s+(?:porch|door|gate|step|steps|desk|office|entrance))?"
)


# "who is this?", "que es esto": a question asks, it does not answer.
_QUESTION = re.compile(r"\?|\b(?:who|what|why|que|quien|por que)\b")
