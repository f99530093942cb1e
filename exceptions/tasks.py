"""Celery tasks of the operator: each takes an id and calls the workflow, which re-checks everything under lock."""

from __future__ import annotations

from celery import shared_task

from exceptions import workflow


@shared_task(name="exceptions.case_triage", ignore_result=True)
def case_triage_task(case_id: int) -> None:
    """Triage a newly failed case. A duplicate or late delivery finds nothing to triage and does nothing."""
    workflow.case_triage(case_id=case_id)


@shared_task(name="exceptions.case_timers_sweep", ignore_result=True)
def case_timers_sweep_task() -> dict[str, int]:
    """Beat's timer sweep: SLA breaches, due timers, resolved cases to close."""
    result = workflow.case_timers_sweep()
    return {"fired": result.fired, "breached": result.breached, "closed": result.closed}
