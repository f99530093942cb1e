"""A reply to "Just to check: ...?": yes confirms the reading asked about, a new reading replaces it, no withdraws it.

The desk asks once before acting on an unsure reading that cannot be taken back (a code for the driver, a parcel
left unattended). The answer is read with that reading in mind: "yes", "ok", "correct", "sí", "👍" confirm it;
"no", "wrong", "that's not it" withdraw it (a person reads the case); anything else is read as a new reply, so
"no, it's 8824" gives the code 8824.
"""

from __future__ import annotations

import dataclasses
import re

from outreach.understanding.meaning import Evidence, ReplyIntent, Understanding

_YES = re.compile(
    r"^\W*(?:yes|yeah|yea|yep|yup|ya|yes\s+(?:it\s+is|that'?s\s+(?:it|right))|ok|okay|k|kk|correct|right|"
    r"that'?s\s+(?:it|right|correct)|exactly|confirm(?:ed)?|affirmative|sure|si|sip|correcto|exacto|"
    r"asi\s+es|eso\s+es|es\s+correcto|claro|\U0001f44d|\u2705|\u2714\ufe0f?)"
    r"(?:\W+(?:thanks|thank\s+you|thx|ty|please|pls|gracias|that'?s\s+(?:it|right|correct)|correct|right))*\W*$"
)
_NO = re.compile(
    r"^\W*(?:no|nope|nah|wrong|incorrect|not\s+(?:right|correct|it)|that'?s\s+(?:wrong|not\s+(?:it|right))|"
    r"incorrecto|no\s+es\s+(?:correcto|asi|ese)|\U0001f44e)\W*$"
)


def confirmation(folded: str, asked: Understanding) -> Understanding | None:
    """What a short yes or no says about the reading asked about; None when the reply says more than that."""
    if _YES.match(folded):
        return dataclasses.replace(
            asked, doubt="", why=f"confirmed: {asked.why}", evidence=(Evidence(0, len(folded), "confirmed"),)
        )
    if _NO.match(folded):
        return Understanding(
            intent=ReplyIntent.UNCLEAR,
            why="said the reading asked about was wrong, and gave no other",
            ask_again=False,
            evidence=(Evidence(0, len(folded), "withdrawn"),),
        )
    return None
