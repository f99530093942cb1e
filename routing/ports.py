"""What routing tells the desk, and how it finds it.

Routing re-plans runs: the arrivals of their stops move, and so does the risk the desk scores for each stop
(texts ahead of the driver). The desk sits above routing, so routing names what it needs here and the
implementation is a setting (``ROUTING_DESK``: a dotted path to a class). Called inside routing's transaction.
"""

from __future__ import annotations

import functools
from typing import Protocol

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string


class Desk(Protocol):
    def runs_changed(self, *, run_ids: list[int]) -> None:
        """The runs were re-planned: their stops' arrivals moved."""


class NoDesk:
    """No desk: nothing follows a re-plan."""

    def runs_changed(self, *, run_ids: list[int]) -> None:
        return None


@functools.cache
def desk() -> Desk:
    implementation: Desk = import_string(settings.ROUTING_DESK)()
    return implementation


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: object) -> None:
    if setting == "ROUTING_DESK":
        desk.cache_clear()
