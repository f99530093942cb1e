"""One error shape for the whole API.

    {"detail": "Invalid input.", "code": "invalid", "fields": {"runs[2].stops[0].order.reference": ["..."]}}

``fields`` appears for validation errors, keyed by the JSON path of the bad
value, so a client can point at the exact item in a large document.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler


def flatten(errors: Any, path: str = "") -> dict[str, list[str]]:
    """DRF's nested error structure as {json.path: [messages]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            # A ListSerializer reports bad items by index, and an error of the list itself under
            # non_field_errors: that one belongs to the list's own path.
            if isinstance(key, int):
                child = f"{path}[{key}]"
            elif key == api_settings.NON_FIELD_ERRORS_KEY and path:
                child = path
            else:
                child = f"{path}.{key}" if path else str(key)
            for sub_path, messages in flatten(value, child).items():
                flat.setdefault(sub_path, []).extend(messages)
    elif isinstance(errors, list):
        if all(not isinstance(item, (dict, list)) for item in errors):
            flat[path or "non_field_errors"] = [str(item) for item in errors]
        else:
            for index, item in enumerate(errors):
                if item:
                    for sub_path, messages in flatten(item, f"{path}[{index}]").items():
                        flat.setdefault(sub_path, []).extend(messages)
    else:
        flat[path or "non_field_errors"] = [str(errors)]
    return flat


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"detail": "Invalid input.", "code": "invalid", "fields": flatten(exc.detail)}
        response.status_code = status.HTTP_400_BAD_REQUEST
        return response
    if isinstance(exc, exceptions.APIException):
        detail = exc.detail
        message = detail if isinstance(detail, str) else str(detail)
        code = getattr(detail, "code", None) or exc.default_code
        body: dict[str, Any] = {"detail": message, "code": code}
        extra = getattr(exc, "extra", None)
        if extra:
            body.update(extra)
        response.data = body
    return response


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


class Refused(exceptions.APIException):
    """A 403 with a machine-readable reason, e.g. for an access-code reveal."""

    status_code = status.HTTP_403_FORBIDDEN
    default_code = "refused"

    def __init__(self, detail: str, code: str) -> None:
        super().__init__(detail, code)


# --- The shape in the schema ---------------------------------------------------------------------------

ERROR = inline_serializer(
    "Error",
    {
        "detail": serializers.CharField(),
        "code": serializers.CharField(),
        "fields": serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False),
    },
)


def errors(**codes: str) -> OpenApiResponse:
    """An error answer, with the ``code`` values it can carry and what each means."""
    return OpenApiResponse(ERROR, description="; ".join(f"`{code}`: {meaning}" for code, meaning in codes.items()))


INVALID = errors(invalid="a field is wrong; `fields` says which, by JSON path")
