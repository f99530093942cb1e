"""Admin for escalation rules and playbooks: bad ones are explained and not saved, dispatchers only look."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import strip_tags

from dispatch import roles
from dispatch.models import ReasonCode
from exceptions.models import EscalationRule, ExceptionCase, Playbook
from tests.factories import ExceptionCaseFactory, ScanEventFactory, reason

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_default_rules")]

RULES = "admin:exceptions_escalationrule"
PLAYBOOKS = "admin:exceptions_playbook"


def rule_form(**changes: Any) -> dict[str, Any]:
    """A good rule as the add form posts it: escalate denied access after two attempts."""
    data: dict[str, Any] = {
        "name": "Denied twice",
        "position": "10",
        "active": "on",
        "description": "",
        "reason_codes": [str(reason("ACCESS_DENIED").pk)],
        "min_attempts": "2",
        "order_value_above": "",
        "no_reply_minutes": "",
        "local_time_from": "",
        "local_time_to": "",
        "action": EscalationRule.Action.ESCALATE,
        "priority": "2",
        "notify_group": "",
    }
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


BAD_RULES = [
    ("escalation without priority", {"priority": ""}, "priority", "An escalation needs a priority"),
    (
        "priority on another action",
        {"action": "require_approval"},
        "priority",
        "Only an escalation has a priority. Leave it empty for “Require a dispatcher's approval of the outcome”.",
    ),
    (
        "return to sender without attempts",
        {"action": "return_to_sender", "priority": "", "min_attempts": ""},
        "min_attempts",
        "Return to sender needs a number of failed attempts",
    ),
    (
        "a group to alert about a returned parcel",
        {"action": "return_to_sender", "priority": "", "notify_group": "dispatchers"},
        "notify_group",
        "Return to sender alerts no one",
    ),
    ("zero attempts", {"min_attempts": "0"}, "min_attempts", "0 matches them all"),
    (
        "no condition at all",
        {"reason_codes": None, "min_attempts": ""},
        "__all__",
        "This rule sets no condition, so it would match every case.",
    ),
    (
        "half a time range",
        {"local_time_from": "22:00"},
        "local_time_to",
        "Give both ends of the time range (for example 22:00 to 06:00), or leave both empty.",
    ),
    (
        "an empty time range",
        {"local_time_from": "08:00", "local_time_to": "08:00"},
        "local_time_to",
        "The range starts and ends at the same time",
    ),
    (
        "no reply and a reply",
        {"no_reply_minutes": "30", "reply_intents": ["REFUSE"]},
        "reply_intents",
        "so together they never match",
    ),
]


@pytest.mark.parametrize(
    ("field", "message", "changes"), [(b[2], b[3], b[1]) for b in BAD_RULES], ids=[b[0] for b in BAD_RULES]
)
def test_it_explains_a_bad_rule_and_stores_nothing(admin_client_, field, message, changes):
    if changes.get("notify_group") == "dispatchers":
        changes = {**changes, "notify_group": str(Group.objects.get(name=roles.DISPATCHERS).pk)}
    response = admin_client_.post(reverse(f"{RULES}_add"), rule_form(**changes))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert any(message in error for error in errors.get(field, [])), errors
    assert message.split(",")[0] in response.text.replace("&#x27;", "'")
    assert not EscalationRule.objects.exists()


def test_it_saves_a_good_rule(admin_client_, chicago):
    data = rule_form(
        depots=[str(chicago.pk)],
        recipient_tiers=["vip", "priority"],
        local_time_from="22:00",
        local_time_to="06:00",
    )

    response = admin_client_.post(reverse(f"{RULES}_add"), data)

    assert response.status_code == 302
    saved = EscalationRule.objects.get()
    assert (saved.name, saved.min_attempts, saved.priority, saved.action) == ("Denied twice", 2, 2, "escalate")
    assert list(saved.reason_codes.all()) == [reason("ACCESS_DENIED")]
    assert list(saved.depots.all()) == [chicago]
    assert saved.recipient_tiers == ["vip", "priority"]
    assert (saved.local_time_from, saved.local_time_to) == (dt.time(22, 0), dt.time(6, 0))


def test_it_lists_rules_with_their_conditions_in_a_fixed_number_of_queries(admin_client_, chicago):
    def add_rule(position: int) -> None:
        saved = EscalationRule.objects.create(name=f"Rule {position}", position=position, min_attempts=2, priority=1)
        saved.reason_codes.set([reason("DAMAGED"), reason("REFUSED")])
        saved.depots.set([chicago])

    add_rule(1)
    page = reverse(f"{RULES}_changelist")
    admin_client_.get(page)
    with CaptureQueriesContext(connection) as one_rule:
        response = admin_client_.get(page)
    for position in range(2, 5):
        add_rule(position)
    with CaptureQueriesContext(connection) as four_rules:
        admin_client_.get(page)

    assert "DAMAGED or REFUSED · at chi-west · 2+ attempts" in response.text
    assert len(four_rules.captured_queries) == len(one_rule.captured_queries)


def _failed_twice(**fields: Any) -> ExceptionCase:
    first = ScanEventFactory()
    scan = ScanEventFactory(stop=first.stop)
    return ExceptionCaseFactory(scan=scan, **fields)


def test_it_dry_runs_the_selected_rules_without_changing_anything(admin_client_):
    twice = EscalationRule.objects.create(name="Denied twice", position=10, min_attempts=2, priority=2)
    never = EscalationRule.objects.create(name="Five times", position=20, min_attempts=5, priority=1, active=False)
    cases = [_failed_twice() for _ in range(7)]
    ExceptionCaseFactory()  # one attempt only
    _failed_twice(state=ExceptionCase.State.CLOSED)
    before = list(ExceptionCase.objects.order_by("pk").values())

    response = admin_client_.post(
        reverse(f"{RULES}_changelist"),
        {"action": "dry_run", "_selected_action": [str(twice.pk), str(never.pk)], "index": "0"},
        follow=True,
    )

    assert response.status_code == 200
    first, second = (str(message) for message in get_messages(response.wsgi_request))
    oldest = sorted(cases, key=lambda c: c.opened_at)[:5]
    shown = ", ".join(f"#{case.pk} ({case.order.reference})" for case in oldest)
    assert strip_tags(first).startswith(f"“Denied twice” matches 7 open cases now: {shown} and 2 more.")
    # Each case is a link to it, and the message says whether an earlier rule takes any first.
    for case in oldest:
        assert f'href="{reverse("admin:exceptions_exceptioncase_change", args=[case.pk])}"' in first
    assert "No earlier active rule takes any of them: this one decides. Dry run: nothing was changed." in first
    assert second == (
        "“Five times” matches no open case now. The rule is inactive: it applies to no case until it is switched on."
        " Dry run: nothing was changed."
    )
    assert list(ExceptionCase.objects.order_by("pk").values()) == before


def test_a_dry_run_says_which_earlier_rule_takes_which_cases_first(admin_client_):
    EscalationRule.objects.all().delete()
    first = EscalationRule.objects.create(name="Denied at all", position=5, min_attempts=1)
    later = EscalationRule.objects.create(name="Denied twice", position=10, min_attempts=2)
    twice = _failed_twice()

    response = admin_client_.post(
        reverse(f"{RULES}_changelist"),
        {"action": "dry_run", "_selected_action": [str(later.pk)], "index": "0"},
        follow=True,
    )

    (message,) = (strip_tags(str(m)) for m in get_messages(response.wsgi_request))
    assert f"An earlier rule comes first for 1 of them: “{first.name}” takes #{twice.pk}" in message


# --- Playbooks ------------------------------------------------------------------------------------------------------


def playbook_form(playbook: Playbook, rows: list[dict[str, Any]], **changes: str) -> dict[str, Any]:
    """The change form for ``playbook`` with these step rows; a row with an "id" edits that step."""
    data: dict[str, Any] = {
        "sla_minutes": str(playbook.sla_minutes),
        "description": playbook.description,
        "steps-TOTAL_FORMS": str(len(rows)),
        "steps-INITIAL_FORMS": str(sum(1 for row in rows if "id" in row)),
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
        **changes,
    }
    for index, row in enumerate(rows):
        defaults = {"playbook": str(playbook.pk), "wait_minutes": "10", "priority": ""}
        for name, value in {**defaults, **row}.items():
            if value is not None:
                data[f"steps-{index}-{name}"] = str(value)
    return data


def _rows(playbook: Playbook) -> list[dict[str, Any]]:
    return [
        {"id": s.pk, "position": s.position, "action": s.action, "priority": s.priority or ""}
        for s in playbook.steps.all()
    ]


def _stored(playbook: Playbook) -> list[tuple[int, str, int | None]]:
    return list(playbook.steps.order_by("position").values_list("position", "action", "priority"))


@pytest.fixture
def access_denied() -> Playbook:
    """An admin's access playbook: ask for the code, re-prompt once, escalate at priority 2."""
    playbook = Playbook.objects.get(reason_code=reason("ACCESS_DENIED"))
    playbook.steps.filter(position=3).update(action="escalate", wait_minutes=15, priority=2)
    return playbook


def _reprompt_first(rows: list[dict[str, Any]]) -> None:
    rows[0]["action"], rows[1]["action"] = "reprompt", "ask_access_code"


def _step_after_escalate(rows: list[dict[str, Any]]) -> None:
    rows.append({"position": 4, "action": "wait"})


def _two_reprompts(rows: list[dict[str, Any]]) -> None:
    rows[2].update(position=4)
    rows.append({"position": 3, "action": "reprompt"})


def _same_position(rows: list[dict[str, Any]]) -> None:
    rows[1]["position"] = 1


def _no_steps(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        row["DELETE"] = "on"


BAD_PLAYBOOKS = [
    (_reprompt_first, "Step 1 re-prompts, but nothing was asked before it."),
    (
        _step_after_escalate,
        "Step 3 (Escalate to a dispatcher) ends the playbook, so step 4 would never run. "
        "Remove it or move it before step 3.",
    ),
    (_two_reprompts, "A recipient is re-prompted at most once, but steps 2 and 3 each re-prompt. Keep one."),
    (_same_position, "2 steps are at position 1. Give each step its own position."),
    (_no_steps, "A playbook needs at least one step."),
]


@pytest.mark.parametrize(("change", "message"), BAD_PLAYBOOKS, ids=[b[0].__name__.strip("_") for b in BAD_PLAYBOOKS])
def test_it_explains_a_playbook_that_cannot_run(admin_client_, access_denied, change, message):
    before = _stored(access_denied)
    rows = _rows(access_denied)
    change(rows)

    response = admin_client_.post(
        reverse(f"{PLAYBOOKS}_change", args=[access_denied.pk]), playbook_form(access_denied, rows)
    )

    assert response.status_code == 200
    (formset,) = (formset.formset for formset in response.context["inline_admin_formsets"])
    assert any(message in error for error in formset.non_form_errors()), formset.non_form_errors()
    assert message in response.text
    assert _stored(access_denied) == before


@pytest.mark.parametrize(
    ("action", "priority", "message"),
    [
        ("escalate", "", "An escalation step needs a priority: 1 is the most urgent, 5 the least."),
        (
            "reschedule",
            "2",
            "Only an escalation step has a priority. Leave it empty for “Move the stop to a later slot”.",
        ),
    ],
)
def test_it_explains_a_step_with_a_wrong_priority(admin_client_, access_denied, action, priority, message):
    rows = _rows(access_denied)
    rows[2].update(action=action, priority=priority)

    response = admin_client_.post(
        reverse(f"{PLAYBOOKS}_change", args=[access_denied.pk]), playbook_form(access_denied, rows)
    )

    assert response.status_code == 200
    (formset,) = (formset.formset for formset in response.context["inline_admin_formsets"])
    assert formset.forms[2].errors["priority"] == [message]
    assert _stored(access_denied)[2] == (3, "escalate", 2)


def test_it_saves_a_good_playbook_edit_that_moves_steps(admin_client_, access_denied):
    rows = _rows(access_denied)
    # Re-prompt moves to 3 while escalate still holds 3, and escalate moves on to 4: saved one
    # row at a time, this collides unless the positions are freed first.
    rows[1]["position"] = 3
    rows[2].update(position=4, priority=1)
    rows.append({"position": 2, "action": "wait", "wait_minutes": 5})

    response = admin_client_.post(
        reverse(f"{PLAYBOOKS}_change", args=[access_denied.pk]), playbook_form(access_denied, rows, sla_minutes="20")
    )

    assert response.status_code == 302
    access_denied.refresh_from_db()
    assert access_denied.sla_minutes == 20
    assert _stored(access_denied) == [
        (1, "ask_access_code", None),
        (2, "wait", None),
        (3, "reprompt", None),
        (4, "escalate", 1),
    ]


def test_it_swaps_two_steps(admin_client_):
    business_closed = Playbook.objects.get(reason_code=reason("BUSINESS_CLOSED"))
    rows = _rows(business_closed)  # 1 ask_window, 2 reschedule
    rows.append({"position": 3, "action": "wait"})
    rows[1]["position"], rows[2]["position"] = 3, 2

    response = admin_client_.post(
        reverse(f"{PLAYBOOKS}_change", args=[business_closed.pk]), playbook_form(business_closed, rows)
    )
    assert response.status_code == 302
    rows = _rows(business_closed)
    rows[0]["position"], rows[1]["position"] = 2, 1  # ask_window and wait trade places

    response = admin_client_.post(
        reverse(f"{PLAYBOOKS}_change", args=[business_closed.pk]), playbook_form(business_closed, rows)
    )

    assert response.status_code == 302
    assert _stored(business_closed) == [(1, "wait", None), (2, "ask_window", None), (3, "reschedule", None)]


def test_it_adds_a_playbook_only_for_a_reason_code_without_one(admin_client_):
    locker_full = ReasonCode.objects.create(code="LOCKER_FULL", label="Parcel locker full", category="access")
    page = reverse(f"{PLAYBOOKS}_add")

    offered = list(admin_client_.get(page).context["adminform"].form.fields["reason_code"].queryset)
    response = admin_client_.post(
        page,
        {
            "reason_code": str(locker_full.pk),
            "sla_minutes": "40",
            "description": "",
            "steps-TOTAL_FORMS": "1",
            "steps-INITIAL_FORMS": "0",
            "steps-0-position": "1",
            "steps-0-action": "reschedule",
            "steps-0-wait_minutes": "15",
        },
    )

    assert offered == [locker_full]
    assert response.status_code == 302
    assert _stored(locker_full.playbook) == [(1, "reschedule", None)]


def test_it_lists_the_playbooks_with_their_steps(admin_client_):
    response = admin_client_.get(reverse(f"{PLAYBOOKS}_changelist"))

    assert response.status_code == 200
    assert "ask access code → reprompt → reschedule" in response.text
    assert "escalate (priority 1)" in response.text  # a damaged parcel goes straight to a dispatcher


# --- Dispatchers look, admins change --------------------------------------------------------------------------------


def test_it_lets_a_dispatcher_view_rules_and_playbooks_but_not_change_them(client, alice, access_denied):
    rule = EscalationRule.objects.create(name="Denied twice", position=10, min_attempts=2, priority=2)
    case = _failed_twice()
    client.force_login(alice)

    pages = {
        "rule list": client.get(reverse(f"{RULES}_changelist")),
        "rule": client.get(reverse(f"{RULES}_change", args=[rule.pk])),
        "playbook list": client.get(reverse(f"{PLAYBOOKS}_changelist")),
        "playbook": client.get(reverse(f"{PLAYBOOKS}_change", args=[access_denied.pk])),
    }
    changes = {
        "rule": client.post(reverse(f"{RULES}_change", args=[rule.pk]), rule_form(name="Renamed")),
        "new rule": client.get(reverse(f"{RULES}_add")),
        "playbook": client.post(
            reverse(f"{PLAYBOOKS}_change", args=[access_denied.pk]),
            playbook_form(access_denied, _rows(access_denied), sla_minutes="5"),
        ),
        "new playbook": client.get(reverse(f"{PLAYBOOKS}_add")),
        "rule delete": client.post(reverse(f"{RULES}_delete", args=[rule.pk]), {"post": "yes"}),
    }
    dry_run = client.post(
        reverse(f"{RULES}_changelist"), {"action": "dry_run", "_selected_action": [str(rule.pk)], "index": "0"}
    )

    assert {name: page.status_code for name, page in pages.items()} == dict.fromkeys(pages, 200)
    assert 'name="_save"' not in pages["rule"].text
    assert 'name="_save"' not in pages["playbook"].text
    assert {name: page.status_code for name, page in changes.items()} == dict.fromkeys(changes, 403)
    rule.refresh_from_db()
    access_denied.refresh_from_db()
    assert (rule.name, access_denied.sla_minutes) == ("Denied twice", 30)
    # A dry run only reads, so a dispatcher may try one.
    assert dry_run.status_code == 302
    assert f"#{case.pk}" in str(next(iter(get_messages(dry_run.wsgi_request))))
