"""OpenAPI post-processing: the answers every authenticated operation can give."""

from __future__ import annotations

from typing import Any

COMMON_RESPONSES = {
    "401": "No token, or a token that is unknown, revoked or expired.",
    "403": "The token is valid but may not use this operation.",
    "429": "Too many requests; retry after the number of seconds in Retry-After.",
}


def add_common_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    error = {"$ref": "#/components/schemas/Error"}
    for path in result.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict) or not operation.get("security"):
                continue
            responses = operation.setdefault("responses", {})
            for status, description in COMMON_RESPONSES.items():
                responses.setdefault(
                    status, {"description": description, "content": {"application/json": {"schema": error}}}
                )
    return result
