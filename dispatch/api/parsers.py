"""JSON bodies for every API endpoint: DRF's parser, with a nesting limit that answers 400, not 500.

Python's JSON decoder recurses once per array or object level, so a body like ``[[[[...]]]]`` a hundred
thousand levels deep exhausts the interpreter's recursion limit. No document the API takes nests more
than a few levels; one that nests past the interpreter's limit is refused as malformed.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, parsers

NESTED_TOO_DEEPLY = "JSON parse error - the document is nested too deeply."


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(NESTED_TOO_DEEPLY) from None
