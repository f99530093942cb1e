"""Places: directions to the door, a neighbour to leave it with, a pickup point, a safe place.

Rule 6 tries a neighbour, a pickup point and a safe place, in that order. A neighbour is told by a name as the
recipient wrote it ("neighbour Maria", "Dave next door"), a unit ("vecino del 3", "neighbor in 4B") or where they
live ("across the hall"). A pickup place ("the UPS store", "locker") or an offer to collect ("I'll pick it up") is
a pickup point, the depot when no place is named. A safe place follows a drop verb ("leave it behind the
planter", "déjelo en el porche"), is named ("porch", "front desk"), or is offered ("front door is fine"); a
person or another unit after the verb is a neighbour. A place the reply rules out ("not with the neighbour",
"porch isn't safe") is not offered.

Directions (rule 5a) are read only in answer to ADDRESS_NOT_FOUND: words that place a door ("blue gate round
the back, left of the garage") when nothing in the reply is a drop-off, a time, a call or a question, and no
code, which belongs in the vault, never in notes every driver reads.
"""

from __future__ import annotations

import re

from outreach.understanding.availability import _now_or_later
from outreach.understanding.meaning import ReplyIntent, Understanding
from outreach.understanding.reply import _QUESTION, _Reply, _Span, _words
from outreach.understanding.times import _TIME

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
