"""Reads filtered by who asks: the driver API by the driver, the desk by the depots a user works."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
from django.utils import timezone

from dispatch import roles
from dispatch.models import Depot, Driver, DriverInstruction, Run, Stop, User


def driver_run_current(*, driver: Driver, now: dt.datetime | None = None) -> Run | None:
    """The run the driver is on today: the one in progress, else the next to start, else today's last."""
    now = now or timezone.now()
    today = now.astimezone(driver.depot.time_zone).date()
    runs = list(
        Run.objects.filter(driver=driver, service_date=today)
        .exclude(status=Run.Status.CANCELLED)
        .select_related("depot")
        .order_by("shift_start")
    )
    if not runs:
        return None
    for run in runs:
        if run.status == Run.Status.IN_PROGRESS:
            return run
    upcoming = [run for run in runs if run.shift_end > now and run.status != Run.Status.COMPLETED]
    return upcoming[0] if upcoming else runs[-1]


def run_stops(*, run: Run) -> QuerySet[Stop]:
    """The run's stops in sequence, with what the app shows, in one query."""
    return (
        Stop.objects.filter(run=run).select_related("order", "order__address", "order__recipient").order_by("sequence")
    )


def stop_latest_instructions(*, driver: Driver, stop_ids: list[int]) -> dict[int, DriverInstruction]:
    """The newest instruction for each stop, in one query (DISTINCT ON)."""
    latest = (
        DriverInstruction.objects.filter(driver=driver, stop_id__in=stop_ids)
        .order_by("stop_id", "-seq")
        .distinct("stop_id")
    )
    return {instruction.stop_id: instruction for instruction in latest if instruction.stop_id is not None}


def driver_instructions_after(*, driver: Driver, after: int, limit: int) -> list[DriverInstruction]:
    return list(DriverInstruction.objects.filter(driver=driver, seq__gt=after).order_by("seq")[:limit])


def driver_stop(*, driver: Driver, stop_id: int) -> Stop | None:
    return (
        Stop.objects.select_related("run", "run__depot", "order__address")
        .filter(pk=stop_id, run__driver=driver)
        .first()
    )


def user_depots(*, user: User) -> QuerySet[Depot] | None:
    """The depots a desk user works: None for an admin (every depot), a dispatcher's own (``User.depots``)."""
    if user.is_superuser or user.groups.filter(name=roles.ADMINS).exists():
        return None
    return user.depots.all()
