"""Keywords and set phrases: carrier keywords, asking to stop messages, refusing the parcel or sending it back.

A carrier keyword (STOP, START, HELP...) counts as the whole message, as the carrier reads it, and also with
filler around it ("Stop!!", "STOP STOP", "stop please", "START again please", "help me pls"): since the FCC's
2025 rule any reasonable way of saying stop is an opt-out, so a sentence that is only a stop word and filler
("wrong number. stop", "ALTO") opts out wherever it stands. The phrases are regexes over the folded
text, English and Spanish: "stop texting me", "no me escriban" (rule 3); "didn't order this", "no lo quiero"
(rule 5); "send it back", "devuélvalo" when nothing before it decided (rule 7). A refusal carries its own "not"
("not mine"), so only an action the reply rules out cancels one.
"""

from __future__ import annotations

import re

from outreach.understanding.meaning import Evidence, ReplyIntent, Understanding
from outreach.understanding.reply import _Reply, _words

# Twilio acts on its default keywords only when one is the whole message, so we read them the same way
# ("STOP PLEASE" is not one). "opt out" and "stop all" as two words are the FCC's and Telnyx's spellings.
CARRIER_KEYWORDS: dict[str, ReplyIntent] = {
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
    # YES is the carrier's opt-in keyword too, but to us a bare yes answers no question we asked; the carrier's
    # effect on an opted-out number is recorded where the reply is received.
    **dict.fromkeys(("start", "unstop"), ReplyIntent.OPT_IN),
    # AYUDA is ours, not the carrier's: Spanish-speaking recipients ask for help in Spanish.
    **dict.fromkeys(("help", "info", "ayuda"), ReplyIntent.HELP),
}
_KEYWORD_TRIM = " \t\r\n.,!?¡¿'\"()[]-~:;"
# What the carrier itself takes as opting back in (Twilio's defaults), whatever the reply means to us.
CARRIER_OPT_IN = frozenset({"start", "unstop", "yes"})


def carrier_opts_in(text: str) -> bool:
    """Whether the carrier reads this message as opting the number back in."""
    return text.lower().strip(_KEYWORD_TRIM) in CARRIER_OPT_IN


# The carrier's opt-out keywords at the start of a longer message.
_STOP_FIRST = re.compile(r"^\W*(stop|stopall|unsubscribe|end|quit|revoke|optout|cancel)\b")

# Keywords with filler: each set is what may stand beside its keywords in a message (or, for stop, a sentence).
_STOP_WORDS = _words("stop stopall unsubscribe quit revoke optout alto basta parar end cancel")
_STOP_FILLER = _words(
    "please pls plz now all it this these that them me us my number texting texts text txts messages msgs messaging "
    "sending thanks thank you ok okay just the any more already asap right omg god lol wtf damn man seriously stop "
    "hi hey hello um uh so po ya no mas porfa srsly seriously wrong number ugh omg pls "
    "por favor ya mensajes"
)
_START_WORDS = _words("start unstop resume subscribe")
_START_FILLER = _words(
    "please pls plz again back up me i want the updates texts text messages sending texting notifications alerts "
    "ok okay now thanks por favor otra vez porfa quiero los updates mensajes"
)
_HELP_WORDS = _words("help info ayuda")
_HELP_FILLER = _words("please pls plz me i need some with this a por favor necesito hi hey hello um uh so ok")
_TOKENS = re.compile(r"[^\W\d_]+(?:'[a-z]+)?|\d+")


def _only(words: list[str], keywords: frozenset[str], filler: frozenset[str]) -> bool:
    found = [_keyword(w, keywords) for w in words]
    return any(found) and all(k or w in filler for k, w in zip(found, words, strict=True))


def _keyword(word: str, keywords: frozenset[str]) -> bool:
    """The keyword, or a long one typed with one slip ("unsubscibe", "stopal"), or a short one with two letters next
    to each other swapped ("stpo"); a short one with a letter changed is another word ("shop", "spot")."""
    return word in keywords or word in _SLIPS.get(keywords, frozenset())


_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _slips(keyword: str) -> set[str]:
    """Every way of typing ``keyword`` with one slip: a letter dropped, added or changed, two neighbours swapped."""
    swapped = {keyword[:i] + keyword[i + 1] + keyword[i] + keyword[i + 2 :] for i in range(len(keyword) - 1)}
    doubled = {keyword[:i] + keyword[i] + keyword[i:] for i in range(len(keyword))}  # "stopp", "sstop"
    if len(keyword) < 6:
        return swapped | doubled
    dropped = {keyword[:i] + keyword[i + 1 :] for i in range(len(keyword))}
    changed = {keyword[:i] + c + keyword[i + 1 :] for i in range(len(keyword)) for c in _LETTERS}
    added = {keyword[:i] + c + keyword[i:] for i in range(len(keyword) + 1) for c in _LETTERS}
    return swapped | dropped | changed | added


_SLIPS = {
    keywords: frozenset(slip for keyword in keywords for slip in _slips(keyword)) - keywords
    for keywords in (_STOP_WORDS, _START_WORDS, _HELP_WORDS)
}


# "opt me back in", "resubscribe", "start sending me the updates again".
_OPT_IN = re.compile(
    r"\bsign\s+me\s+(?:back\s+)?up\b|\bstart\s+(?:sending|texting)\b[^.!?]*\bagain\b|\bopt\s+(?:me\s+)?(?:back\s+)?in\b|\bre-?subscribe\b|\bstart\s+(?:sending|texting)\s+(?:me\s+)?(?:again|the\s+updates)\b"
    r"|\b(?:i\s+)?want\s+(?:the|your)\s+(?:updates|texts|messages)\s+(?:again|back)\b"
    r"|\bquiero\s+(?:recibir\s+)?(?:los\s+)?(?:mensajes|textos|updates)\s+(?:otra\s+vez|de\s+nuevo)\b"
    r"|\b(?:opted|unsubscribed|me\s+di\s+de\s+baja)\s+(?:out\s+)?(?:by\s+(?:mistake|accident)|sin\s+querer)\b"
)


def _opt_in(reply: _Reply) -> Understanding | None:
    m = _OPT_IN.search(reply.t)
    if m is None:
        return None
    return Understanding(
        intent=ReplyIntent.OPT_IN,
        why=f"asks for texts again ({reply.original(m.start(), m.end())!r})",
        evidence=(Evidence(m.start(), m.end(), "opt in"),),
    )


def keyword_with_filler(reply: _Reply) -> Understanding | None:
    """ "Stop!!", "STOP STOP", "stop please", "wrong number. stop", "START again please", "need HELP pls"."""
    words = _TOKENS.findall(reply.t)
    if _only(words, _HELP_WORDS, _HELP_FILLER):
        return Understanding(intent=ReplyIntent.HELP, why="asks for help")
    # Clause by clause, the last keyword said counts: "oops I texted stop by accident, START".
    for span in reversed(reply.clauses):
        said = _TOKENS.findall(reply.t[span.start : span.end])
        phrase = reply.original(span.start, span.end).strip()
        rest = reply.t[: span.start] + " " + reply.t[span.end :]
        if _only(said, _STOP_WORDS, _STOP_FILLER) and not _REFUSE.search(rest):
            # "Stop, I don't want it" stops the delivery: the refusal is read instead.
            return Understanding(
                intent=ReplyIntent.OPT_OUT,
                why=f"says stop ({phrase!r})",
                evidence=(Evidence(span.start, span.end, "stop"),),
            )
        if _only(said, _START_WORDS, _START_FILLER) and (span is reply.clauses[-1] or len(said) <= 4):
            return Understanding(
                intent=ReplyIntent.OPT_IN,
                why=f"asks to start texts again ({phrase!r})",
                evidence=(Evidence(span.start, span.end, "start"),),
            )
    return None


# "help me understand this", "I need help with this", "help i dont get it": asking for help, read last.
_HELP_ASK = re.compile(
    r"\bwhat\s+does\s+(?:this|that|it)\s+mean\b|"
    r"\bque\s+significa\b|\bwhat\s+(?:can|should|do)\s+i\s+(?:reply|text|say|send|answer)\b|\bwhat\s+are\s+my\s+options\b|\bwhat\s+(?:can|should)\s+i\s+do\b|\bque\s+(?:opciones|hago)\b|"
    r"^\W*(?:i\s+)?(?:need\s+|neeed\s+)?(?:some\s+)?(?:help|ayuda)\b|\bi\s+need\s+help\b|\bnecesito\s+ayuda\b"
)


def _help_asked(reply: _Reply) -> Understanding | None:
    m = _HELP_ASK.search(reply.t)
    if m is None:
        return None
    return Understanding(
        intent=ReplyIntent.HELP, why="asks for help", evidence=(Evidence(m.start(), m.end(), "asks for help"),)
    )


# --- Not an answer: a phone's reaction, an automatic reply, the wrong number -----------------------------------------

_REACTION = re.compile(
    r"^\W*(?:loved|liked|disliked|laughed\s+at|emphasized|emphasised|questioned|reacted\s+\S+\s+to|"
    r"le\s+(?:gusto|encanto)|no\s+le\s+gusto|enfatizo|se\s+rio\s+de|cuestiono|reacciono\s+\S+\s+a)\s+[\"']"
)
_AUTOMATIC = re.compile(
    r"\b(?:auto(?:matic)?[\s-]?(?:reply|response|message)|out\s+of\s+(?:the\s+)?office|"
    r"(?:i'?m|i\s+am)\s+currently\s+driving|currently\s+driving|driving\s+with\s+do\s+not\s+disturb|do\s+not\s+disturb|"
    r"(?:i'?m|i\s+am)\s+driving\s+(?:right\s+now\s+)?and\s+(?:will|i'?ll)\s+(?:see|respond|reply|get\s+back)|(?:i'?ll|i\s+will)\s+(?:get\s+back|respond|reply)\s+"
    r"(?:to\s+you\s+)?(?:when|as\s+soon|shortly|later)|the\s+(?:person|number|customer)\s+you\s+(?:are|have)\s+"
    r"(?:trying\s+to\s+reach|called|dialed)|no\s+longer\s+in\s+service|this\s+is\s+an\s+automated|"
    r"thanks\s+for\s+texting|respuesta\s+automatica|estoy\s+manejando|fuera\s+de\s+la\s+oficina|thank\s+you\s+for\s+(?:contacting|your\s+message|"
    r"reaching\s+out)|(?:we|i)\s+will\s+(?:respond|reply|get\s+back)|our\s+(?:business\s+|office\s+)?hours\s+are)\b"
)
_NOT_FOR_ME = re.compile(
    r"^\W*(?:who\s+(?:is|s)\s+this|who'?s\s+this|wrong\s+(?:number|#)|quien\s+(?:es|habla)|numero\s+equivocado)"
    r"\W*$"
)


def not_an_answer(reply: _Reply) -> Understanding | None:
    """A phone's reaction to our text, an automatic reply, "who is this?": nothing to act on, and said why."""
    reaction = _REACTION.search(reply.folded)
    if reaction is not None and not re.search(r"[^\W\d_]{2,}", reply.t[reaction.end() :]):
        # A reaction with words of its own after the quote is read by those words.
        return Understanding(intent=ReplyIntent.UNCLEAR, why="a reaction to our message, not an answer")
    auto = _AUTOMATIC.search(reply.t)
    if auto is not None:
        return Understanding(
            intent=ReplyIntent.UNCLEAR,
            why=f"an automatic reply ({reply.original(auto.start(), auto.end())!r})",
            evidence=(Evidence(auto.start(), auto.end(), "automatic reply"),),
        )
    if _NOT_FOR_ME.search(reply.t):
        return Understanding(intent=ReplyIntent.UNCLEAR, why="asks who we are or says it is the wrong number")
    return None


# --- 3. Stop messages -------------------------------------------------------------------------------------------------

_OPT_OUT = re.compile(
    r"\b(?:stop|quit|cease)\s+(?:(?:texting|txting|txtng|messaging|msging|msg|sending|contacting|bothering|spamming|"
    r"emailing|calling)\b(?:\s+(?:me|us|this number))?|(?:the|these|all|your|those)\s+(?:texts|messages|msgs|sms))"
    r"|\b(?:do ?n'?t|do not|dont|never|pls don'?t|please don'?t)\s+(?:text|txt|message|msg|contact|sms)\s+"
    r"(?:me|us|this number)\b"
    r"|\bno\s+more\s+(?:texts|txts|messages|msgs|sms)\b"
    r"|\b(?:do ?n'?t|do not|dont)\s+want\s+(?:(?:these|your|any|any\s+more|more|the)\s+)?"
    r"(?:texts|txts|messages|msgs|sms)\b"
    r"|\b(?:remove|take)\s+(?:me|us|my number|this number|our number)\s+(?:off|from|frm)\b|^\W*remove\s+(?:me|us)\W*$"
    r"|\bremove\s+my\s+(?:number|phone\s+number|cell|cell\s+number)\b"
    r"|\bunsubscribe\s+me\b|\bopt\s+me\s+out\b|\bopt(?:-|\s)?out\b|\bunsubscribe\b"
    r"|\bno\s+me\s+(?:escriba|escriban|mande|manden|envie|envien|textee|texteen|contacte|contacten)n?\b"
    r"|\bdej(?:a|e|en|ar)\s+de\s+(?:escribirme|mandarme|enviarme|textearme|molestarme)\b"
    r"|\bno\s+(?:quiero|deseo)\s+(?:recibir\s+)?(?:mas\s+)?(?:mensajes|textos|msjs?)\b"
    r"|\b(?:do\s+not|don'?t|dont|pls\s+don'?t)\s+(?:write|text|send)\s+(?:to\s+)?me\b|\bno\s+more\s+(?:message|msg|text|sms)\b"
    r"|\bborr(?:en|a|e)\s+mi\s+numero\b|\bstop\s+mandando\b|\bno\s+mas\s+(?:textos|mensajes|msjs?|sms)\b"
    r"|\bya\s+no\s+(?:me\s+)?(?:manden|mande|envien|escriban)\b"
    r"|\b(?:f|fuck|eff|screw|piss)\s+off\b|\bgo\s+away\b|\bstop\s+spamming\b|\bleave\s+me\s+alone\b|\brevoke\s+(?:my\s+)?consent\b|\bunsub\b"
    r"|\b(?:do\s+not|don'?t|dont|no\s+longer)\s+(?:wish|want)\s+to\s+(?:receive|get)\s+(?:(?:these|your|any|more|anymore)\s+)*"
    r"(?:texts?|sms|messages|msgs|notifications|alerts)\b"
    r"|\benough\s+(?:with\s+)?(?:the|these|your)\s+(?:texts|messages|msgs)\b"
    r"|\b(?:cancel|stop|end|disable)\s+(?:(?:these|the|all|your|my|those)\s+)?(?:notifications|alerts|texts|messages|sms|"
    r"updates)\b"
    r"|\b(?:dar(?:me)?\s+de\s+)?baja\b"
)


def _opt_out(reply: _Reply) -> Understanding | None:
    m = _OPT_OUT.search(reply.t)
    if m is None:
        return None
    return Understanding(intent=ReplyIntent.OPT_OUT, why=f"asks to stop messages ({m.group(0).strip()!r})")


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
    r"|\b(?:no\s*one|nobody)\s+(?:named|called)\s+\w+\s+(?:(?:lives|works)\s+)?here\b|\bwrong\s+name\b"
    r"|\breturn\s+(?:it\s+)?to\s+(?:the\s+)?(?:sender|seller|store|shop|merchant|vendor|amazon)\b|\bwrong\s+person\b|\b(?:no\s*one|nobody)\s+(?:by|with|named)\s+that\s+name\b"
    r"|\b(?:already\s+)?cancell?ed\s+(?:it|this|that|the|my)\b|\bordered\s+(?:it\s+|this\s+)?by\s+mistake\b"
    r"|\b(?:doesn'?t|does not)\s+live\s+here\b"
    r"|\b(?:sent|delivered|shipped|came|ordered)\s+(?:to\s+(?:me|us|here)\s+)?(?:by\s+mistake|in\s+error|by\s+accident)\b"
    r"|\bwrong\s+(?:package|parcel|item|order)\b"
    r"|\bno\s+(?:lo|la|los|las)\s+(?:quiero|necesito|acepto|pedi|ordene|compre)\b"
    r"|\bno\s+quiero\s+(?:el|ese|este|nada)\b"
    r"|\bno\s+(?:pedi|ordene|compre|he pedido)\b|\bno\s+es\s+(?:mio|mia|para mi|nuestro)\b"
    r"|\b(?:sending|send|sent)\s+(?:me\s+)?a\s+(?:replacement|new\s+one)\b"
    r"|\b(?:already\s+)?returned\s+(?:it|this|that|the)\b"
    r"|\bi\s+(?:not|no)\s+want\b|\bno\s+deliver\b|\bi\s+(?:don'?t|do\s+not|won'?t|will\s+not)\s+accept\b|\bnot\s+accepting\b"
    r"|^\W*(?:please|pls)\s+return\b(?!\s+(?:at|after|tomorrow|later|on|in|when|to\s+my))|\breturn\s+(?:please|pls|plz)\b"
    r"|\b(?:asked|applied|filed)\s+for\s+a\s+refund\b|\brequested\s+a\s+refund\b"
    r"|\b(?:want|need|get|prefer)\s+(?:a\s+)?refund\b|\b(?:got|received|had|getting)\s+(?:a|my|the)\s+refund\b"
    r"|\breembolso\b"
    r"|\brechaz\w*|\bcancel(?:en|ar|e)\s+(?:el\s+)?(?:pedido|paquete|envio)\b"
)
_SEND_BACK = re.compile(
    # "bring it back around 3" and "puede regresar?" ask the driver to come again, not to return the parcel.
    r"\b(?:send|ship|take)\s+(?:(?:it|this|them|the\s+\w+)\s+)?back\b|\breturn\s+(?:it|this|them|the\s+\w+)\b"
    r"|\bdevuel(?:va|valo|vanlo|ve|ver|velo)\b|\bregres(?:alo|enlo|elo|arlo)\b"
    r"|\bmand(?:a|e|en)lo\s+(?:back|de\s+vuelta|de\s+regreso)\b"
    r"|\b(?:don'?t|dont|do\s+not)\s+(?:deliver|redeliver|re-deliver|bring|send)(?:\s+(?:it|the\s+\w+(?:\s+one)?))?\b"
    r"(?!(?:\s+(?:it|them|the\s+\w+))?\s+(?:today|tomorrow|tmrw|until|till|til|before|after|at|on|now|yet|here|there|to|"
    r"back))"
)


def _refuse(reply: _Reply) -> Understanding | None:
    for m in _REFUSE.finditer(reply.t):
        # A refusal carries its own "not" ("not mine"); only a ruled-out action ("don't return it") cancels it.
        if not reply.is_negated(m.start(), actions_only=True):
            return Understanding(intent=ReplyIntent.REFUSE, why=f"refusal ({reply.original(m.start(), m.end())!r})")
    return None


def _send_back(reply: _Reply) -> Understanding | None:
    for m in _SEND_BACK.finditer(reply.t):
        # "don't deliver it" is a ruled-out delivery, read here when nothing else in the reply says what to do.
        if re.match(r"don|do\s+not", m.group(0)) or not reply.is_negated(m.start(), actions_only=True):
            return Understanding(
                intent=ReplyIntent.REFUSE, why=f"asks to return it ({reply.original(m.start(), m.end())!r})"
            )
    return None
