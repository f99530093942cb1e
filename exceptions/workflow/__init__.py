"""The operator: the only code that changes an exception case (``answers`` holds it)."""

from exceptions.workflow.answers import ALLOWED as ALLOWED
from exceptions.workflow.answers import ASK_TOPICS as ASK_TOPICS
from exceptions.workflow.answers import CASE_RELATED as CASE_RELATED
from exceptions.workflow.answers import DEFAULT_ESCALATION_PRIORITY as DEFAULT_ESCALATION_PRIORITY
from exceptions.workflow.answers import DEFAULT_SLA as DEFAULT_SLA
from exceptions.workflow.answers import DIRECTIONS_MAX as DIRECTIONS_MAX
from exceptions.workflow.answers import DIRECTIONS_NOTE as DIRECTIONS_NOTE
from exceptions.workflow.answers import DRIVER_OUTCOMES as DRIVER_OUTCOMES
from exceptions.workflow.answers import FIRST_TIME_ONLY as FIRST_TIME_ONLY
from exceptions.workflow.answers import LAST_SUMMARY as LAST_SUMMARY
from exceptions.workflow.answers import PHASE_STAMPS as PHASE_STAMPS
from exceptions.workflow.answers import RESCHEDULE_OUTCOMES as RESCHEDULE_OUTCOMES
from exceptions.workflow.answers import ROUTING_GRACE as ROUTING_GRACE
from exceptions.workflow.answers import SWEEP_BATCH as SWEEP_BATCH
from exceptions.workflow.answers import TIMER_BATCH as TIMER_BATCH
from exceptions.workflow.answers import TRIAGE_GRACE as TRIAGE_GRACE
from exceptions.workflow.answers import Actor as Actor
from exceptions.workflow.answers import (
    CaseConflict,
    Understanding,
    WorkflowError,
    case_access_code_enter,
    case_approve,
    case_assign,
    case_awaiting_slot,
    case_call_mark,
    case_event_record,
    case_open,
    case_outreach_failed,
    case_release,
    case_reply_apply,
    case_reschedule_confirm,
    case_reschedule_fail,
    case_resolve,
    case_return_to_sender,
    case_stop_delivered,
    case_timer_fire,
    case_timers_sweep,
    case_triage,
    case_window_set,
    timeline_fold,
)
from exceptions.workflow.answers import Kind as Kind
from exceptions.workflow.answers import Outcome as Outcome
from exceptions.workflow.answers import State as State
from exceptions.workflow.answers import SweepResult as SweepResult
from exceptions.workflow.answers import Timer as Timer
from exceptions.workflow.answers import _change as _change
from exceptions.workflow.answers import case_reschedule_await_plan as case_reschedule_await_plan

__all__ = [
    "CaseConflict",
    "Understanding",
    "WorkflowError",
    "case_access_code_enter",
    "case_approve",
    "case_assign",
    "case_awaiting_slot",
    "case_call_mark",
    "case_event_record",
    "case_open",
    "case_outreach_failed",
    "case_release",
    "case_reply_apply",
    "case_reschedule_confirm",
    "case_reschedule_fail",
    "case_resolve",
    "case_return_to_sender",
    "case_stop_delivered",
    "case_timer_fire",
    "case_timers_sweep",
    "case_triage",
    "case_window_set",
    "timeline_fold",
]
