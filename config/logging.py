"""A last line of defence: phone numbers never reach a log line in full.

Code should not log secrets in the first place; this filter masks what slips
through (for instance a phone number inside an exception message from a
library) before any handler writes it.
"""

from __future__ import annotations

import logging
import re

# E.164 (+13125550123) and North American spellings ((312) 555-0123, 312.555.0123),
# but not dates or order references.
_PHONE = re.compile(r"(?<![\w+])(\+\d{8,15}|(?:\+?1[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]\d{4})(?![\w])")


def mask_phone_numbers(text: str) -> str:
    def _mask(match: re.Match[str]) -> str:
        raw = match.group(1)
        digits = re.sub(r"\D", "", raw)
        if len(digits) < 10:
            return raw
        return f"***{digits[-2:]}"

    return _PHONE.sub(_mask, text)


class RedactSensitiveFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_phone_numbers(message)
        if masked != message:
            record.msg = masked
            record.args = None
        return True
