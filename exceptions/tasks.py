"""Celery tasks of the operator: each takes an id and calls the workflow, which re-checks everything under lock."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.utils import timezone

from dispatch.models import Depot, Run
from exceptions import prevention, workflow
from exceptions.prevention import risk


@shared_task(name="exceptions.case_triage", ignore_result=True)
def case_triage_task(case_id: int) -> None:
    """Triage a newly failed case. A duplicate or late delivery finds nothing to triage and does nothing."""
    workflow.case_triage(case_id=case_id)


@shared_task(name="exceptions.case_timers_sweep", ignore_result=True)
def case_timers_sweep_task() -> dict[str, int]:
    """Beat's timer sweep: SLA breaches, due timers, resolved cases to close."""
    result = workflow.case_timers_sweep()
    return {"fired": result.fired, "breached": result.breached, "closed": result.closed}


@shared_task(name="exceptions.risk_score_day", ignore_result=True)
def risk_score_day_task() -> int:
    """Score today's and tomorrow's stops still to be attempted at every depot with runs on those days.

    Each depot's days are its own, in its time zone. Tomorrow is scored again too: today's failures and
    the codes that worked or failed today change tomorrow's risks, and the board shows them the day before.
    """
    now = timezone.now()
    days: set[tuple[int, dt.date]] = set()
    for depot in Depot.objects.only("id", "time_zone"):
        today = now.astimezone(depot.time_zone).date()
        days |= {(depot.pk, today), (depot.pk, today + dt.timedelta(days=1))}
    planned = set(
        Run.objects.filter(service_date__in={day for _, day in days})
        .values_list("depot_id", "service_date")
        .distinct()
        .order_by()
    )
    scored = 0
    for depot_id, day in sorted(days & planned):
        scored += risk.risk_score_day(depot_id=depot_id, service_date=day, now=now)
    return scored


@shared_task(name="exceptions.risk_score_plan", ignore_result=True)
def risk_score_plan_task(depot_id: int, service_date: str) -> int:
    """A plan arrived: score its day's stops."""
    return risk.risk_score_day(depot_id=depot_id, service_date=dt.date.fromisoformat(service_date))


@shared_task(name="exceptions.risk_score_runs", ignore_result=True)
def risk_score_runs_task(run_ids: list[int]) -> int:
    """Runs were re-planned: their stops' arrivals moved, so their risks did."""
    return risk.risk_score_runs(run_ids=run_ids)


@shared_task(name="exceptions.prearrival_sweep", ignore_result=True)
def prearrival_sweep_task() -> dict[str, int]:
    """Beat: the notices due (a risky stop's question due now goes in its notice), then the questions left."""
    notices = prevention.notices_sweep()
    asked = prevention.prearrival_sweep()
    return {**asked, "notices": notices["sent"], "notices_skipped": notices["skipped"]}
