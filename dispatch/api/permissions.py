from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from dispatch.models import ApiToken


class IsDriver(BasePermission):
    """A driver app's token, for an active driver."""

    message = "This endpoint is for the driver app: use a driver token."

    def has_permission(self, request: Request, view: Any) -> bool:
        token = request.auth
        if not isinstance(token, ApiToken) or token.kind != ApiToken.Kind.DRIVER:
            return False
        driver = getattr(request.user, "driver", None)
        return driver is not None and driver.active


class IsIntegration(BasePermission):
    """An integration's token (route planner, order system, CRM)."""

    message = "This endpoint is for integrations: use an integration token."

    def has_permission(self, request: Request, view: Any) -> bool:
        token = request.auth
        return isinstance(token, ApiToken) and token.kind == ApiToken.Kind.INTEGRATION
