"""How many SMS segments a text is billed as, from its body: GSM-7 in 160 characters or parts of 153 (the
extension table's characters count twice), anything else in UCS-2, 70 code units or parts of 67 (an emoji
counts twice); a character that takes two never split between parts."""

from __future__ import annotations

import pytest

from outreach.segments import sms_segments


@pytest.mark.parametrize(
    ("body", "segments"),
    [
        ("", 1),
        ("Your parcel LM-88201 could not be delivered: nobody was home. When should we come back?", 1),
        ("x" * 160, 1),
        ("x" * 161, 2),
        ("x" * 306, 2),
        ("x" * 307, 3),
        # è, é, ñ, ü, ¿ and € are GSM-7; € and the brackets take two septets.
        ("¿Cuando volvemos?", 1),
        ("é" * 160, 1),
        ("€" * 80, 1),
        ("€" * 81, 2),
        ("x" * 152 + "€", 1),
        ("x" * 159 + "€", 2),
        # Two septets are never split: 306 septets would fill two parts of 153, but the euro sign at the edge
        # of the first goes whole to the second, and the last character to a third.
        ("x" * 152 + "€" + "x" * 152, 3),
        ("x" * 151 + "€" + "x" * 153, 2),
        # Outside GSM-7 (ł, curly quotes, emoji) the whole text goes in UCS-2.
        ("ł" * 70, 1),
        ("ł" * 71, 2),
        ("ł" * 134, 2),
        ("ł" * 135, 3),
        ("“quoted”" + "x" * 62, 1),
        ("🙂" * 35, 1),
        ("🙂" * 36, 2),
        # An emoji is two code units, and a surrogate pair is not split between parts.
        ("ł" * 66 + "🙂" + "ł" * 3, 2),
        ("ł" * 65 + "🙂" + "ł" * 67, 2),
        ("ł" * 66 + "🙂" + "ł" * 66, 3),
    ],
)
def test_it_counts_the_segments_a_text_is_billed_as(body, segments):
    assert sms_segments(body) == segments
