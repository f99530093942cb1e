"""Reads of the routing app."""

from __future__ import annotations

from routing.models import RoutingSettings


def routing_settings() -> RoutingSettings:
    return RoutingSettings.current()
