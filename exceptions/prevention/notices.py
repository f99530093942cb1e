"""Notices before the driver comes, for every stop: out for delivery, arriving, delayed.

Each depot sets them in admin (``NoticeSettings``; no row means the defaults). A stop gets each kind at most once
(``StopNotice``), through outreach, which honours opt-out and quiet hours and puts the link to the recipient's page
in every notice. Where a risky stop's question (``prearrival``) is due in the same minute as a notice, the two are
one text, and the question counts as asked.

- out for delivery: from ``out_for_delivery_lead`` minutes before the run's shift starts, on its service day;
- arriving: the stop is among the driver's next ``arriving_stops`` stops on a run under way (it says what an
  out-for-delivery notice would, so one not yet sent is merged into it);
- delayed: the planned arrival has moved more than ``delayed_minutes`` past the order's window.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from dispatch.models import Run, Stop
from exceptions import ports
from exceptions.models import NoticeSettings, PreArrivalContact, StopNotice
from exceptions.prevention.prearrival import prearrival_asks, prearrival_due

SWEEP_LIMIT = 2000
Kind = StopNotice.Kind


@dataclass(frozen=True)
class Due:
    stop: Stop
    kind: str
    stops_away: int
    merged: tuple[str, ...] = ()  # kinds this notice also says (marked as said, not sent)


def _settings(depot_ids: set[int]) -> dict[int, NoticeSettings]:
    found = {row.depot_id: row for row in NoticeSettings.objects.filter(depot_id__in=depot_ids)}
    return {depot_id: found.get(depot_id) or NoticeSettings(depot_id=depot_id) for depot_id in depot_ids}


def notices_due(*, now: dt.datetime | None = None) -> list[Due]:
    """The notices due now, soonest stop first: at most one per stop per sweep (the most specific one)."""
    now = now or timezone.now()
    runs = list(
        Run.objects.filter(
            status__in=(Run.Status.PLANNED, Run.Status.IN_PROGRESS),
            service_date__gte=(now - dt.timedelta(days=1)).date(),
            service_date__lte=(now + dt.timedelta(days=1)).date(),
        ).select_related("depot")
    )
    settings = _settings({run.depot_id for run in runs})
    started: dict[int, bool] = {}
    for run in runs:
        rules = settings[run.depot_id]
        today = now.astimezone(run.depot.time_zone).date()
        opens = run.shift_start - dt.timedelta(minutes=rules.out_for_delivery_lead)
        started[run.pk] = run.service_date == today and now >= opens
    live = [run_id for run_id, yes in started.items() if yes]
    sent: defaultdict[int, set[str]] = defaultdict(set)
    for stop_id, kind in StopNotice.objects.filter(stop__run_id__in=live).values_list("stop_id", "kind"):
        sent[stop_id].add(kind)
    stops = (
        Stop.objects.filter(run_id__in=live, status=Stop.Status.PENDING)
        .select_related("run__depot", "order__recipient")
        .order_by("run_id", "sequence")
    )
    runs_by_id = {run.pk: run for run in runs}
    place: defaultdict[int, int] = defaultdict(int)
    due: list[Due] = []
    for stop in stops:
        place[stop.run_id] += 1
        rules, had, run = settings[stop.run.depot_id], sent[stop.pk], runs_by_id[stop.run_id]
        window_end = stop.order.window_end
        late = (
            rules.delayed_minutes
            and window_end is not None
            and stop.planned_arrival is not None
            and stop.planned_arrival > window_end + dt.timedelta(minutes=rules.delayed_minutes)
        )
        under_way = run.status == Run.Status.IN_PROGRESS or now >= run.shift_start
        near = rules.arriving_stops and under_way and place[stop.run_id] <= rules.arriving_stops
        if late and Kind.DELAYED not in had:
            due.append(Due(stop=stop, kind=Kind.DELAYED, stops_away=place[stop.run_id]))
        elif near and Kind.ARRIVING not in had:
            merged = (Kind.OUT_FOR_DELIVERY,) if Kind.OUT_FOR_DELIVERY not in had else ()
            due.append(Due(stop=stop, kind=Kind.ARRIVING, stops_away=place[stop.run_id], merged=merged))
        elif rules.out_for_delivery and Kind.OUT_FOR_DELIVERY not in had and not late:
            due.append(Due(stop=stop, kind=Kind.OUT_FOR_DELIVERY, stops_away=place[stop.run_id]))
        if len(due) >= SWEEP_LIMIT:
            break
    return due


def notices_sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Send every notice due, once each; a risky stop's question due now goes in the same text.

    Returns how many were sent and how many could not be (opted out, quiet hours past the arrival)."""
    now = now or timezone.now()
    due = notices_due(now=now)
    if not due:
        return {"sent": 0, "skipped": 0}
    questions = {risk.stop_id: risk for risk in prearrival_due(now=now)}
    sent = skipped = 0
    for notice in due:
        stop = notice.stop
        risk = questions.get(stop.pk)
        asks = prearrival_asks(list(risk.missing)) if risk is not None and notice.kind != Kind.DELAYED else []
        try:
            with transaction.atomic():
                row = StopNotice.objects.create(stop=stop, kind=notice.kind, created_at=now, asked=asks)
                for kind in notice.merged:
                    StopNotice.objects.create(
                        stop=stop, kind=kind, created_at=now, sent=False, why_not=f"said by the {notice.kind} notice"
                    )
                if asks and risk is not None:
                    PreArrivalContact.objects.create(stop=stop, score=risk.score, asked=asks, created_at=now)
                result = ports.outreach().notify_ahead(
                    stop=stop, kind=notice.kind, asks=asks, stops_away=notice.stops_away, now=now
                )
                if not result.reachable:
                    row.sent, row.why_not = False, result.reason[:200]
                    row.save(update_fields=["sent", "why_not"])
                    PreArrivalContact.objects.filter(stop=stop, created_at=now).update(
                        status=PreArrivalContact.Status.SKIPPED, skip_reason=result.reason[:200]
                    )
        except IntegrityError:
            continue  # another sweep got there first
        if result.reachable:
            sent += 1
        else:
            skipped += 1
    return {"sent": sent, "skipped": skipped}
