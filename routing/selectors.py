"""Reads of the routing app."""

from __future__ import annotations

from routing.models import RoutingSettings


def routing_settings() -> RoutingSettings:
    """The one settings row, created with the defaults the first time it is asked for."""
    settings, _ = RoutingSettings.objects.get_or_create(pk=1)
    return settings
