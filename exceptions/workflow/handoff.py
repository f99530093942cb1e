"""Handing a case on: a question to the recipient (a playbook step), or an escalation to a dispatcher."""

from __future__ import annotations

import datetime as dt
from typing import Any

from dispatch import realtime
from dispatch.models import User
from exceptions import ports, rules
from exceptions.models import EscalationRule, ExceptionCase, PlaybookStep
from exceptions.workflow.timeline import _change, _timer
from exceptions.workflow.vocabulary import ASK_TOPICS, DEFAULT_ESCALATION_PRIORITY, Kind, State, Timer

# --- Asking the recipient --------------------------------------------------------------------------------------------


def _steps(case: ExceptionCase) -> list[PlaybookStep]:
    return list(PlaybookStep.objects.filter(playbook__reason_code_id=case.reason_code_id).order_by("position"))


def _last_topic(steps: list[PlaybookStep], upto: int) -> str:
    for step in reversed(steps[:upto]):
        if step.action in ASK_TOPICS:
            return ASK_TOPICS[step.action]
    return ports.Topic.ALTERNATIVES


def _ask(
    case: ExceptionCase, now: dt.datetime, topic: str, step: PlaybookStep, position: int, *, reprompt: bool
) -> None:
    result = ports.outreach().ask(case=case, topic=topic, reprompt=reprompt)
    if not result.reachable:
        _escalate(case, now, reason=result.reason or "The recipient cannot be reached.", playbook_step=position)
        return
    start = max(result.deferred_until or now, now)
    reply_due = start + dt.timedelta(minutes=step.wait_minutes)
    started = case.outreach_started_at or start
    _change(
        case,
        now=now,
        kind=Kind.MESSAGE_OUT,
        summary=("Re-prompted" if reprompt else "Asked")
        + f" the recipient ({topic.replace('_', ' ')}) by {result.channel or 'message'}"
        + (f", held for quiet hours until {start:%H:%M} UTC" if result.deferred_until else ""),
        payload={"topic": topic, "reprompt": reprompt, "channel": result.channel},
        state=State.AWAITING_RECIPIENT,
        prompts_sent=case.prompts_sent + 1,
        playbook_step=position,
        outreach_started_at=started,
        reply_due_at=reply_due,
        **_reply_timer(now, started, reply_due),
    )


def _reply_timer(now: dt.datetime, started: dt.datetime | None, reply_due: dt.datetime) -> dict[str, Any]:
    """Wake at the reply deadline, or earlier when a "no reply after N minutes" rule could match first."""
    checks = [
        started + dt.timedelta(minutes=rule.no_reply_minutes)
        for rule in rules.rules_active_cached()
        if rule.no_reply_minutes is not None and started is not None
    ]
    earlier = [moment for moment in checks if now < moment < reply_due]
    if earlier:
        return _timer(Timer.RULE_CHECK, min(earlier))
    return _timer(Timer.REPLY_DEADLINE, reply_due)


# --- Escalating to a dispatcher --------------------------------------------------------------------------------------


def _alert(case: ExceptionCase, rule: EscalationRule) -> None:
    if rule.notify_group_id:
        realtime.send_on_commit(
            realtime.group_alert_group(rule.notify_group_id),
            "case.alert",
            {"case_id": case.pk, "rule": rule.name, "priority": case.priority},
        )


def _escalate(
    case: ExceptionCase,
    now: dt.datetime,
    *,
    reason: str,
    priority: int | None = None,
    rule: EscalationRule | None = None,
    user: User | None = None,
    **extra: Any,
) -> None:
    new_priority = min(case.priority, priority or DEFAULT_ESCALATION_PRIORITY)
    fields: dict[str, Any] = {"priority": new_priority, "escalation_reason": reason[:300], **_timer(), **extra}
    if rule is not None:
        fields["escalation_rule"] = rule
    _change(
        case,
        now=now,
        kind=Kind.ESCALATION,
        summary=f"Escalated (P{new_priority}): {reason}",
        state=State.ESCALATED,
        user=user,
        **fields,
    )
    if rule is not None:
        _alert(case, rule)
