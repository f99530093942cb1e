"""How many SMS segments a text is billed as, from its body (the Message row keeps no count of its own).

A text in the GSM-7 alphabet goes as one segment of up to 160 characters, or in parts of 153 (each part
carries a header); a character of the alphabet's extension table (``^{}\\[~]|€`` and the form feed) takes two.
Any other character (an accent outside the alphabet, an emoji, curly quotes) sends the whole text in UCS-2: one
segment of up to 70 UTF-16 code units, or parts of 67; a character outside the basic plane takes two. Neither a
two-septet character nor a surrogate pair is split between parts, so a part may carry one less.
"""

from __future__ import annotations

from collections.abc import Iterable

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")
GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


def sms_segments(body: str) -> int:
    """The segments a text is billed as (at least one)."""
    if all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in body):
        return _segments((2 if char in GSM7_EXTENSION else 1 for char in body), GSM7_SINGLE, GSM7_PART)
    return _segments((2 if ord(char) > 0xFFFF else 1 for char in body), UCS2_SINGLE, UCS2_PART)


def _segments(sizes: Iterable[int], single: int, part: int) -> int:
    sizes = list(sizes)
    if sum(sizes) <= single:
        return 1
    parts, used = 1, 0
    for size in sizes:
        if used + size > part:
            parts, used = parts + 1, 0
        used += size
    return parts
