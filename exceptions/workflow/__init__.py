"""The operator: the only code that changes an exception case.

Every public function locks the case row (``select_for_update``), checks that the move is legal
from the case's current state, changes the case, writes one timeline event per change and leaves
side effects (driver instructions, board broadcasts, outreach, routing, webhooks) to run after
commit. Concurrent replies, timers and dispatcher clicks therefore serialize on the row.

Its modules, each built only on the ones listed before it:

- ``vocabulary``: the states and the legal moves between them, phases, outcomes, limits, errors;
- ``timeline``: changing a locked case with one timeline event per change, and reading it back;
- ``handoff``: a question to the recipient, an escalation to a dispatcher;
- ``outcomes``: applying, proposing, rescheduling and ending a case;
- ``triage``: opening a case, triage, the playbook, the escalation rules;
- ``confirm``: an unsure reading asked about once before the irreversible, and the answer read against it;
- ``late``: a reply after its case ended: passed to the order's open case, the case reopened, a code kept, or filed;
- ``answers``: the recipient's reply, routing's slot or its failure, the driver's delivery;
- ``timers``: a due timer firing, and beat's sweep;
- ``actions``: dispatcher actions, each checked against the version the dispatcher saw.
"""

from exceptions.ports import Understanding as Understanding
from exceptions.workflow.actions import (
    case_access_code_enter,
    case_approve,
    case_assign,
    case_call_ended,
    case_call_mark,
    case_call_place,
    case_message_send,
    case_message_send_now,
    case_release,
    case_resolve,
    case_return_to_sender,
    case_window_set,
)
from exceptions.workflow.answers import (
    case_awaiting_slot,
    case_outreach_failed,
    case_reply_apply,
    case_reschedule_confirm,
    case_reschedule_fail,
    case_stop_delivered,
    case_window_is,
)
from exceptions.workflow.answers import case_reschedule_await_plan as case_reschedule_await_plan
from exceptions.workflow.confirm import case_confirming
from exceptions.workflow.timeline import CASE_RELATED as CASE_RELATED
from exceptions.workflow.timeline import LAST_SUMMARY as LAST_SUMMARY
from exceptions.workflow.timeline import _change as _change
from exceptions.workflow.timeline import case_event_record, timeline_fold
from exceptions.workflow.timers import case_timer_fire, case_timers_sweep
from exceptions.workflow.triage import case_open, case_triage
from exceptions.workflow.vocabulary import ALLOWED as ALLOWED
from exceptions.workflow.vocabulary import ASK_TOPICS as ASK_TOPICS
from exceptions.workflow.vocabulary import DEFAULT_ESCALATION_PRIORITY as DEFAULT_ESCALATION_PRIORITY
from exceptions.workflow.vocabulary import DEFAULT_SLA as DEFAULT_SLA
from exceptions.workflow.vocabulary import DIRECTIONS_MAX as DIRECTIONS_MAX
from exceptions.workflow.vocabulary import DIRECTIONS_NOTE as DIRECTIONS_NOTE
from exceptions.workflow.vocabulary import DRIVER_OUTCOMES as DRIVER_OUTCOMES
from exceptions.workflow.vocabulary import FIRST_TIME_ONLY as FIRST_TIME_ONLY
from exceptions.workflow.vocabulary import PHASE_STAMPS as PHASE_STAMPS
from exceptions.workflow.vocabulary import RESCHEDULE_OUTCOMES as RESCHEDULE_OUTCOMES
from exceptions.workflow.vocabulary import ROUTING_GRACE as ROUTING_GRACE
from exceptions.workflow.vocabulary import SWEEP_BATCH as SWEEP_BATCH
from exceptions.workflow.vocabulary import TIMER_BATCH as TIMER_BATCH
from exceptions.workflow.vocabulary import TRIAGE_GRACE as TRIAGE_GRACE
from exceptions.workflow.vocabulary import Actor as Actor
from exceptions.workflow.vocabulary import CaseConflict, WorkflowError
from exceptions.workflow.vocabulary import Kind as Kind
from exceptions.workflow.vocabulary import Outcome as Outcome
from exceptions.workflow.vocabulary import Source as Source
from exceptions.workflow.vocabulary import State as State
from exceptions.workflow.vocabulary import SweepResult as SweepResult
from exceptions.workflow.vocabulary import Timer as Timer

__all__ = [
    "CaseConflict",
    "Understanding",
    "WorkflowError",
    "case_access_code_enter",
    "case_approve",
    "case_assign",
    "case_awaiting_slot",
    "case_call_ended",
    "case_call_mark",
    "case_call_place",
    "case_confirming",
    "case_event_record",
    "case_message_send",
    "case_message_send_now",
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
    "case_window_is",
    "case_window_set",
    "timeline_fold",
]
