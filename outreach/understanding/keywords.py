"""Keywords and set phrases: carrier keywords, asking to stop messages, refusing the parcel or sending it back.

A carrier keyword (STOP, START, HELP...) counts only as the whole message, as the carrier reads it; a message that
starts with STOP and says more is left to a person and not asked again. The phrases are regexes over the folded
text, English and Spanish: "stop texting me", "no me escriban" (rule 3); "didn't order this", "no lo quiero"
(rule 5); "send it back", "devuélvalo" when nothing before it decided (rule 7). A refusal carries its own "not"
("not mine"), so only an action the reply rules out cancels one.
"""

from __future__ import annotations

import re

from outreach.understanding.meaning import ReplyIntent, Understanding
from outreach.understanding.reply import _Reply

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
    **dict.fromkeys(("start", "yes", "unstop"), ReplyIntent.OPT_IN),
    # AYUDA is ours, not the carrier's: Spanish-speaking recipients ask for help in Spanish.
    **dict.fromkeys(("help", "info", "ayuda"), ReplyIntent.HELP),
}
_KEYWORD_TRIM = " \t\r\n.,!?¡¿'\"()[]-~:;"

# The carrier's opt-out keywords at the start of a longer message ("STOP PLEASE").
_STOP_FIRST = re.compile(r"^\W*(stop|stopall|unsubscribe|end|quit|revoke|optout|cancel)\b")


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
