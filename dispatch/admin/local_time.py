"""Admin shows times in the depot's zone, as the board and the texts do, not the server's UTC."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from dispatch.models import Depot


def admin_zone(user: Any) -> str | None:
    """The zone of the depots the user works, when they share one; for a user limited to none (an admin), the zone
    every depot shares. None when the depots span zones: admin then keeps UTC, as the server does."""
    depots = user.depots.all() if user.depots.exists() else Depot.objects.all()
    zones = set(depots.values_list("time_zone", flat=True).distinct()[:2])
    return str(zones.pop()) if len(zones) == 1 else None


class DepotTimeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        zone = admin_zone(user) if request.path.startswith("/admin/") and user and user.is_authenticated else None
        if zone is None:
            return self.get_response(request)
        timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
