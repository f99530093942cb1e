"""How a phone number is shown to people who work cases but need not read it: the last two digits.

The board and admin show numbers this way to dispatchers; admins see them whole in admin.
"""

from __future__ import annotations

import re
from typing import Final

MASK: Final = "••••"


def phone_masked(phone: object) -> str:
    """Only the last two digits of a phone number: enough to tell two numbers apart on a call."""
    digits = re.sub(r"\D", "", str(phone or ""))
    return f"{MASK}{digits[-2:]}" if len(digits) >= 2 else ""
