"""Escalation rules: the one place that decides which rule applies to a case.

A case is reduced to ``CaseFacts`` first, so matching is a pure function of a
rule and the facts: the workflow, the admin's dry run and the tests all ask the
same question the same way, and matching a case against every rule costs no
query once the rules are loaded with ``rules_active``.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Prefetch, prefetch_related_objects
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from dispatch.models import Depot, ReasonCode, ScanEvent
from exceptions.models import EscalationRule, ExceptionCase

RULES_TTL = 30.0
_cache_lock = threading.Lock()
_cache: tuple[float, list[EscalationRule]] | None = None


def _related_prefetches() -> tuple[Prefetch, Prefetch]:
    """A rule's reason codes and depots, as much of them as matching needs.

    Built per call: prefetching marks its base queryset, so a module-level one would be shared state.
    """
    return (
        Prefetch("reason_codes", queryset=ReasonCode.objects.only("id")),
        Prefetch("depots", queryset=Depot.objects.only("id")),
    )


@dataclass(frozen=True)
class CaseFacts:
    """What the rules look at, read from a case at one moment."""

    reason_code_id: int
    depot_id: int
    attempts: int  # failed scans at this order, on any of its stops
    order_value: Decimal
    recipient_tier: str
    minutes_without_reply: float | None  # None: never asked, or has replied since being asked
    intent: str  # the last reply's intent, "" if none
    local_time: dt.time  # in the depot's time zone


def case_facts(*, case: ExceptionCase, now: dt.datetime, attempts: int | None = None) -> CaseFacts:
    """The facts about ``case`` at ``now``: one query for the attempts (unless given), plus any relation not loaded."""
    if attempts is None:
        attempts = _attempts_by_order(order_ids=[case.order_id]).get(case.order_id, 0)
    return _facts(case=case, attempts=attempts, now=now)


def rules_active() -> list[EscalationRule]:
    """Active rules in the order they are tried, with their reason codes and depots loaded (ids only)."""
    rules = EscalationRule.objects.filter(active=True).order_by("position", "id")
    return list(rules.prefetch_related(*_related_prefetches()))


def rules_active_cached() -> list[EscalationRule]:
    """``rules_active``, held in this process for ``RULES_TTL`` seconds: the operator asks on every step.

    A change saved in this process is seen at once; other processes see it within the TTL.
    """
    global _cache
    with _cache_lock:
        if _cache is None or time.monotonic() - _cache[0] > RULES_TTL:
            _cache = (time.monotonic(), rules_active())
        return _cache[1]


def rules_forget() -> None:
    global _cache
    with _cache_lock:
        _cache = None


@receiver([post_save, post_delete], sender=EscalationRule)
@receiver(m2m_changed, sender=EscalationRule.reason_codes.through)
@receiver(m2m_changed, sender=EscalationRule.depots.through)
def _forget(**kwargs: object) -> None:
    rules_forget()


def rule_matches(*, rule: EscalationRule, facts: CaseFacts) -> bool:
    """Whether every condition the rule sets holds; a condition left empty holds for any case.

    Never raises, whatever the rule holds: the admin form keeps bad rules out,
    but a rule built in code or saved before a check existed must not stop the
    workflow. A half-set time range is open-ended on the missing side; a range
    whose ends are equal is empty.
    """
    reason_code_ids = _related_ids(rule, "reason_codes")
    if reason_code_ids and facts.reason_code_id not in reason_code_ids:
        return False
    depot_ids = _related_ids(rule, "depots")
    if depot_ids and facts.depot_id not in depot_ids:
        return False
    if rule.min_attempts is not None and facts.attempts < rule.min_attempts:
        return False
    if rule.order_value_above is not None and not facts.order_value > rule.order_value_above:
        return False
    if rule.recipient_tiers and facts.recipient_tier not in rule.recipient_tiers:
        return False
    if rule.no_reply_minutes is not None and (
        facts.minutes_without_reply is None or facts.minutes_without_reply < rule.no_reply_minutes
    ):
        return False
    if rule.reply_intents and facts.intent not in rule.reply_intents:
        return False
    return _in_time_range(facts.local_time, start=rule.local_time_from, end=rule.local_time_to)


def rule_first_match(*, facts: CaseFacts, rules: Sequence[EscalationRule] | None = None) -> EscalationRule | None:
    """The first active rule, by position, that matches; None when no rule does.

    Pass ``rules`` (from ``rules_active``) to match many cases without loading the rules again.
    """
    if rules is None:
        rules = rules_active()
    # Sorted here too, so a caller's own list (cached, filtered) cannot change which rule wins.
    for rule in sorted(rules, key=lambda rule: (rule.position, rule.pk or 0)):
        if rule.active and rule_matches(rule=rule, facts=facts):
            return rule
    return None


def rule_dry_run(*, rule: EscalationRule, now: dt.datetime) -> list[ExceptionCase]:
    """Open cases the rule matches at ``now``, oldest first, whether or not it is active.

    It does not ask whether an earlier rule would win for a case. Four queries
    whatever the number of cases: the rule's two relations, the cases, the attempts.
    """
    if rule.pk is not None:
        # Loaded once here (a no-op when rules_active did it), or matching would ask for them once per case.
        prefetch_related_objects([rule], *_related_prefetches())
    reason_code_ids = _related_ids(rule, "reason_codes")
    depot_ids = _related_ids(rule, "depots")
    # SQL only narrows the candidates on the plain columns; rule_matches still decides, so the two cannot disagree.
    cases = ExceptionCase.objects.filter(state__in=ExceptionCase.OPEN_STATES)
    if reason_code_ids:
        cases = cases.filter(reason_code_id__in=reason_code_ids)
    if depot_ids:
        cases = cases.filter(depot_id__in=depot_ids)
    if rule.order_value_above is not None:
        cases = cases.filter(order__declared_value__gt=rule.order_value_above)
    if rule.recipient_tiers:
        cases = cases.filter(order__recipient__tier__in=rule.recipient_tiers)
    if rule.reply_intents:
        cases = cases.filter(last_intent__in=rule.reply_intents)
    candidates = list(cases.select_related("order__recipient", "depot").order_by("opened_at", "id"))

    attempts = _attempts_by_order(order_ids={case.order_id for case in candidates})
    return [
        case
        for case in candidates
        if rule_matches(rule=rule, facts=_facts(case=case, attempts=attempts.get(case.order_id, 0), now=now))
    ]


def _facts(*, case: ExceptionCase, attempts: int, now: dt.datetime) -> CaseFacts:
    minutes_without_reply: float | None = None
    asked_at = case.outreach_started_at
    if asked_at is not None and (case.last_reply_at is None or case.last_reply_at < asked_at):
        # Clamped: a clock a little behind the one that stamped outreach must not read as negative silence.
        minutes_without_reply = max(0.0, (now - asked_at).total_seconds() / 60)
    order = case.order
    return CaseFacts(
        reason_code_id=case.reason_code_id,
        depot_id=case.depot_id,
        attempts=attempts,
        order_value=order.declared_value,
        recipient_tier=order.recipient.tier,
        minutes_without_reply=minutes_without_reply,
        intent=case.last_intent or "",
        local_time=now.astimezone(case.depot.time_zone).time(),
    )


def _attempts_by_order(*, order_ids: Iterable[int]) -> dict[int, int]:
    """Failed scans per order, counted over all of its stops, in one query."""
    ids = list(order_ids)
    if not ids:
        return {}
    rows = (
        ScanEvent.objects.filter(outcome=ScanEvent.Outcome.FAILED, stop__order_id__in=ids)
        .values("stop__order_id")
        .annotate(n=Count("id"))
    )
    return {row["stop__order_id"]: row["n"] for row in rows}


def _related_ids(rule: EscalationRule, name: str) -> frozenset[int]:
    # An unsaved rule has no relations yet, and asking Django for them raises.
    if rule.pk is None:
        return frozenset()
    # .all() uses the prefetched rows when rules_active loaded them, so matching runs no query.
    return frozenset(related.pk for related in getattr(rule, name).all())


def _in_time_range(moment: dt.time, *, start: dt.time | None, end: dt.time | None) -> bool:
    """Half-open [start, end), wrapping midnight when start is after end."""
    if start is not None and end is not None:
        if start <= end:
            return start <= moment < end
        return moment >= start or moment < end
    if start is not None:
        return moment >= start
    if end is not None:
        return moment < end
    return True
