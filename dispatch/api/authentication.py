"""Bearer-token authentication for the driver app and integrations."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from dispatch.models import ApiToken, User
from dispatch.services.tokens import api_token_authenticate

KEYWORDS = (b"bearer", b"token")


def key_from_header(header: bytes) -> str | None:
    """The key in an ``Authorization: Bearer <key>`` (or ``Token <key>``) header, or None."""
    parts = header.split()
    if not parts or parts[0].lower() not in KEYWORDS:
        return None
    if len(parts) != 2:
        raise exceptions.AuthenticationFailed("Invalid Authorization header: expected 'Bearer <token>'.")
    try:
        return parts[1].decode("ascii")
    except UnicodeDecodeError:
        raise exceptions.AuthenticationFailed("Invalid token.") from None


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <key>``; ``request.auth`` is the ApiToken."""

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        key = key_from_header(authentication.get_authorization_header(request))
        if key is None:
            return None
        token = api_token_authenticate(key=key)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid or expired token.")
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "dispatch.api.authentication.ApiTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer"}
