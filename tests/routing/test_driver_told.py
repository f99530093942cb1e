"""What routing's changes tell the drivers they touch, in each driver's language: the stop, its place in the run
and when; where a parcel that left a run went."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import formats, timezone, translation

from dispatch.models import Driver, DriverInstruction, Run, Stop
from routing import services
from tests.clock import TODAY, local
from tests.routing.line import failed_at, place, remaining, run_with_stops

pytestmark = pytest.mark.django_db(transaction=False)
TOMORROW = TODAY + dt.timedelta(days=1)


def speaks(driver: Driver, language: str) -> None:
    Driver.objects.filter(pk=driver.pk).update(language=language)


def told(driver: Driver, kind: str) -> str:
    return DriverInstruction.objects.get(driver=driver, kind=kind).text


def clock(stop: Stop, language: str) -> str:
    """The stop's arrival as its driver reads it: "2:05 PM" in English, "14:05" in Spanish."""
    stop.refresh_from_db()
    eta = timezone.localtime(stop.planned_arrival, stop.run.depot.time_zone)
    return f"{eta:%H:%M}" if language == "es" else f"{eta:%I:%M %p}".lstrip("0")


def day(value: dt.date, language: str) -> str:
    with translation.override(language):
        return formats.date_format(value, "D j M")


def test_a_failed_stop_put_back_on_the_run_is_named_with_its_new_place_and_time(dave):
    run, stops = run_with_stops(dave, [1, 2, 3, 2.5])
    failed = failed_at(stops[3])
    place(dave, 1)

    services.stop_reinsert(stop_id=failed.pk, window_start=None, window_end=None, requested_by="Case #7")

    order = remaining(run)
    assert told(dave, DriverInstruction.Kind.ROUTE_UPDATED) == (
        f"{failed.order.reference} is back on your route: stop {order.index(failed.pk) + 1} of {len(order)}, "
        f"around {clock(failed, 'en')}."
    )


def test_a_spanish_speaking_driver_reads_the_same_in_spanish_with_a_24_hour_clock(dave):
    speaks(dave, "es")
    run, stops = run_with_stops(dave, [1, 2, 3, 2.5])
    failed = failed_at(stops[3])
    place(dave, 1)

    services.stop_reinsert(stop_id=failed.pk, window_start=None, window_end=None, requested_by="Case #7")

    order = remaining(run)
    text = told(dave, DriverInstruction.Kind.ROUTE_UPDATED)
    assert text == (
        f"{failed.order.reference} vuelve a tu ruta: parada {order.index(failed.pk) + 1} de {len(order)}, "
        f"hacia las {clock(failed, 'es')}."
    )
    assert re.search(r"hacia las \d\d:\d\d\.$", text)


def test_a_parcel_handed_to_a_colleague_later_today_tells_both_drivers_when(dave, erin):
    speaks(erin, "es")
    _run, stops = run_with_stops(dave, [1, 2], end=(11, 0))
    failed = failed_at(stops[0])
    evening, _ = run_with_stops(erin, [3], start=(13, 0), end=(19, 0), status=Run.Status.PLANNED)

    change = services.stop_reinsert(stop_id=failed.pk, window_start=local(14), window_end=None, requested_by="t")

    assert change.stop_id is not None
    moved = Stop.objects.select_related("run__depot", "order").get(pk=change.stop_id)
    assert moved.run == evening
    assert told(dave, DriverInstruction.Kind.SKIP) == (
        f"Skip this stop: another driver takes it around {clock(moved, 'en')}."
    )
    order = remaining(evening)
    assert told(erin, DriverInstruction.Kind.ROUTE_UPDATED) == (
        f"Parada nueva en tu ruta: {moved.order.reference}, parada {order.index(moved.pk) + 1} de {len(order)}, "
        f"hacia las {clock(moved, 'es')}."
    )


def test_a_parcel_moved_to_tomorrow_names_the_day_in_each_drivers_language(dave, erin):
    speaks(dave, "es")
    _run, stops = run_with_stops(dave, [1, 2, 3], end=(11, 0))
    failed = failed_at(stops[0])
    place(dave, 1)
    tomorrow, _ = run_with_stops(erin, [4, 6], day=TOMORROW, status=Run.Status.PLANNED)

    change = services.stop_reinsert(stop_id=failed.pk, window_start=local(14), window_end=local(16), requested_by="t")

    assert change.stop_id is not None
    moved = Stop.objects.select_related("order").get(pk=change.stop_id)
    assert told(dave, DriverInstruction.Kind.SKIP) == f"Salta esta parada: vuelve a salir el {day(TOMORROW, 'es')}."
    order = remaining(tomorrow)
    assert told(erin, DriverInstruction.Kind.ROUTE_UPDATED) == (
        f"New stop on your route for {day(TOMORROW, 'en')}: {moved.order.reference}, "
        f"stop {order.index(moved.pk) + 1} of {len(order)}."
    )
