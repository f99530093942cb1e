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

from outreach.understanding.availability import _call_request, _now_or_later, _present_now
from outreach.understanding.keywords import _send_back
from outreach.understanding.meaning import Evidence, ReplyIntent, Understanding
from outreach.understanding.reply import _QUESTION, _fold, _Reply, _words
from outreach.understanding.times import _DAY, _TIME
from outreach.understanding.windows import _in_complaint, _windows

# --- 6b. Pickup point -------------------------------------------------------------------------------------------------

_PICKUP_PLACE = re.compile(
    r"(?:\b(?:the|a|an|your|ur|nearest|closest|nearby|local|amazon|ups|fedex|usps|parcel|package|pick ?-?up|"
    r"collection)\s+){0,3}"  # bounded: "a a a a ..." must not backtrack from every word
    r"\b(?:lockers?|depot|warehouse|distribution cent(?:er|re)|sorting facility|facility|hub|"
    r"pick ?-?up (?:point|pt|location|spot|station|center|counter)|collection point|access point|post office|"
    r"parcel shop|service point|ups store|your office|your location|your store|"
    r"pick ?-?up (?:place|store|shop)|walgreens|cvs|7-eleven|7 eleven|seven eleven|fedex (?:office|store)|"
    r"amazon hub|whole foods|"
    r"sucursal|oficina de correos|almacen|punto de (?:recogida|entrega|recoleccion)|casillero|loquer|terminal|"
    r"oficinas? de ustedes|bodega de ustedes|su bodega|"
    r"(?<=la )bodega(?=\s+(?:de\s+ustedes|por\s+el|por\s+ella|manana|\W*$))|"
    r"deposito|su oficina|sus oficinas|tienda de (?:pickup|paquetes|recogida)|your station|the station|"
    r"delivery station|your facility|"
    r"(?:your|ur)\s+(?:[a-z]+\s+){0,3}(?:location|store|office|depot|warehouse|station|facility|branch))\b"
)
# A place named by a shop ("the Walgreens on Division & Damen") is the place, words after it say which one.
_PICKUP_TAIL_STOP = re.compile(
    r"\s+(?:please|pls|plz|thanks|thank\s+you|thx|ty|tomorrow|tmrw|today|tonight|later|after|before|around|at\s+\d|"
    r"on\s+(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)|por\s+favor|gracias|manana|hoy|"
    r"and|but|if|when|i'?ll|i\s+will|i\s+can|i'?d|y|pero|si|cuando)\b.*$|\s*[?!.].*$"
)
_PICKUP_LEFT = re.compile(r"(?:\b(?:[A-Z][\w'&-]*|\d+\w*)\s+){1,3}$")
_PICKUP_ACTION = re.compile(
    r"\bpick\s+(?:it|them|(?:the|my)\s+(?:package|parcel|box|order|delivery))\s+up\b"
    r"|\bpick\s*-?\s*up\s+(?:it|the\s+(?:package|parcel|box|order)|from|at)\b|\bpickup\s+from\b"
    r"|\bcome\s+(?:and\s+)?(?:get|grab|collect)\s+it\b|\bcollect\s+(?:it|them|the\s+(?:package|parcel|box|order))\b"
    r"|\bhold\s+(?:it|the\s+package|the\s+parcel|onto\s+it)\s+(?:at|for)\b|\bgo\s+get\s+it\b"
    r"|\b(?:i'?ll|i\s+will|ill|i\s+can|can\s+i|let\s+me|i\s+could|i'?d)\s+(?:rather\s+|just\s+)?(?:come\s+(?:and\s+)?)?"
    r"pick\s*-?\s*(?:it\s+)?up\b(?!\s+(?:the\s+)?(?:phone|call))"
    r"|\brecoger(?:lo|la|los)?\b|\b(?:lo|la)\s+recojo\b|\b(?:lo|la)\s+(?:paso|pasare|voy)\s+a\s+(?:buscar|recoger)\b"
    r"|\bpas(?:o|ar)\s+a\s+(?:buscarlo|recogerlo|por\s+el)\b"
    r"|\b(?:take|get|grab|collect|pick\s+up)\s+it\s+(?:up\s+)?myself\b|\bhold\s+(?:it\s+)?for\s+pick\s*-?\s*up\b"
)


def _pickup(reply: _Reply) -> Understanding | None:
    t = reply.t
    place = next(
        (
            m
            for m in _PICKUP_PLACE.finditer(t)
            if not reply.is_negated(m.start())
            and not _UNUSABLE.match(t, m.end())
            and not _STAFF_BEFORE.search(t, reply.clause(m.start()).start, m.start())
        ),
        None,
    )
    action = next(
        (
            m
            for m in _PICKUP_ACTION.finditer(t)
            if not reply.is_negated(m.start()) and not _HELD_BY_OTHERS.search(t, max(0, m.start() - 30), m.start())
        ),
        None,
    )
    if place is not None:
        detail = _pickup_detail(reply, place)
        return Understanding(
            intent=ReplyIntent.PICKUP_POINT,
            detail=detail,
            why=f"pickup place ({detail!r})",
            evidence=(Evidence(place.start(), place.end(), "pickup place"),),
        )
    if action is not None:
        # Collecting without naming a place means from us, i.e. the depot.
        phrase = reply.original(action.start(), action.end())
        return Understanding(
            intent=ReplyIntent.PICKUP_POINT, detail="depot", why=f"will collect ({phrase!r}), so the depot"
        )
    return None


# "the concierge, they'll hold it for me": someone else holds it there, which is not collecting it from us.
_HELD_BY_OTHERS = re.compile(r"\b(?:they|she|he|who)\s*(?:'ll|'d|will|would|can|could)?\s*(?:\w+\s+)?$")
# "the Amazon lockers in the lobby are full", "the guard at the warehouse gate": not a place to collect from.
_UNUSABLE = re.compile(r"(?:\s+in\s+the\s+\w+)?\s+(?:are|is)\s+(?:full|broken|closed|out\s+of\s+order)\b")
_STAFF_BEFORE = re.compile(r"\b(?:guard|security|doorman|concierge|staff|receiving|super)\b[^,.!?]*$")


def _pickup_detail(reply: _Reply, place: re.Match[str]) -> str:
    """The place as the recipient named it: 'Cicero Ave depot', 'CVS on Ashland', 'parcel locker near Belmont'."""
    start = place.start()
    left = _PICKUP_LEFT.search(reply.raw, reply.clause(start).start, start)
    if left is not None:
        start = left.start()  # "your Cicero Ave depot": the capitalised words name it
    end = reply.clause(place.end()).end
    detail = _PICKUP_TAIL_STOP.sub("", reply.original(start, end))
    detail = re.sub(r"^(?:the|a|an)\s+", "", detail.strip(" ,.-"), flags=re.I)
    return detail or reply.original(place.start(), place.end())


# --- 6c. Safe place ---------------------------------------------------------------------------------------------------

# "leave" may stand alone ("leave with the front desk"); the others are also nouns ("my place") and need an object.
_DROP_VERB = re.compile(
    r"\b(?:just\s+)?(?:leave|leav|lave|leeve|lv|drop\s+off)"
    r"(?:\s+(?:it|them|the\s+(?:package|parcel|box|delivery|order|pkg)|package|parcel|pkg))?(?:\s+(?:off|down|here))?"
    r"(?=\s|$|[.,!])"
    r"|\b(?:just\s+)?(?:put|drop|place|set|stick|toss|throw|chuck|hide|slide|slip|tuck|deliver|keep)"
    r"\s+(?:it|them|(?:the\s+)?(?:package|parcel|box|delivery|order|pkg))(?:\s+(?:off|down))?(?=\s|$|[.,!])"
    r"|\b(?:just\s+)?bring\s+(?:it|them|the\s+(?:package|parcel|box))(?=\s+to\b)"
    r"|\b(?:just\s+)?(?:give|hand)(?:\s+(?:it|them|the\s+(?:package|parcel|box|pkg)))?(?=\s+(?:to|2)\b)"
    r"|\b(?:just\s+)?(?:put|drop|place|set)(?=\s+(?:at|on|in|by|behind|under|inside|outside|next\s+to|between)\b)"
    r"|\b(?:safe|ok(?:ay)?|fine)\s+to\s+leave(?:\s+(?:it|them))?"
    r"|\b(?:dejel[oa]s?|dejal[oa]s?|dejenl[oa]s?|dejarl[oa]s?|lo\s+puede\s+dejar|puede\s+dejarlo|lo\s+deja|"
    r"ponl[oa]|pongal[oa]|dej(?:e|a|en)sel[oa]s?|entreg(?:ue|a|uen)sel[oa]s?|"
    r"(?:deje|dejar|dejen)(?:\s+(?:el|la)\s+(?:paquete|caja|pedido))?)\b"
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
    r"\s*(?:(?:please|pls|plz)\s+)?"
    r"(?:(?:at|on|in|inside|into|by|behind|under|underneath|beneath|beside|next to|near|in front of|outside|"
    r"between|with|w/|w|to|2(?=\s+(?:the|my|a|apt|unit)\b)|against|round|around|on top of|through|thru|over|en|con|"
    r"detras de|debajo de|junto a|"
    r"al|a\s+la|a|al lado de|dentro de|adentro\s+del?|adentro\s+de\s+la|adentro|encima\s+de|sobre|atras\s+de|"
    r"afuera\s+de|detras\s+del|debajo\s+del|"
    r"frente a)\b(?:[^.!?;\n,]|(?<=\bmrs)\.|(?<=\bmr)\.|(?<=\bms)\.|(?<=\bdr)\.)*"
    r"|(?:outside|out front|out back|there|anywhere|wherever|afuera|fuera|atras|ahi)\b)"
)
_NOT_A_PLACE = re.compile(
    r"\s*(?:(?:at|by|around|after|before|until|till|on|in|for|en|a\s+las)\s+)?"
    r"(?:\d{1,2}(?:[:.]\d{2})?\s*(?:am|pm)?\b(?!\s+(?:the|my|a|apt|unit)\b)|noon|tomorrow|tmrw|today|tonight|work|the\s+(?:morning|afternoon|evening)|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
)
_NOTHING_MORE = re.compile(r"\s*(?:[.!,]|please\b|pls\b|plz\b|thanks\b|thx\b|por\s+favor\b|$)")
_PLACE_STOP = re.compile(
    r"(?<!whoever)(?<!anyone)(?<!someone)(?<!somebody)\s+(?:please|pls|plz|thanks|thank you|thx|ty|if|and|but|so|"
    r"because|cause|since|or|por favor|gracias|y|pero|si|when|cuando|i'?m|i am|i'?ll|im|is|are|it'?s|lol|lmao|haha|"
    r"ok|okay|k)\b.*$|\s*[-/:]\s*$"
)
# A place that says nothing of where: "leave it anywhere", "leave it there".
_VAGUE = _words("there here anywhere wherever ahi aqui outside afuera fuera")
_TRAILING_JUNK = re.compile(r"[^\w)]+$")
_PLACE_LEAD = re.compile(r"^\s*(?:at|on|in|with|w/|w|to|en|con)\s+|^\s*(?:the|my|our|a|an|your|la|el|los|las|mi)\s+")
# A clause that is a place: "by the front door" after "leave it anywhere".
_PLACE_CLAUSE = re.compile(
    r"\W*(?:at|on|in|inside|by|behind|under|underneath|beside|next\s+to|near|in\s+front\s+of|between|on\s+top\s+of)\s+"
    r"(?:the|my|our|a|your)\s+\w+"
)
_SAFE_PLACES = re.compile(
    r"\b(?:safe\s*drop|safe\s+place|porch|proch|back door|backdoor|frontdoor|side door|garage|mail ?room|package room|"
    r"parcel room|front desk|concierge|consierge|conserge|reception|doorman|door man|porter|mail ?box|parcel box|"
    r"package box|drop box|patio|(?:drop|mail|letter|package|parcel)\s+slot|letterbox|vestibule|breezeway|mudroom|"
    r"backyard|back yard|shed|planter|leasing office|front office|management office|security desk|"
    r"porteria|portero|recepcion|conserje|buzon|porche|garaje|cochera|puerta trasera|recepcionista|cajer[oa]|"
    r"front counter|parts counter|counter|register|cashier|security guard|guard|gatehouse|guard shack|maintenance|"
    r"recycling bins?|trash can|garbage can|deck box|storage box|cooler|carport|"
    r"(?<=the )super|superintendent|receiving|loading dock|dock door|dock|rectory|back deck|deck)\b"
)
_SAFE_WORD = re.compile(r"^\W*safe\b")
_SAFE_DROP_SAID = re.compile(
    r"^\W*safe\s*(?:drop|place)\s*(?:(?:is\s+)?(?:ok|okay|fine|yes|pls|please))?\s*[-.:,!]+\s*"
)
# Everyday places that also come up in other talk ("knock on the front door"): a place only when offered as one.
_PLAIN_PLACES = re.compile(
    r"\b(?:front\s+door|door|front\s+step|steps?|stairs|stairwell|stoop|lobby|gate|hallway|outside|entrance|entrada|"
    r"puerta)"
    r"(?=\s+(?:is\s+|would\s+be\s+|should\s+be\s+|es\s+|esta\s+)?(?:fine|ok|okay|good|great|safe|perfect|bien)\b"
    r"|\s*(?:pls|please|plz|por\s+favor)?\s*[.!]*\s*$)"
)
# A place offered for the parcel: "porch is fine", "ok to leave", "safe drop", "déjelo".
_OFFERED = re.compile(
    r"\b(?:fine|ok|okay|good|safe|great|perfect|works|bien|seguro)\b|\bsafe\s*drop\b|\bleave\b|\bdej|\bdrop\b"
    r"|\b(?:takes?|signs?\s+for|hold|holds|accepts?|receives?)\s+(?:it|them|the\s+\w+|packages|parcels|deliveries|"
    r"stuff)\b|\blo\s+recib"
)
_FALLBACK = re.compile(
    r"\b(?:if\s+(?:you|u|he|she|they|the\s+driver)\s+(?:can'?t|cant|cannot)|if\s+not|otherwise|or\s+else|if\s+that\s+"
    r"doesn'?t\s+work|si\s+no\s+(?:puede|pueden)?)\b"
)
_BEFORE_YOU = re.compile(r"\b(?:before|until|till|unless)\s+(?:you|u|the\s+driver|he|she|they)\s+$")
_REFUSED_AFTER = re.compile(
    r"\s+(?:doesn'?t|does\s+not|don'?t|do\s+not|won'?t|can'?t|cannot|isn'?t|is\s+not|no\s+acepta|not\s+big\s+enough|"
    r"too\s+small|is\s+full|full)\b"
)
_CLOSED_AFTER = re.compile(r"\s+(?:is|'s|are)\s+(?:closed|shut|not\s+open)\b")
_OPEN_NOW = re.compile(r"\s+(?:is|'s|are)\s+open\b")
_ACTED_ON = re.compile(
    r"\b(?:call|phone|text|open|unlock|close|shut|find|see|through|past|use|buzz|ring|knock\s+on|knock\s+at|bang\s+on|pound\s+on|"
    r"abro|abrir|answer|get|hear|where\s+is|where'?s|donde\s+esta|toque|tocar)\s+"
    r"(?:the\s+|my\s+|la\s+|el\s+)?(?:\w+\s+)?$"
)
# A reply that is only a place: "behind the planter", "under the mat".
_PLACE_ONLY = re.compile(
    r"^\W*(?:(?:hey|hi|hello|ok|okay|yes|yeah|sure|si|hola|pls|please|plz|just|ugh|um|uh|oh|omg|lol|sorry)\W+)*(?:behind|under|underneath|beneath|beside|next\s+to|inside|between|in\s+front\s+of|(?:on\s+)?top\s+of|"
    r"(?:on|at|by|in)(?=\s+(?:the|my|our|your)\s)(?!\s+my\s+way)|detras\s+del?|debajo\s+del?|junto\s+al?|"
    r"adentro\s+del?|dentro\s+del?|al\s+lado\s+del?|atras\s+del?|encima\s+del?|en\s+(?=(?:el|la|los|las|mi)\s))"
    r"\s*[^.!?]+"
)
_PRESENCE_BEFORE = re.compile(
    r"\b(?:someone'?s|somebody'?s|someone\s+is|somebody\s+is|i'?m|i am|im|we'?re|you'?re|you are|u r|ur|meet|"
    r"come to|i'?ll be|be|waiting|estoy|estare|esperando|coming|going|walking|heading|running|omw|on my way|voy)\b"
    r"[^.!?,\n]*$"
)
# Kept with the place: "behind the shed" is not "the shed".
_SPATIAL_BEFORE = re.compile(
    r"\b(?:behind|under|underneath|beneath|beside|next\s+to|inside|outside|near|in\s+front\s+of|on\s+top\s+of|detras\s+de|"
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
    fallback = _FALLBACK.search(t)
    if fallback is not None and (_TIME.search(t, 0, fallback.start()) or _DAY.search(t, 0, fallback.start())):
        return None  # "come after that. if u cant then the porch": the time first, the place only if not
    for verb in _DROP_VERB.finditer(t):
        if reply.is_negated(verb.start()):
            continue
        if _BEFORE_YOU.search(t, reply.clause(verb.start()).start, verb.start()):
            continue  # "I want to know who sent it before you leave it": not where to leave it
        place = _DROP_PLACE.match(t, verb.end())
        if place is not None and _NOT_A_PLACE.match(t, place.start()):
            continue  # "I leave at 5", "leave in 10 minutes": a time, not a place
        if place is None and not (_LEAVE_ALONE.search(verb.group(0)) and _NOTHING_MORE.match(t, verb.end())):
            continue  # "leave the door open", "drop by": not a drop-off instruction
        detail = _place_detail(reply, verb.end(), place.end()) if place else _place_said_next(reply, verb.start())
        said = reply.original(verb.start(), verb.end()).strip()
        bare = _bare_place(detail)
        unit_with = _UNIT_WORD.search(bare) and re.match(r"(?:with|w/?|to|2|con)\s", detail.lower())
        if place is not None and (_someone_else(bare) or unit_with):
            # "give it to Tom in 4", "leave it at 3B": another person or another unit is a neighbour.
            # Who and where, to the end of the sentence: "the Hendersons, 415 Birch, two doors down".
            sentence = reply.sentences[reply.sentence(verb.start())]
            detail = _place_detail(reply, verb.end(), sentence.end)
            if re.fullmatch(r"(?:to\s+)?(?:him|her|them|el|ella|a\s+(?:el|ella))", _fold(detail)):
                # "the guy in apt 17 has a key, give it to him": who "him" is was said before.
                who = next((c for c in reply.clauses if _UNIT_WORD.search(t, c.start, c.end)), None)
                detail = reply.original(who.start, who.end).strip() if who is not None else detail
            return Understanding(
                intent=ReplyIntent.NEIGHBOR, detail=_bare_place(detail), why=f"someone else named after {said!r}"
            )
        doubt = ""
        if bare.lower() in _VAGUE:
            detail = _said_where(reply, verb.start()) or detail
            if detail.lower() not in _VAGUE:
                doubt = f"the place is read from what {bare!r} refers to"
        elif place is not None:
            detail = _with_place_named_before(reply, verb.start(), place.end(), detail)
            refined = _PLACE_CLAUSE.match(t, place.end())
            if refined is not None and t[place.end() : refined.start() + 2].strip().startswith(","):
                # "outside the gate, behind the hedge": the next clause says where exactly
                more = _place_detail(reply, refined.start(), reply.clause(refined.end()).end).lstrip(" ,")
                detail = f"{detail}, {more}"
        return Understanding(
            intent=ReplyIntent.SAFE_DROP,
            detail=detail,
            why=f"place after {said!r}" if detail else f"told to {said!r}, no place named",
            doubt=doubt,
            evidence=(Evidence(verb.start(), place.end() if place else verb.end(), "drop-off"),),
        )
    only = _PLACE_ONLY.match(t)
    if (
        only
        and not _TIME.search(t)
        and not _DAY.search(t)
        and not _QUESTION.search(t, 0, only.end())
        and not _present_now(reply)
    ):
        lead = re.match(r"[\W_]*", t)
        start = lead.end() if lead else 0
        detail = _place_detail(reply, start, only.end(), between=bool(re.match(r"\W*between\b", t)))
        return Understanding(
            intent=ReplyIntent.SAFE_DROP,
            detail=detail,
            why="the reply is a place",
            doubt="a place, but nothing says to leave it there",
        )
    for m in _SAFE_PLACES.finditer(t):
        if reply.is_negated(m.start()) or _PRESENCE_BEFORE.search(t, reply.clause(m.start()).start, m.start()):
            continue
        if _ACTED_ON.search(t, reply.clause(m.start()).start, m.start()) and re.search(
            r"\b(?:call|phone|text)\b", t[reply.clause(m.start()).start : m.start()]
        ):
            continue  # "call the guard shack, 847-555-0110": who to call, not where to leave it
        if _in_complaint(reply, m.start()):
            continue  # "I was in the backyard": where they were, not where to leave it
        if re.match(r"safe", m.group(0)):
            continue  # "SAFE DROP OK - side porch": the words name the service, the place comes after
        if _REFUSED_AFTER.match(t, m.end()):
            continue  # "our doorman doesn't accept packages"
        if _CLOSED_AFTER.match(t, m.end()):
            continue  # "leasing office is closed for the holiday"
        if _OPEN_NOW.match(t, m.end()):
            continue  # "front office is open now": someone is there to take it
        if re.search(r"\bthis\s+is\s+(?:the\s+)?(?:\w+\s+)?$", t[reply.clause(m.start()).start : m.start()]):
            continue  # "Hi, this is the front desk at Lakeview Dental": who writes, not where to leave it
        detail = _noun_phrase(reply, m.start(), m.end())
        offered = _OFFERED.search(t)
        if not offered and (_windows(reply) or _present_now(reply)):
            return None  # "the front office can buzz you in but they open at noon": the time is the answer
        return Understanding(
            intent=ReplyIntent.SAFE_DROP,
            detail=detail,
            why=f"safe place named ({detail!r})",
            doubt="" if offered else "a place named, but nothing says to leave it there",
            evidence=(Evidence(m.start(), m.end(), "place"),),
        )
    for m in _PLAIN_PLACES.finditer(t):
        if reply.is_negated(m.start()) or _PRESENCE_BEFORE.search(t, reply.clause(m.start()).start, m.start()):
            continue
        if _ACTED_ON.search(t, reply.clause(m.start()).start, m.start()) or _present_now(reply):
            continue  # "I'll open the gate", "here! front door": something done to it or someone there
        detail = _noun_phrase(reply, m.start(), m.end())
        return Understanding(
            intent=ReplyIntent.SAFE_DROP,
            detail=detail,
            why=f"offers a place ({detail!r})",
            doubt="a place named, but nothing says to leave it there",
        )
    service = _SAFE_DROP_SAID.match(t)
    if service is not None and service.end() < len(t):
        # "SAFE DROP - behind green bins", "SAFE drop ok. under the bench by door": the place follows the words
        rest = _place_detail(reply, service.end(), len(t))
        if rest:
            return Understanding(intent=ReplyIntent.SAFE_DROP, detail=rest, why="a safe drop, and where")
    if _SAFE_WORD.search(t):
        clause = reply.clause(0)
        detail = _PLACE_STOP.sub("", reply.original(clause.start, clause.end))
        detail = re.sub(r"^\W*safe\W*", "", detail, flags=re.I).strip()
        return Understanding(intent=ReplyIntent.SAFE_DROP, detail=detail, why="starts with 'SAFE'")
    return None


_UNIT_WORD = re.compile(r"\b(?:apt|apartment|unit|suite|casa|numero|house|#)\s*#?\s*\d|\b\d{1,4}[a-z]\b")
_PERSON = re.compile(
    r"^(?:him|her|them|el|ella)\b|^(?:the\s+|my\s+|a\s+)?(?:people|ppl|family|folks|lady|man|guy|woman|girl|boy|friend|landlord|landlady|super|superintendent|tenant|"
    r"sister|brother|aunt|uncle|cousin|grandma|grandpa|senora|senor|amiga|amigo|hermana|hermano|tia|tio|vecin[oa])\b"
)


def _with_place_named_before(reply: _Reply, verb: int, end: int, detail: str) -> str:
    """ "mudroom door is open, just set it on the bench inside": the mudroom stays with the bench."""
    sentence = reply.sentences[reply.sentence(verb)]
    named = next(
        (
            m
            for pattern in (_SAFE_PLACES, _PLAIN_NAMED)
            for m in pattern.finditer(reply.t, sentence.start, verb)
            if not reply.is_negated(m.start()) and not _REFUSED_AFTER.match(reply.t, m.end())
        ),
        None,
    )
    if named is None or re.match(r"safe", named.group(0)):
        return detail
    start = _noun_start(reply, named.start())
    said = reply.original(start, verb) + _PLACE_STOP.sub("", reply.original(verb, end))
    return _TRAILING_JUNK.sub("", said.strip(" .,!-/"))


def _noun_start(reply: _Reply, pos: int) -> int:
    clause = reply.clause(pos)
    words = list(re.finditer(r"[\w'-]+", reply.t[clause.start : pos]))
    start = pos
    for w in reversed(words[-2:]):
        if w.group(0) in _FUNCTION_WORDS:
            break
        start = clause.start + w.start()
    return start


def _place_said_next(reply: _Reply, pos: int) -> str:
    """ "just leave it. side porch. thx", "safe to leave, on the porch swing": the place comes next."""
    same = _PLACE_CLAUSE.match(reply.t, reply.clause(pos).end)
    if same is not None and reply.sentence(same.start()) == reply.sentence(pos):
        return _place_detail(reply, same.start(), reply.clause(same.end()).end).lstrip(" ,")
    index = reply.sentence(pos)
    if index + 1 >= len(reply.sentences):
        return ""
    nxt = reply.sentences[index + 1]
    words = _LETTER_WORDS.findall(reply.t[nxt.start : nxt.end])
    if (
        not words
        or len(words) > 8
        or _TIME.search(reply.t, nxt.start, nxt.end)
        or _QUESTION.search(reply.t, nxt.start, nxt.end)
    ):
        return ""
    if set(words) <= _FUNCTION_WORDS:
        return ""
    return _place_detail(reply, nxt.start, nxt.end)


def _bare_place(detail: str) -> str:
    for _ in range(2):
        detail = _PLACE_LEAD.sub("", detail)
    return detail


def _said_where(reply: _Reply, pos: int) -> str:
    """What "there" or "anywhere" stands for: the place in the next clause, or one the reply named before."""
    clause = reply.clause(pos)
    following = _PLACE_CLAUSE.match(reply.t, clause.end)
    if following is not None:
        nxt = reply.clause(following.end())
        return _place_detail(reply, clause.end, nxt.end).lstrip(" ,")
    there_is = _THERE_IS.search(reply.t, 0, pos)
    if there_is is not None:
        return _place_detail(
            reply, there_is.start(1), there_is.end(1)
        )  # "theres a cooler on the porch, put it in there"
    for m in list(_SAFE_PLACES.finditer(reply.t, 0, pos)) + list(_PLAIN_NAMED.finditer(reply.t, 0, pos)):
        # "the guard at the gatehouse signs for stuff, leave it there": the clause that named it says what "there" is.
        named = reply.clause(m.start())
        said = _TRAILING_JUNK.sub("", reply.original(named.start, named.end).strip(" .,!-/"))
        return re.sub(r"^(?:the|a|an|our|my)\s+", "", said, flags=re.I) or _noun_phrase(reply, m.start(), m.end())
    return ""


_THERE_IS = re.compile(r"\bthere'?s\s+(?:a|an)\s+([^.!?,]+?)(?=\s+(?:put|leave|set|drop|place|just)\b|[.!?,]|$)")
_PLAIN_NAMED = re.compile(r"\b(?:front\s+door|door|front\s+step|steps|stoop|lobby|hallway|entrance|gate)\b")


def _someone_else(detail: str) -> bool:
    if _PERSON.match(_fold(detail)):
        return True
    m = _SOMEONE_ELSE.match(detail)
    if m is None or _HOUSEHOLD.search(detail.lower()):
        return False
    first = m.group(0).split()[0].lower().strip(".")
    return first not in _PLACE_WORDS and not _SAFE_PLACES.match(detail.lower())


def _place_detail(reply: _Reply, start: int, end: int, *, between: bool = False) -> str:
    """The place as the recipient said it, with its preposition: 'in my car', 'next to the mat', 'on the porch'."""
    text = re.sub(r"^\s*(?:please|pls|plz)\s+", "", reply.original(start, end), flags=re.I)
    if between:
        # "between the storm door and the front door": the "and" is part of the place.
        text = re.sub(r"\s+and\s+", " \x00 ", text, count=1)
    text = _PLACE_STOP.sub("", text).replace(" \x00 ", " and ")
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
    r"above|below|door|gate|garage|coach\s+house|carriage\s+house|(?:on|to)\s+the\s+(?:left|right)|turn|end\s+of|off\s+of|"
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
    if (
        _DROP_VERB.search(reply.t)
        or _now_or_later(reply)
        or _call_request(reply, conditional=True)
        or _send_back(reply)
    ):
        return None  # "leave it at the back", "I'm home after 5", "call me": those rules read it
    cue = _DIRECTION_CUE.search(reply.t)
    if cue is None or reply.is_negated(cue.start()) or len(_LETTER_WORDS.findall(reply.t)) < DIRECTIONS_MIN_WORDS:
        return None
    detail = re.sub(r"\s+", " ", reply.raw).strip()
    return Understanding(intent=ReplyIntent.DIRECTIONS, detail=detail, why=f"directions ({cue.group(0)!r})")
