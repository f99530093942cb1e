"""Escalation rules: which rule applies to a case, read from real rows."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dispatch.models import Depot, ReasonCode, Recipient, ScanEvent, Stop
from exceptions.models import EscalationRule, ExceptionCase, ReplyIntent
from exceptions.rules import CaseFacts, case_facts, rule_dry_run, rule_first_match, rule_matches, rules_active
from tests.factories import (
    DepotFactory,
    ExceptionCaseFactory,
    RunFactory,
    ScanEventFactory,
    StopFactory,
    reason,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_default_rules")]

NOW = dt.datetime(2025, 1, 15, 18, 0, tzinfo=dt.UTC)  # noon in Chicago (CST, UTC-6)


def rule(*, reason_codes: tuple[ReasonCode, ...] = (), depots: tuple[Depot, ...] = (), **fields: Any) -> EscalationRule:
    fields.setdefault("name", f"Rule at {fields.get('position', 100)}")
    saved = EscalationRule.objects.create(**fields)
    saved.reason_codes.set(reason_codes)
    saved.depots.set(depots)
    return saved


def facts(**changes: Any) -> CaseFacts:
    base = CaseFacts(
        reason_code_id=reason("ACCESS_DENIED").pk,
        depot_id=0,
        attempts=1,
        order_value=Decimal("45.00"),
        recipient_tier=Recipient.Tier.STANDARD,
        minutes_without_reply=None,
        intent="",
        local_time=dt.time(12, 0),
    )
    return dataclasses.replace(base, **changes)


def failed_attempts(stop: Stop, count: int, code: str = "ACCESS_DENIED") -> ScanEvent:
    """``count`` failed scans at ``stop``; the last one."""
    scans = [ScanEventFactory(stop=stop, reason_code=reason(code)) for _ in range(count)]
    return scans[-1]


# --- Order: the first match by position wins ------------------------------------------------------------------------


def test_it_applies_the_first_matching_rule_by_position():
    rule(position=30, min_attempts=1, priority=3)
    rule(position=10, min_attempts=5, priority=1)  # first, but does not match
    second = rule(position=20, min_attempts=2, priority=2)
    rule(position=20, min_attempts=1, priority=2, name="Same position, created later")

    assert rule_first_match(facts=facts(attempts=3)) == second


def test_it_tries_a_callers_list_in_position_order_too():
    late = rule(position=50, min_attempts=1, priority=3)
    early = rule(position=5, min_attempts=1, priority=1)

    assert rule_first_match(facts=facts(), rules=[late, early]) == early


def test_it_finds_no_rule_when_none_matches():
    rule(position=10, min_attempts=3, priority=1)
    rule(position=20, recipient_tiers=[Recipient.Tier.VIP], priority=1)

    assert rule_first_match(facts=facts(attempts=2)) is None


def test_it_ignores_inactive_rules():
    inactive = rule(position=1, min_attempts=1, priority=1, active=False)
    active = rule(position=2, min_attempts=1, priority=2)

    assert rules_active() == [active]
    assert rule_first_match(facts=facts()) == active
    assert rule_first_match(facts=facts(), rules=[inactive, active]) == active


def test_it_matches_against_loaded_rules_without_a_query(chicago):
    rule(position=10, reason_codes=(reason("DAMAGED"),), depots=(chicago,), priority=1)
    rule(position=20, depots=(chicago,), min_attempts=2, priority=2)
    rules = rules_active()
    twice_at_chicago = facts(depot_id=chicago.pk, attempts=2)

    with CaptureQueriesContext(connection) as queries:
        found = rule_first_match(facts=twice_at_chicago, rules=rules)

    assert found == rules[1]
    assert len(queries.captured_queries) == 0


# --- Each condition -------------------------------------------------------------------------------------------------

CONDITIONS = [
    ("min_attempts", {"min_attempts": 2}, {"attempts": 2}, True),
    ("min_attempts", {"min_attempts": 2}, {"attempts": 1}, False),
    ("order_value_above", {"order_value_above": Decimal("100")}, {"order_value": Decimal("100.01")}, True),
    ("order_value_above", {"order_value_above": Decimal("100")}, {"order_value": Decimal("100.00")}, False),
    ("recipient_tiers", {"recipient_tiers": ["vip", "priority"]}, {"recipient_tier": "vip"}, True),
    ("recipient_tiers", {"recipient_tiers": ["vip", "priority"]}, {"recipient_tier": "standard"}, False),
    ("no_reply_minutes", {"no_reply_minutes": 30}, {"minutes_without_reply": 30.0}, True),
    ("no_reply_minutes", {"no_reply_minutes": 30}, {"minutes_without_reply": 29.9}, False),
    ("no_reply_minutes", {"no_reply_minutes": 30}, {"minutes_without_reply": None}, False),
    ("reply_intents", {"reply_intents": [ReplyIntent.REFUSE]}, {"intent": ReplyIntent.REFUSE}, True),
    ("reply_intents", {"reply_intents": [ReplyIntent.REFUSE]}, {"intent": ReplyIntent.SAFE_DROP}, False),
    ("reply_intents", {"reply_intents": [ReplyIntent.REFUSE]}, {"intent": ""}, False),
]


@pytest.mark.parametrize(
    ("condition", "fields", "changes", "expected"),
    CONDITIONS,
    ids=[f"{c[0]}-{'match' if c[3] else 'miss'}-{i}" for i, c in enumerate(CONDITIONS)],
)
def test_it_checks_each_condition(condition, fields, changes, expected):
    assert rule_matches(rule=rule(priority=1, **fields), facts=facts(**changes)) is expected


def test_it_matches_any_of_the_reason_codes():
    damaged = rule(reason_codes=(reason("DAMAGED"), reason("REFUSED")), priority=1)

    assert rule_matches(rule=damaged, facts=facts(reason_code_id=reason("REFUSED").pk))
    assert not rule_matches(rule=damaged, facts=facts(reason_code_id=reason("ACCESS_DENIED").pk))


def test_it_matches_any_of_the_depots(chicago, milwaukee):
    chicago_only = rule(depots=(chicago,), priority=1)

    assert rule_matches(rule=chicago_only, facts=facts(depot_id=chicago.pk))
    assert not rule_matches(rule=chicago_only, facts=facts(depot_id=milwaukee.pk))


def test_it_needs_every_condition_set_to_hold():
    vip_twice = rule(min_attempts=2, recipient_tiers=["vip"], priority=1)

    assert rule_matches(rule=vip_twice, facts=facts(attempts=2, recipient_tier="vip"))
    assert not rule_matches(rule=vip_twice, facts=facts(attempts=3, recipient_tier="standard"))
    assert not rule_matches(rule=vip_twice, facts=facts(attempts=1, recipient_tier="vip"))


@pytest.mark.parametrize(
    ("moment", "expected"),
    [(dt.time(9, 0), True), (dt.time(16, 59), True), (dt.time(17, 0), False), (dt.time(8, 59), False)],
)
def test_it_matches_a_daytime_range_half_open(moment, expected):
    office_hours = rule(local_time_from=dt.time(9, 0), local_time_to=dt.time(17, 0), priority=1)

    assert rule_matches(rule=office_hours, facts=facts(local_time=moment)) is expected


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (dt.time(22, 0), True),
        (dt.time(23, 30), True),
        (dt.time(0, 0), True),
        (dt.time(5, 59), True),
        (dt.time(6, 0), False),
        (dt.time(12, 0), False),
        (dt.time(21, 59), False),
    ],
)
def test_it_wraps_a_night_range_over_midnight(moment, expected):
    overnight = rule(local_time_from=dt.time(22, 0), local_time_to=dt.time(6, 0), priority=1)

    assert rule_matches(rule=overnight, facts=facts(local_time=moment)) is expected


def test_it_matches_anything_when_no_condition_is_set():
    assert rule_matches(rule=rule(priority=1), facts=facts())


def test_it_never_raises_on_a_half_built_rule():
    unsaved = EscalationRule(name="Not saved", min_attempts=2)
    evening_only = EscalationRule(name="Open-ended", local_time_from=dt.time(18, 0))
    empty_range = rule(local_time_from=dt.time(8, 0), local_time_to=dt.time(8, 0), priority=1)
    # The columns forbid NULL, but a rule built in code can still carry None.
    no_lists = EscalationRule(name="Lists not set", recipient_tiers=None, reply_intents=None)  # type: ignore[misc]

    assert rule_matches(rule=unsaved, facts=facts(attempts=2))
    assert not rule_matches(rule=unsaved, facts=facts(attempts=1))
    assert rule_matches(rule=evening_only, facts=facts(local_time=dt.time(23, 0)))
    assert not rule_matches(rule=evening_only, facts=facts(local_time=dt.time(17, 0)))
    assert not rule_matches(rule=empty_range, facts=facts(local_time=dt.time(8, 0)))
    assert rule_matches(rule=no_lists, facts=facts())
    assert rule_first_match(facts=facts(), rules=[unsaved]) is None


# --- Facts from real rows -------------------------------------------------------------------------------------------


def test_it_counts_failed_attempts_at_the_order_across_its_stops(chicago, dave, erin):
    earlier = StopFactory(run=RunFactory(driver=dave), status=Stop.Status.RESCHEDULED)
    order = earlier.order
    failed_attempts(earlier, 1)
    current = StopFactory(run=RunFactory(driver=erin), order=order)
    scan = failed_attempts(current, 2)
    ScanEventFactory(stop=current, driver=erin, outcome=ScanEvent.Outcome.DELIVERED, reason_code=None)
    ScanEventFactory()  # another order's failure
    order.declared_value = Decimal("250.00")
    order.save()
    order.recipient.tier = Recipient.Tier.VIP
    order.recipient.save()
    case = ExceptionCaseFactory(scan=scan, last_intent=ReplyIntent.CALL_REQUEST)

    found = case_facts(case=case, now=NOW)

    assert found == CaseFacts(
        reason_code_id=reason("ACCESS_DENIED").pk,
        depot_id=chicago.pk,
        attempts=3,
        order_value=Decimal("250.00"),
        recipient_tier="vip",
        minutes_without_reply=None,
        intent=ReplyIntent.CALL_REQUEST,
        local_time=dt.time(12, 0),
    )


@pytest.mark.parametrize(
    ("asked_minutes_ago", "replied_minutes_ago", "expected"),
    [
        (None, None, None),  # never asked
        (40, None, 40.0),  # asked, silent since
        (40, 10, None),  # replied after being asked
        (40, 90, 40.0),  # the only reply came before the question
    ],
)
def test_it_counts_minutes_without_reply_only_since_the_question(asked_minutes_ago, replied_minutes_ago, expected):
    ago = {None: None} | {m: NOW - dt.timedelta(minutes=m) for m in (10, 40, 90)}
    case = ExceptionCaseFactory(outreach_started_at=ago[asked_minutes_ago], last_reply_at=ago[replied_minutes_ago])

    assert case_facts(case=case, now=NOW).minutes_without_reply == expected


def test_it_reads_the_time_in_the_depots_own_zone(chicago):
    los_angeles = DepotFactory(code="lax", time_zone="America/Los_Angeles")
    chicago_case = ExceptionCaseFactory(scan__stop__run__driver__depot=chicago)
    la_case = ExceptionCaseFactory(scan__stop__run__driver__depot=los_angeles)
    overnight = rule(local_time_from=dt.time(22, 0), local_time_to=dt.time(6, 0), priority=1)
    now = dt.datetime(2025, 1, 16, 4, 30, tzinfo=dt.UTC)  # 22:30 in Chicago, 20:30 in Los Angeles

    chicago_facts = case_facts(case=chicago_case, now=now)
    la_facts = case_facts(case=la_case, now=now)

    assert (chicago_facts.local_time, la_facts.local_time) == (dt.time(22, 30), dt.time(20, 30))
    assert rule_matches(rule=overnight, facts=chicago_facts)
    assert not rule_matches(rule=overnight, facts=la_facts)


# --- Dry run --------------------------------------------------------------------------------------------------------


def _case(*, code: str = "ACCESS_DENIED", attempts: int = 2, **fields: Any) -> ExceptionCase:
    return ExceptionCaseFactory(scan=failed_attempts(StopFactory(), attempts, code), **fields)


def test_it_dry_runs_a_rule_against_the_open_cases():
    twice_denied = rule(reason_codes=(reason("ACCESS_DENIED"),), min_attempts=2, priority=2)
    matching = _case(opened_at=NOW - dt.timedelta(minutes=5))
    older_matching = _case(attempts=3, opened_at=NOW - dt.timedelta(minutes=50))
    _case(attempts=1)  # too few attempts
    _case(code="RECIPIENT_ABSENT")  # another reason
    _case(state=ExceptionCase.State.RESOLVED)  # closed already

    assert rule_dry_run(rule=twice_denied, now=NOW) == [older_matching, matching]


def test_it_dry_runs_an_inactive_rule_and_ignores_earlier_rules():
    rule(position=1, min_attempts=1, priority=1)
    later_inactive = rule(position=2, min_attempts=2, priority=2, active=False)
    case = _case()

    assert rule_dry_run(rule=later_inactive, now=NOW) == [case]


def test_it_dry_runs_in_a_fixed_number_of_queries():
    vip = rule(reason_codes=(reason("ACCESS_DENIED"),), recipient_tiers=["vip"], min_attempts=2, priority=1)
    _case(attempts=2)
    Recipient.objects.update(tier="vip")
    fresh = EscalationRule.objects.get(pk=vip.pk)  # nothing prefetched

    with CaptureQueriesContext(connection) as one_case:
        assert len(rule_dry_run(rule=fresh, now=NOW)) == 1
    for _ in range(4):
        _case(attempts=3)
    Recipient.objects.update(tier="vip")
    fresh = EscalationRule.objects.get(pk=vip.pk)

    with CaptureQueriesContext(connection) as five_cases:
        assert len(rule_dry_run(rule=fresh, now=NOW)) == 5

    assert len(five_cases.captured_queries) == len(one_case.captured_queries) == 4
