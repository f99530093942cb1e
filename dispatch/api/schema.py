"""OpenAPI post-processing: the answers every authenticated operation can give, and the headers it sends.

drf-spectacular describes bodies; the headers a client must read (an ETag to send back, a replay flag,
how long to wait after a 429) are added here, so a generated client knows them.
"""

from __future__ import annotations

from typing import Any

SIGNED_OUT = "Not signed in to the desk: sign in first (the session cookie)."
COMMON_RESPONSES = {
    "401": "No token, or a token that is unknown, revoked or expired.",
    "403": "The token is valid but may not use this operation.",
    "429": "Too many requests; retry after the number of seconds in Retry-After.",
}
RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait before the next request.", "schema": {"type": "integer"}}
}
ETAG = {
    "ETag": {
        "description": "The run's version: send it back as If-None-Match to get 304 while nothing changed.",
        "schema": {"type": "string"},
    }
}
NO_STORE = {
    "Cache-Control": {
        "description": "`no-store`: an access code is never kept in a cache.",
        "schema": {"type": "string"},
    }
}
PRIVATE = {
    "Cache-Control": {
        "description": "`private, no-cache`: ask again with If-None-Match before using a kept copy.",
        "schema": {"type": "string"},
    }
}
# (operation id, status) -> the headers that response carries.
RESPONSE_HEADERS: dict[tuple[str, str], dict[str, Any]] = {
    ("driver_run", "200"): {**ETAG, **PRIVATE},
    ("driver_access_code_reveal", "200"): NO_STORE,
    ("driver_run", "304"): ETAG,
    ("driver_scan_create", "201"): {
        "Idempotent-Replayed": {
            "description": "`true` when this Idempotency-Key was seen before: the body is the first answer, "
            "and nothing was recorded again. Absent on a first scan.",
            "schema": {"type": "string", "enum": ["true"]},
        }
    },
}


def _limits() -> dict[tuple[str, str], dict[str, Any]]:
    """(component, property) -> the constraints drf-spectacular cannot read off the serializer."""
    from dispatch.services.locations import MAX_PINGS_PER_BATCH

    return {("LocationsInputRequest", "pings"): {"minItems": 1, "maxItems": MAX_PINGS_PER_BATCH}}


def add_common_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    error = {"$ref": "#/components/schemas/Error"}
    components = result.get("components", {}).get("schemas", {})
    for (component, name), limits in _limits().items():
        if name in components.get(component, {}).get("properties", {}):
            components[component]["properties"][name].update(limits)
    for path in result.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            for (operation_id, status), headers in RESPONSE_HEADERS.items():
                if operation.get("operationId") == operation_id and status in responses:
                    responses[status].setdefault("headers", {}).update(headers)
            # Every body an operation declares is one it needs.
            if "requestBody" in operation:
                operation["requestBody"]["required"] = True
            # A CSV answer is text, whatever the JSON beside it looks like.
            for answer in responses.values():
                if "text/csv" in answer.get("content", {}):
                    answer["content"]["text/csv"] = {"schema": {"type": "string"}}
            if not operation.get("security"):
                continue
            by_session = all(set(scheme) <= {"cookieAuth"} for scheme in operation["security"])
            for status, description in COMMON_RESPONSES.items():
                if status == "401" and by_session:
                    description = SIGNED_OUT
                responses.setdefault(
                    status, {"description": description, "content": {"application/json": {"schema": error}}}
                )
            responses["429"].setdefault("headers", {}).update(RETRY_AFTER)
    return result
