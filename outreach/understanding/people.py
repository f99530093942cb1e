"""Someone else to take the parcel: a neighbour named, or a person or business the reply says will take it.

A neighbour is told by the word ("neighbour", "next door", "vecino", "de al lado") with who and where as the
recipient wrote them: a name ("neighbour Maria", "Carmen next door", "next door at the Hendersons"), a unit
("vecino del 3", "neighbor in 4B", "Tony next door (4419)") or a description ("the barber shop next door", "my
mom lives next door"). Without the word, someone the reply says will take it is one too: "apt 304 across from me
said they'd sign for it", "Kim is expecting it", "the dry cleaners downstairs knows me", "mi hermana vive en el
1C"; and so is a unit or a name to knock at ("knock on 2R", "try 6D"). The detail is the recipient's own words
from the first to the last of these, so the driver reads who and where. The recipient's own household ("my
husband is home") is not someone else.
"""

from __future__ import annotations

import re

from outreach.understanding.meaning import Evidence, ReplyIntent, Understanding
from outreach.understanding.reply import _Reply, _Span, _words
from outreach.understanding.times import _TIME

_NEIGHBOUR = re.compile(
    r"\bn(?:ei|ie|e|ai|ay|a)g?h?b(?:ou?)?rs?(?:'s)?\b(?!\s+(?:dog|dogs|cat|cats|car|yard|fence|tree|kids|pets?|noise)\b)|\bvecin[oa]s?\b|\bnext\s+door\b|\bde\s+al\s+lado\b|\bde\s+enfrente\b"
    r"|\bal\s+lado\b(?!\s+del?\b)|\bkapitbahay\b|\bacross\s+the\s+(?:street|hall|road|way)\b|\bacross\s+from\s+(?:me|us)\b"
)
_UNIT = re.compile(
    r"(?P<word>\b(?:apt|apartment|unit|suite|ste|no\.|number|numero|num|room|rm|house|flat|bldg|depto|departamento|dpto|"
    r"casa|puerta|piso)\.?\s*#?\s*|#\s*)(?P<unit>[a-z]?\d{1,5}[a-z]?)\b"
    r"|(?P<prep>\b(?:in|at|from|of|del|de la|de el|en el|en la|en|el|la)\s+)"
    r"(?P<punit>\d{1,4}[a-z]|[a-z]\d{1,4}|\d{3,5}|1[3-9]|[2-9]\d)\b"
    r"(?!\s*(?:am|pm|min|hour|hr|o'?clock|:))"
    r"|(?P<bare>\b(?:\d{1,4}[b-gi-lnoq-z]|[a-z]\d{1,3}))\b"
    r"|\((?P<paren>\d{1,5}[a-z]?)\)"
)
_UNIT_RIGHT_AFTER = re.compile(
    r"\s+(?:at|in|from|of|del|de\s+la|en\s+el|en\s+la|#)\s*#?\s*(\d{1,4}[a-z]?)\b"
    r"(?!\s*(?:am|pm|a\.|p\.|:|o'?clock|min|hour|hr))"
)
_NAME = re.compile(
    r"(?:(?:Mr|Mrs|Ms|Miss|Dr|Sr|Sra|Srta|Don|Doña|Dona)\.?\s+)?[A-ZÁÉÍÓÚÑ][a-záéíóúñ'\-]+(?:\s+[A-ZÁÉÍÓÚÑ][a-záéíóúñ'\-]+)?"
)
_TITLED = re.compile(
    r"\b(?:Mr|Mrs|Ms|Miss|Dr|Sr|Sra|Srta|Don|Doña|Dona|Aling|Mang|mr|mrs|ms|don|doña|dona)\.?\s+[A-ZÁÉÍÓÚÑ][a-záéíóúñ'\-]+"
)
_NOT_NAMES = _words(
    "i im i'm i'll id i'd the a an she he they we it its it's is will can could said has have had at in on next "
    "across apt unit please pls thanks thank ok okay leave give del de la el en por con her his my our their "
    "neighbor neighbour neighbors neighbours vecina vecino door house across upstairs downstairs who she's he's "
    "just also if and or but yes no hi hello hey knock ring try ask"
)
_NEIGHBOUR_PLACE = re.compile(
    r"\b(?:next door|across the (?:hall|street|way|road)|across from (?:me|us)|upstairs|downstairs|"
    r"on the (?:left|right)|de al lado|de enfrente|de arriba|de abajo)\b"
)
# Words that end the description before "next door": "leave it with | the barber shop next door".
_LEFT_STOP = _words(
    "the a an it them with to at for on in by and or but so please pls just leave give drop put take bring ask try "
    "knock ring is are was con la el los las a al de del en lo le dejelo dejeselo dejalo dejeselo pregunta "
    "i i'm im you u we they he she can could would will if"
)
_POSSESSIVE = _words("my our mi nuestra nuestro")
# The recipient's own household is the recipient, not someone else.
_HOUSEHOLD = re.compile(
    r"\b(?:wife|husband|son|daughter|kid|kids|roommate|partner|boyfriend|girlfriend|esposa|esposo|hijo|hija)\b"
)
# Someone who will take it: "Kim is expecting it", "said they'd sign for it", "knows me", "lo recibe".
_TAKES = re.compile(
    r"\b(?:will|can|could|'ll|would|said\s+(?:they|she|he)(?:'d|\s+would|\s+will|'ll)?|(?:is|are)\s+(?:happy|ok|okay|"
    r"fine)\s+to|agreed\s+to|offered\s+to)\s+(?:take|sign\s+for|hold|grab|accept|get|receive|keep|collect)\s+"
    r"(?:it|them|onto\s+it|(?:the|my|your)\s+(?:package|parcel|box|delivery|order|pkg|stuff))\b"
    r"|\b(?:will|can|could|'ll)\s+(?:\w+\s+){0,5}?and\s+sign\b|\b(?:will|can|could|'ll)\s+sign\b"
    r"|\b(?:is|are|'s)\s+expecting\s+(?:it|them|the\s+\w+)|\bknows?\s+(?:me|us)\b|\bsaid\s+(?:yes|ok|okay|it'?s\s+fine)\b"
    r"|\b(?:is|'s|are)\s+(?:always|usually)\s+home\b|\b(?:is|'s|are)\s+home\s+all\s+day\b|\b(?:lo|la)\s+(?:recibe|puede\s+recibir|guarda|agarra)\b"
    r"|\b(?:el|ella)\s+sabe\b|\bvive\s+en\b|\bya\s+le\s+(?:avise|dije)\b|\b(?:he|she|they)\s+(?:knows?|is\s+expecting)\b"
    r"|\bi\s+(?:already\s+)?(?:told|tell|asked)\s+(?:him|her|them)\b"
)
# Building staff who take parcels are a safe place the building offers, not a neighbour.
_STAFF = re.compile(
    r"\b(?:reception|receptionist|recepcionista|front\s+desk|front\s+counter|counter|register|cashier|cajer[oa]|doorman|"
    r"concierge|security|guard|gatehouse|guard\s+shack|mail\s*room|leasing\s+office|front\s+office|porter|portero|"
    r"porteria|recepcion|conserje|management\s+office|maintenance|super|superintendent|receiving|shipping|dock|rectory)\b"
)
_NOBODY = re.compile(r"\b(?:no\s*one|nobody|nadie|noone)\b")
_KNOCK = re.compile(
    r"\b(?:knock\s+(?:on|at)|ring|try|ask|toque\s+en|pregunte\s+en)\s+(?:the\s+)?(?:apt\.?\s*|unit\s*|#\s*)?"
)
_HOUSE = re.compile(
    r"(?:house|door|apartment|apt|place|unit)\s+(?:next\s+door|on\s+the\s+(?:left|right)|across|upstairs|downstairs|"
    r"to\s+the\s+(?:left|right)|next\s+to)"
)
_KNOCK_UNIT = re.compile(r"(\d{1,4}[a-z]|[a-z]\d{1,4})\b(?!\s*(?:am|pm))")


def _neighbour(reply: _Reply) -> Understanding | None:
    t = reply.t
    for m in _NEIGHBOUR.finditer(t):
        if reply.is_negated(m.start()):
            continue
        sentence = reply.sentences[reply.sentence(m.start())]
        start = max(sentence.start, m.start() - 30)
        spans = [_Span(m.start(), m.end()), _widen_left(reply, m.start())]
        name = _neighbour_name(reply, m, start, sentence.end)
        unit = _neighbour_unit(reply, m, start, sentence.end)
        if name is not None:
            # "neighbour Jo in 6": a small number right after the name is their unit too.
            right = _UNIT_RIGHT_AFTER.match(t, name.end)
            unit = _Span(right.start(1), right.end(1)) if right is not None else unit
            spans.append(name)
        if unit is not None:
            spans.append(unit)
        place = _NEIGHBOUR_PLACE.search(t, m.start(), sentence.end)
        if name is None and unit is None and place is not None:
            spans.append(_Span(place.start(), place.end()))
        if unit is None and reply.sentence(m.start()) > 0:
            before = reply.sentences[reply.sentence(m.start()) - 1]
            at = re.search(r"\bat\s+#?(\d{1,4}[a-z]?)\b(?!\s*(?:am|pm|:))", t[before.start : before.end])
            if at is not None:
                unit = _Span(before.start + at.start(1), before.start + at.end(1))  # "drop it at 214? ... neighbor Ted"
                spans.append(unit)
        if name is None and unit is None:
            # "leave with neighbor. apt 210.": who and where may come in the next few words, as a note.
            index = reply.sentence(m.start())
            if index + 1 < len(reply.sentences):
                after = reply.sentences[index + 1]
                if _NOTE_AFTER.match(t, after.start, after.end):
                    spans.append(after)
        spans.append(_described(reply, max(s.end for s in spans), sentence.end))
        last = reply.clauses[_clause_index(reply, sentence.end - 1)]
        if last.start > max(s.end for s in spans) and _PLACE_TAIL.match(t, last.start, last.end):
            spans.append(last)  # "mi vecina de enfrente lo recibe, la casa verde"
        return _someone(reply, spans, f"neighbour named ({reply.original(m.start(), m.end())!r})")
    return _someone_who_takes(reply) or _door_to_knock(reply)


# Where a description of the neighbour ends: a verb of taking, a request, a new sentence.
_DESCRIPTION_END = re.compile(
    r"\s+(?:will|can|could|would|'ll|is|are|said|says|knows?|has|have|please|pls|thanks|thank|and\s+(?:she|he|they)|"
    r"if|but|so|because|lo|ya|ella|she|he|they|i|i'?m|i'?ll)\b|[.!?;]"
)


_NOTE_AFTER = re.compile(
    r"\W*(?:apt|unit|house|casa|#|no\.?\s*\d|\d+\w*|the|la|el|left|right|her|his|their)\b[^.!?]{0,50}$"
)
_PLACE_TAIL = re.compile(r"\W*(?:la|el|the|a|casa|house|apt|unit|#|\d+)\b(?:\W+\w+){0,5}\W*$")


def _clause_index(reply: _Reply, pos: int) -> int:
    return next(i for i, c in enumerate(reply.clauses) if c.start <= pos <= c.end)


def _described(reply: _Reply, pos: int, end: int) -> _Span:
    """What follows the neighbour that says who or where: ', la casa verde', ' (left side, 4412)', ' with the boat'."""
    stop = _DESCRIPTION_END.search(reply.t, pos, end)
    last = stop.start() if stop else end
    if last - pos > 60:
        return _Span(pos, pos)
    return _Span(pos, last)


def _someone(reply: _Reply, spans: list[_Span], why: str, doubt: str = "") -> Understanding:
    start, end = min(s.start for s in spans), max(s.end for s in spans)
    detail = reply.original(start, end).strip(" ,()")
    if detail.count("(") > detail.count(")"):
        detail += ")"
    return Understanding(
        intent=ReplyIntent.NEIGHBOR,
        detail=detail,
        why=why,
        doubt=doubt,
        evidence=(Evidence(start, end, "someone else"),),
    )


def _widen_left(reply: _Reply, pos: int) -> _Span:
    """The words before "next door" that say who: 'the barber shop', 'Carmen', 'my mom lives', 'la señora'."""
    clause = reply.clause(pos)
    words = list(re.finditer(r"[\w'-]+", reply.t[clause.start : pos]))
    start = pos
    for w in reversed(words[-5:]):
        word = w.group(0)
        if word in _POSSESSIVE:
            start = clause.start + w.start()
            break
        if word in _LEFT_STOP:
            break
        start = clause.start + w.start()
    return _Span(start, pos)


def _neighbour_name(reply: _Reply, keyword: re.Match[str], start: int, end: int) -> _Span | None:
    # A capitalised word right after the keyword ("neighbor Maria", "next door at the Hendersons") or right
    # before it ("Dave next door").
    after = re.compile(r"[\s,:]+(?:(?:named|called|llamad[oa]|at\s+the|at|with\s+the|with)\s+)?").match(
        reply.raw, keyword.end()
    )
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
    # "Déjelo con Doña Rosa, la de la casa azul de al lado": a name with a title anywhere before in the sentence.
    titled = list(_TITLED.finditer(reply.raw, start - 60 if start >= 60 else 0, keyword.start()))
    return _Span(titled[-1].start(), titled[-1].end()) if titled else None


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
    for knock in _KNOCK.finditer(reply.t, start, end):
        unit = _KNOCK_UNIT.match(reply.t, knock.end())
        if unit is not None:
            return _Span(unit.start(), unit.end())  # "ring 3A, that's my neighbour Luis"
    if best is None:
        return None
    for group in ("punit", "paren"):
        if best.group(group):
            # "in 3B", "del 4A", "(4419)": the preposition or bracket is not part of the unit.
            return _Span(best.start(group), best.end(group))
    return _Span(best.start(), best.end())


def _someone_who_takes(reply: _Reply) -> Understanding | None:
    """ "Kim is expecting it", "apt 304 across from me said they'd sign for it", "the dry cleaners knows me"."""
    t = reply.t
    for m in _TAKES.finditer(t):
        clause = reply.clause(m.start())
        subject = t[clause.start : m.start()]
        if reply.is_negated(m.start()) or _HOUSEHOLD.search(subject) or _NOBODY.search(subject):
            continue
        if _STAFF.search(subject) or re.search(
            r"\b(?:anyone|anybody|whoever|someone|somebody)\s+(?:there|at|in)\b", subject
        ):
            continue
        if re.fullmatch(r"\W*(?:i|i'?m|i'?ll|we|we'?re|we'?ll|you|u)\W*", subject) or re.search(
            r"\b(?:i|we|you|u)\W*$", subject
        ):
            continue  # "I'll grab it Saturday": the recipient, not someone else
        if re.fullmatch(
            r"\W*(?:it|this|that|they|he|she|someone|somebody|anyone|el|ella|ellos|ellas)?(?:\s+(?:me|nos|te))?\W*",
            subject,
        ):
            # "she's always home": who she is was said in the clause before.
            index = reply.clauses.index(clause)
            if index == 0:
                continue
            clause = reply.clauses[index - 1]
            subject = t[clause.start : clause.end]
            if _HOUSEHOLD.search(subject) or _NOBODY.search(subject) or _STAFF.search(subject):
                continue
        if re.search(r"\b(?:leave|leav|lv|drop|put|set|deje|dejalo)\b", subject):
            continue  # "just leave at the leasing office, they'll sign for it": a place to leave it, read there
        if re.search(r"\bthere\b", subject) and reply.clauses.index(reply.clause(m.start())) > 0:
            # "the yellow house to the left, Pam lives there": where "there" is was said before
            before = reply.clauses[reply.clauses.index(reply.clause(m.start())) - 1]
            clause = _Span(before.start, clause.end)
            subject = t[clause.start : m.start()]
        words = re.findall(r"[a-z0-9']+", subject)
        if not words or all(w in _LEFT_STOP or w in _NOT_NAMES for w in words):
            continue
        lead = re.match(r"\W*(?:(?:try|ask|knock\s+on|ring|the|a|con|a\s+la|give\s+it\s+to)\s+)*", t[clause.start :])
        start = clause.start + (lead.end() if lead else 0)
        end = m.start() if clause.end > m.start() else clause.end
        if end <= start:
            continue
        sentence = reply.sentences[reply.sentence(m.start())]
        unit = _UNIT.search(t, sentence.start, sentence.end)
        knock = _KNOCK.search(t, sentence.start, sentence.end)
        if unit is None and knock is not None:
            unit = _KNOCK_UNIT.match(t, knock.end())
        spans = [_Span(start, end)] + ([_Span(unit.start(), unit.end())] if unit else [])
        return _someone(
            reply,
            spans,
            f"someone else will take it ({reply.original(m.start(), m.end())!r})",
            doubt="nobody is called a neighbour; read from who will take it",
        )
    return None


def _door_to_knock(reply: _Reply) -> Understanding | None:
    """ "knock on 2R", "try 6D", "ask 4B": another unit to take it, when nothing else in the reply decides."""
    t = reply.t
    for m in _KNOCK.finditer(t):
        house = _HOUSE.match(t, m.end())
        if house is not None and not reply.is_negated(m.start()):
            sentence = reply.sentences[reply.sentence(m.start())]
            return _someone(
                reply,
                [_Span(house.start(), sentence.end)],
                f"another door to try ({m.group(0).strip()!r})",
                doubt="another door named, nobody said they will take it",
            )
        unit = _KNOCK_UNIT.match(t, m.end())
        if unit is None or reply.is_negated(m.start()):
            continue  # after "knock on", "try", "ring", "6A" is a door, not six in the morning
        return _someone(
            reply,
            [_Span(unit.start(), unit.end())],
            f"another door to try ({m.group(0).strip()!r})",
            doubt="another door named, nobody said they will take it",
        )
    return None
