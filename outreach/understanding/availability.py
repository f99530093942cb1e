"""There now, a call, or a time to come back: when and how the recipient can take the parcel (rules 8 to 11).

"I'm home", "omw", "give me 5 minutes", "ya voy": the recipient is there now or within minutes, unless the reply
also names a later time. A call request ("call me", "llámame") is one; followed by a condition ("call me if you
can't find it") it is a courtesy, read only when no other rule decided. A time names a window (`windows`);
"try again" with no time means now. Whatever sits in a clause complaining about the past ("I was home at 2, no
one came") says nothing about now.
"""

from __future__ import annotations

import re

from outreach.understanding.meaning import Evidence, ReplyIntent, Understanding
from outreach.understanding.reply import _QUESTION, _Reply
from outreach.understanding.times import _DAY, _PART, _TIME, SHORT_ARRIVAL, SHORT_WAIT, _number
from outreach.understanding.windows import _best_window, _describe, _in_complaint, _windows

# --- 8. There now -----------------------------------------------------------------------------------------------------

_PRESENT = re.compile(
    r"\b(?:i'?m|i am|im|we'?re|we are|someone'?s|someone is|somebody'?s|somebody is|my\s+\w+\s+is|my\s+\w+'s|"
    r"he'?s|she'?s|they'?re|i'?m\s+already|i\s+just\s+got|just\s+got|i\s+got)\s+"
    r"(?:(?:already|just|now|finally|still|right)\s+)?"
    r"(?:home|here|there|back|in(?=\s*(?:[.!,]|$|now))|downstairs|outside|available|around|"
    r"at\s+(?:home|the\s+(?:(?:front|back|side|main)\s+)?(?:door|front|gate|lobby|house|entrance))|"
    r"in\s+the\s+(?:lobby|house|building|office))\b"
    r"(?!\s+(?:at|after|by\s+(?:\d|noon|then|tonight|tomorrow)|from|around|tomorrow|tmrw|tonight|later|on|in\s+\d|in\s+an?\b|"
    r"between|this\s+(?:afternoon|evening)|soon|next))"
    r"|\b(?:home|here|back|open)\s+now\b|\b(?:we'?re|we\s+are|it'?s|store\s+is|office\s+is|(?:the\s+)?(?:door|gate)'?s|"
    r"(?:the\s+)?(?:door|gate)\s+is)\s+(?:open|unlocked)\b(?!\s+(?:at|after|from|until|till|on|tomorrow))"
    r"|\bi\s+(?:can\s+)?see\s+(?:the|your|ur)\s+(?:truck|van|driver|car)\b|\b(?:i'?m|im)\s+at\s+the\s+window\b"
    r"|\b(?:coming|going|heading|running)\s+(?:down|downstairs|out|outside)\b"
    r"|(?<!it's\s)(?<!its\s)(?<!it\sis\s)\b(?:i'?m\s+|im\s+)?coming\b(?=\s*(?:[.!]|$))|\b(?:i'?m|im)\s+coming\b(?!\s+(?:home|back|at|after|by|in|on|tomorrow|tmrw|tonight|later|around|from))"
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
    r"|\b(?:almost|nearly|just\s+about|pretty\s+much)\s+(?:there|home|here|back)\b|\bpulling\s+up\b"
    r"|\baround\s+the\s+corner\b|\bya\s+casi\s+(?:llego|estoy)\b|\bcasi\s+llego\b"
    r"|\b(?:just\s+)?(?:opened|unlocked)\s+(?:the\s+)?(?:gate|door)\b|\bbuzz(?:ing|ed)\s+(?:you|u)\s+in\b"
    r"|\b(?:at|by)\s+the\s+(?:front\s+)?(?:door|gate|lobby|entrance)\s+now\b|\bya\s+(?:abri|esta\s+abierto)\b"
    r"|\b(?:i'?m|im|just)\s+(?:parking|parked)\b|\bparking\s+now\b|\bllegando\b"
    r"|\bbuzz(?:ing|ed)\s+(?:you|u)\s+up\b|\bopening\s+(?:the\s+)?(?:gate|door)\b"
    r"|\b(?:at|by)\s+the\s+(?:front\s+)?(?:door|gate|lobby|entrance|counter)\s+right\s+now\b|\blet\s+(?:you|u)\s+in\b"
    r"|^\W*(?:si|yes)\s+estoy\b|\btoque\s+fuerte\b"
    r"|\bi'?ll\s+(?:open|unlock|buzz)\s+(?:the\s+)?(?:gate|door|it)\b[^.!?]*\b(?:now|right\s+now)\b"
    r"|\b(?:come|coming|comin|walking|running|heading|going)\s+(?:down|out|2|to)\b[^.!?]{0,25}\b(?:open|buzz|let)\b"
    r"|\barriving\s+(?:in\s+)?[1-5]\s*min\w*\b|\b(?:home|here|back)\s+nw\b|\bopening\s+it\s+(?:now|rn)\b"
    r"|\b(?:in|at)\s+the\s+(?:driveway|lobby(?:\s+door)?|front\s+door|door|gate)\s+(?:now|rn)\b|\bsee\s+me\s*\?"
    r"|\b(?:comin|coming)\s+out\s+now\b|\bcome\s+open\b|\bbuzz(?:ing|ed)?\s+(?:you|u)\s+(?:in|up|thru|through)\b"
    r"|\b(?:at|by)\s+the\s+(?:front\s+)?(?:door|gate|lobby|entrance)\s+rn\b|\b(?:running|walking)\s+(?:to|2)\s+the\s+(?:door|gate|lobby)\b|\bestoy\s+bajando\b"
    r"|\b(?:pls|please|plz)\s+wait\b|\bwait\s+(?:for\s+me|pls|please|plz)\b"
    r"|^\W*(?:here\W+){1,}(?:sorry\b)?|\bjust\s+(?:walked|got|came)\s+(?:in|home|back)\b|\bdrive\s+(?:in|on\s+in|up)\b|\bcoming\s+around\b"
    r"|\b(?:i'?m|im)\s+outside\b|\byou\s+can\s+(?:drop\s+it\s+off|come|bring\s+it)\s+now\b|\bwe\s+(?:just\s+)?re-?opened\b"
    r"|\bcoming\s+(?:dwn|dn)\b|\b(?:i'?m|im)\s+(?:outsid|outsde|ouside|otside|outide)\b"
    r"|\bi'?ll\s+answer\b|\bbrb\b|\b(?:i'?m|im)\s+up\b(?!\s+(?:to|at|until|till|by|in))"
    r"|\b(?:walking|heading|going|running|coming)\s+(?:down\s+|out\s+)?to\s+the\s+(?:lobby|door|gate|front|entrance|curb|street)\b|\b(?:home|here|back|open)\s+rn\b|\bin\s+(?:the\s+)?lobby\s+(?:rn|now)\b|\b(?:i'?m|im)\s+out\s+front\b"
    r"|^\W*bajando\W*$|\bopened\s+it\b|\bgo\s+ahead\b|\bcome\s+(?:on\s+)?in\b|\badelante\b"
    r"|\bto\s+let\s+(?:you|u)\s+in\b|\b(?:i'?m|im|we'?re)\s+inside\b|\bestoy\s+adentro\b"
    r"|\b(?:ya\s+|orita\s+|ahorita\s+)(?:bajo|salgo|le\s+abro|te\s+abro|abro|voy)\b|^\W*(?:bajo|salgo)\b"
    r"|\bbajo\s+en\s+(?:un|1)\s+minuto\b|\bya\s+abrimos\b|\bestamos\s+abiertos\b|\bpase(?:le)?\b"
    r"|\bvoy\s+al\s+(?:lobby|porton|portón|puerta|frente)\b|\bgoing\s+to\s+the\s+(?:lobby|door|gate|front)\s+(?:right\s+)?now\b"
    r"|\b(?:i'?m|im)\s+(?:literally\s+)?standing\s+(?:outside|at|by|in\s+front)\b"
    r"|\b(?:i'?m|im)\s+at\s+the\s+(?:corner|curb|street|sidewalk|truck|van)\s+(?:right\s+)?now\b"
    r"|\b(?:aqui\s+estoy|estoy\s+(?:aqui|afuera|outside|en\s+la\s+puerta|abajo))\b"
    r"|\b(?:i'?m|im)\s+(?:literally|actually|already|right|still|just)\s+(?:at|by|outside|downstairs|here)\b"
    r"|\b(?:someone|somebody)(?:'s|\s+is)\s+(?:at|in)\s+the\s+(?:\w+\s+)?(?:desk|office|door|lobby|front|reception|counter|"
    r"register)\b"
    r"|\bestoy\s+(?:parad[oa]|esperando)\b|\bya\s+(?:lo|la|los|te)\s+veo\b|\bi\s+(?:can\s+)?see\s+(?:you|u|him|her)\b"
    r"|(?:^|[.!?]\s*)\W*(?:i'?m\s+|im\s+)?(?:back|home|here)(?:\s*!+|(?=\s*(?:[.?,]|$|just|now)))"
)
_TRY_AGAIN = re.compile(
    r"\b(?:try\s+again|ring\s+again|knock\s+again|ring\s+the\s+bell|knock\s+(?:loud|louder|harder)|come\s+back|"
    r"vuelva\s+a\s+(?:tocar|intentar)|intente\s+de\s+nuevo|toque\s+(?:el\s+timbre|otra\s+vez))\b"
    r"(?!\s+(?:later|l8r|l8ter|luego|mas\s+tarde|another|some|other|next|tomorrow|tmrw|on|in|after|at))"
)
_NOT_PRESENT_BEFORE = re.compile(r"\b(?:not|no|nobody|no one|noone|nadie|isn'?t|aren'?t|can'?t|cannot|won'?t)\s*$")
_SHORT_WAIT = re.compile(
    r"\b(?:give\s+me|gimme|wait(?:\s+for\s+me)?|need|dame|espere(?:me)?|deme)\s+(?:like\s+|about\s+)?"
    r"(?P<n>a|an|one|two|three|five|ten|fifteen|a\s+few|a\s+couple(?:\s+of)?|\d{1,2}|un|una|unos|cinco|diez|dos)\s*"
    r"(?P<unit>min|mins|minute|minutes|minuto|minutos|sec|secs|second|seconds|segundos|moment|momento)\b"
)


_CONDITION_BEFORE = re.compile(r"\b(?:when|once|if|cuando|si|as\s+soon\s+as)\b[^,.!?;]*$")
_AFTER_THAT = re.compile(
    r"\b(?:dsp|desp|after\s+that|after\s+then|afterwards|despues(?:\s+de\s+eso)?|then|after\s+work|despues\s+del\s+trabajo|"
    r"al\s+rato)\b"
)


def _present_now(reply: _Reply) -> str:
    """The phrase that says the recipient is there (or within minutes), or ''."""
    found = reply.memo.get("present")
    if found is None:
        found = reply.memo["present"] = _read_present(reply)
    return str(found)


def _read_present(reply: _Reply) -> str:
    t = reply.t
    for m in _PRESENT.finditer(t):
        if _NOT_PRESENT_BEFORE.search(t, max(0, m.start() - 10), m.start()):
            continue
        present_tense = re.match(r"(?:i'?m|im|i\s+am|we'?re|we\s+are)\b", m.group(0))
        if _in_complaint(reply, m.start()) and "now" not in t[m.start() : m.end() + 5] and not present_tense:
            continue  # "I was home at 2" says nothing of now; "here now, sorry was in the shower" does
        if _CONDITION_BEFORE.search(t, reply.clause(m.start()).start, m.start()):
            continue  # "have the driver call me when he's outside": a condition, not a presence
        if _AFTER_THAT.search(t, reply.clause(m.start()).start, m.start()):
            continue  # "dentist till 10:30, after that I'm around": there later, not now
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
    r"|\b(?:explain|talk|discuss|tell\s+(?:you|u))\b[^.!?]{0,20}\b(?:on|over|by)\s+(?:the\s+)?phone\b"
    r"|\b(?:call|ring|phone)\s+(?:our|the|my)\s+(?:main\s+)?(?:line|number|office|desk)\b"
    r"|\b(?:call|ring|phone)\s+(?:our|the|my)\s+(?:main\s+)?(?:line|number|office|desk)\b"
    r"|^\W*call\W*$|\bcall\s+and\s+(?:i'?ll|i\s+will|we'?ll)\b|\bcallme\b|\bcall\s+(?:him|her|them)\s+\(?\d{3}|\bneed\s+a\s+(?:human|person|real\s+person)\b|"
    r"\b(?:you|u)\s+call\s*\?|\bcall\s+(?:plz|pls|please|asap)\b|(?:^|[.!]\s*)call\s*\?|\bcall\s+my\s+[a-z]+\b|\bcall\s+[a-z]+\s+(?:on|at)\s+\(?\d{3}|\bjust\s+call\W*$|\bcall\s+the\s+(?:\w+\s+){0,2}(?:number|shack|office|desk)\b"
    r"|\b(?:call|phone)\s+to\s+me\b|\bllame\s+a\s+este\s+numero\b|\bcall\s+(?:first|ahead)\b"
    r"|\b(?:easier|better|best|quicker)\s+(?:if|to)\s+(?:you|u)\s+call\b"
    r"|\b(?:prefer|like|want|need|rather)\s+(?:a\s+)?(?:phone\s+)?call\b|\bcall\s+(?:him|her|them)\s+(?:at|on)\b"
    r"|\bcall\s+(?:the|my|our)\s+(?:store|office|work|shop|business|cell|home)\s*(?:number|phone|line)?\b"
    r"|\bllame\b(?=\s*(?:x\s+favor|xfa|porfa|por\s+favor|pls|$))|\bme\s+llaman\b"
    r"|\b(?:favor\s+de\s+)?llamarme\b|\bllamenme\b|\bme\s+(?:llame|llamen|marque|marquen)\b"
    r"|\b(?:get|have|need|want|like)\s+a\s+call(?:\s*back)?\b|\bcall\s+(?:me\s+)?back\b|\btelephone\s+me\b"
    r"|\bcall\s+(?:on|at)\s+my\s+(?:number|phone|cell)\b|\b(?:facetime|whatsapp|video\s+call)\s+me\b"
    r"|\b(?:llame|llamen|llamar|marque)\s+a\s+(?:mi|al)\b|\bcall\s+my\s+(?:husband|wife|son|daughter|mom|dad|"
    r"brother|sister|roommate|partner)\b"
    r"|^\W*(?:just\s+)?call\s+(?=when|once|as\s+soon|before|if|when\s+u)"
    r"|\b(?:llamame|llameme|llamenme|marcame|marqueme|hablame|hableme)\b"
    r"|(?<!don't\s)(?<!dont\s)(?<!not\s)\btext\s+me\b(?=\s*(?:when|before|once|if|cuando|back|first))"
    r"|\bme\s+(?:pueden|puede|podrian|podria|puedes)\s+(?:llamar|marcar|hablar)\b"
)
_CALL_CONDITION = re.compile(r"\s*(?:if|in\s+case|when|once|before|si|cuando|antes)\b(?!\s+\d)")
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
            return Understanding(
                intent=ReplyIntent.CALL_REQUEST,
                why=f"{kind} ({phrase!r})",
                evidence=(Evidence(m.start(), m.end(), "asks for a call"),),
            )
    return None


# --- 8 to 10. There now, a call, or a time to come back ---------------------------------------------------------------


def _said(reply: _Reply) -> tuple[Evidence, ...]:
    """Where the reply says it is there, or names a time."""
    found = [Evidence(m.start(), m.end(), "there now") for m in _PRESENT.finditer(reply.t)]
    for pattern in (_TIME, _DAY, _PART):
        found += [Evidence(m.start(), m.end(), "time") for m in pattern.finditer(reply.t)]
    return tuple(sorted(found, key=lambda e: e.start))


def _now_or_later(reply: _Reply) -> Understanding | None:
    # A call asked for outright comes first: "call the store 312 555 0129, someone will let you in".
    call = _call_request(reply, conditional=False)
    if call is not None:
        return call
    present = _present_now(reply)
    window = _best_window(_windows(reply))
    later = window is not None and window.kind not in ("until", "before") and window.start > reply.now + SHORT_WAIT
    if present and not later:
        return Understanding(intent=ReplyIntent.AVAILABLE_NOW, why=f"there now ({present!r})", evidence=_said(reply))
    if window is None:
        again = _TRY_AGAIN.search(reply.t)
        asking = again is not None and _QUESTION.search(reply.t, reply.sentences[reply.sentence(again.start())].start)
        if again is not None and not asking and not _in_complaint(reply, again.start()):
            # "sorry I was in the shower, try again": no time named, so now.
            return Understanding(intent=ReplyIntent.AVAILABLE_NOW, why=f"asks to try again ({again.group(0)!r})")
        return None
    if window.kind == "in" and window.end is None and window.start - reply.now <= SHORT_ARRIVAL:
        return Understanding(
            intent=ReplyIntent.AVAILABLE_NOW, why=f"there within minutes ({window.phrase!r})", evidence=_said(reply)
        )
    return Understanding(
        evidence=_said(reply),
        intent=ReplyIntent.RESCHEDULE,
        window_start=window.start,
        window_end=window.end,
        why=_describe(window, reply.today),
    )
