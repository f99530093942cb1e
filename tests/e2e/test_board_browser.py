"""The live board in a real browser: Debian's Chromium driven by Playwright, against the ASGI server.

One Uvicorn process serves the product (HTTP and websockets) against the test database, so
the tests are transactional: what a test writes is committed where the server can read it.
Screenshots go to var/test-artifacts/.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from playwright.sync_api import expect

from dispatch.models import AccessCredential, Address, ApiToken, Driver, Order, ReasonCode, Recipient, Stop, User
from dispatch.services import api_token_issue
from dispatch.services.scans import scan_record
from exceptions import workflow
from exceptions.models import EscalationRule, ExceptionCase, PreArrivalContact, ReplyIntent, StopRisk
from exceptions.ports import Understanding
from tests.e2e.browser import ARTIFACTS, WAIT_MS, shot
from tests.factories import CHICAGO, ExceptionCaseFactory, RunFactory, StopFactory
from tests.helpers import DESK_NUMBER, TWILIO_TOKEN

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's
# The smallest valid PNG: a driver's photo.
PIXEL_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.wall_clock,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def signed_in_page(
    chromium, server, open_pages, username: str, *, socket_route=None, live=True, **context_options
) -> Any:
    """A new browser (own cookies) signed in through the sign-in form, on the board.

    ``socket_route`` stands between the page and the board's websocket (Playwright's routeWebSocket).
    """
    context = chromium.new_context(base_url=server, **context_options)
    # The page's clock is the server's and this process's (a clock moved ahead moves all three), ticking.
    context.clock.install(time=time.time())
    context.script_errors = []
    open_pages.append(context)
    page = context.new_page()
    page.on("pageerror", lambda error: context.script_errors.append(str(error)))
    if socket_route is not None:
        page.route_web_socket(re.compile(r"/ws/board/$"), socket_route)
    page.goto("/board/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/board/$"))
    if live:
        expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=WAIT_MS)
    return page


# --- People and stops -----------------------------------------------------------------------------------------------


@pytest.fixture
def dave_stops(dave) -> list[Stop]:
    run = RunFactory(driver=dave)
    return [StopFactory(run=run, sequence=sequence) for sequence in (1, 2, 3, 4)]


@pytest.fixture
def dave_token(dave) -> str:
    _, key = api_token_issue(user=dave.user, kind=ApiToken.Kind.DRIVER, name="e2e")
    return key


def failed_scan(server: str, token: str, stop: Stop, reason: str = "ACCESS_DENIED") -> int:
    """What the driver's app sends at a locked gate; returns the case it opened."""
    body = {"outcome": "failed", "reason_code": reason, "device_time": timezone.now().isoformat()}
    request = urllib.request.Request(
        f"{server}/api/v1/driver/stops/{stop.pk}/scans",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": uuid.uuid4().hex,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 201
            return json.load(answer)["case_id"]
    except urllib.error.HTTPError as error:
        raise AssertionError(error.read().decode()) from error


def escalate(case_id: int, settings) -> None:
    """Triage with nobody to text: the operator hands the case to a dispatcher."""
    settings.EXCEPTIONS_OUTREACH = "exceptions.ports.NoOutreach"
    workflow.case_triage(case_id=case_id)
    assert ExceptionCase.objects.get(pk=case_id).state == ExceptionCase.State.ESCALATED


def row(page, case_id: int) -> Any:
    return page.locator(f'#queue-rows tr[data-id="{case_id}"]')


def board_matches_database(page) -> None:
    """The rows on the page are the open cases, each at its current version."""
    expected = {
        str(case_id): str(version)
        for case_id, version in ExceptionCase.objects.filter(state__in=ExceptionCase.OPEN_STATES).values_list(
            "id", "version"
        )
    }
    shown: dict[str, str] = {}
    for _ in range(50):
        shown = page.eval_on_selector_all(
            "#queue-rows tr[data-id]", "rows => Object.fromEntries(rows.map(r => [r.dataset.id, r.dataset.version]))"
        )
        if shown == expected:
            return
        page.wait_for_timeout(100)
    assert shown == expected


# --- The tests ------------------------------------------------------------------------------------------------------


def test_a_failed_scan_appears_on_an_open_board_without_a_reload(
    chromium, server, open_pages, alice, dave_stops, dave_token
):
    page = signed_in_page(chromium, server, open_pages, "alice", viewport={"width": 1440, "height": 900})
    expect(page.locator("#queue-empty")).to_be_visible()
    page.evaluate("window.sameDocument = true")

    case_id = failed_scan(server, dave_token, dave_stops[0])

    expect(row(page, case_id)).to_be_visible(timeout=WAIT_MS)
    expect(row(page, case_id)).to_contain_text(dave_stops[0].order.reference)
    expect(row(page, case_id)).to_contain_text("Opened")
    expect(page.locator("#count-open")).to_have_text("1", timeout=WAIT_MS)
    assert page.evaluate("window.sameDocument") is True, "the page was reloaded"
    board_matches_database(page)
    shot(page, "board-desktop")

    # Another case arrives: the first row is moved, not drawn again.
    row(page, case_id).evaluate("tr => { tr.dataset.mark = 'kept'; }")
    second = failed_scan(server, dave_token, dave_stops[1], reason="RECIPIENT_ABSENT")
    expect(row(page, second)).to_be_visible(timeout=WAIT_MS)
    expect(row(page, case_id)).to_have_attribute("data-mark", "kept")


def test_an_action_in_one_browser_shows_in_the_other(
    chromium, server, open_pages, alice, carol, dave_stops, dave_token, settings
):
    first = failed_scan(server, dave_token, dave_stops[0])
    second = failed_scan(server, dave_token, dave_stops[1], reason="RECIPIENT_ABSENT")
    escalate(first, settings)
    alice_page = signed_in_page(chromium, server, open_pages, "alice", viewport={"width": 1440, "height": 900})
    carol_page = signed_in_page(chromium, server, open_pages, "carol", viewport={"width": 1280, "height": 800})
    for page in (alice_page, carol_page):
        expect(row(page, first)).to_contain_text("Escalated")
        expect(row(page, second)).to_be_visible()
    carol_page.locator(f'#queue-rows tr[data-id="{first}"] .row-open').click()
    expect(carol_page.locator("#panel-title")).to_contain_text(dave_stops[0].order.reference)

    # Alice works from the keyboard: down the queue to the escalated case, open it, mark the recipient called.
    for _ in range(2):
        alice_page.keyboard.press("j")
        if "selected" in (row(alice_page, first).get_attribute("class") or ""):
            break
    expect(row(alice_page, first)).to_have_class(re.compile(r"\bselected\b"))
    alice_page.keyboard.press("Enter")
    panel = alice_page.locator("#case-panel")
    expect(panel.get_by_role("button", name="Mark called")).to_be_visible(timeout=WAIT_MS)
    alice_page.keyboard.press("c")
    expect(panel.locator("#panel-timeline")).to_contain_text("Called the recipient", timeout=WAIT_MS)

    # Carol's open panel and queue follow without a reload.
    expect(carol_page.locator("#panel-timeline")).to_contain_text("Called the recipient", timeout=WAIT_MS)
    expect(row(carol_page, first)).to_contain_text("Called the recipient")

    # Alice hands the case to Carol with the picker: her row and panel say so.
    panel.get_by_role("button", name="Assign…").click()
    picker = panel.get_by_label("Dispatcher")
    expect(picker.locator("option")).to_have_text([re.compile(r"^Alice\b.*\(you\)$"), re.compile(r"^Carol\b")])
    picker.select_option(str(carol.pk))
    panel.locator('form[data-for="assign"]').get_by_role("button", name="Assign").click()
    expect(row(carol_page, first)).to_contain_text("Carol", timeout=WAIT_MS)
    expect(carol_page.locator("#panel-facts")).to_contain_text("Carol")

    panel.get_by_role("button", name="Return to sender…").click()
    panel.get_by_label("Why").fill("Recipient refused on the phone")
    panel.locator('form[data-for="return"]').get_by_role("button", name="Return to sender").click()
    expect(row(alice_page, first)).to_have_count(0, timeout=WAIT_MS)
    expect(row(carol_page, first)).to_have_count(0, timeout=WAIT_MS)
    expect(
        carol_page.locator("#panel-actions [data-action]:visible, #panel-actions [data-form]:visible")
    ).to_have_count(0)
    expect(row(carol_page, second)).to_be_visible()
    shot(alice_page, "board-action-alice")
    shot(carol_page, "board-action-carol")

    alice_page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    alice_page.keyboard.press("?")
    expect(alice_page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    shot(alice_page, "board-shortcuts")
    alice_page.keyboard.press("Escape")
    board_matches_database(alice_page)
    board_matches_database(carol_page)


DEVICES: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1440, "height": 900}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 2,
    },
}


@pytest.mark.parametrize("device", sorted(DEVICES))
def test_the_panel_shows_the_evidence_and_a_held_message_that_a_dispatcher_sends_now(
    chromium, server, open_pages, alice, dave_stops, settings, device
):
    stop = dave_stops[0]
    address = stop.order.address
    zone = stop.run.depot.time_zone
    local = timezone.now().astimezone(zone)
    # The recipient's quiet hours are now, whatever the hour the suite runs at.
    Recipient.objects.filter(pk=stop.order.recipient_id).update(
        quiet_hours_start=(local - dt.timedelta(hours=1)).time(), quiet_hours_end=(local + dt.timedelta(hours=2)).time()
    )
    result = scan_record(
        driver=stop.run.driver,
        stop_id=stop.pk,
        outcome="failed",
        reason=ReasonCode.objects.get(code="DAMAGED"),
        device_time=timezone.now(),
        latitude=address.latitude + 250 / 111_320,
        longitude=address.longitude,
        accuracy_m=20,
        notes="Box crushed at one corner",
        photo=SimpleUploadedFile("box.png", PIXEL_PNG, content_type="image/png"),
        idempotency_key=uuid.uuid4().hex,
    )
    case_id = int(result.response["case_id"])
    escalate(case_id, settings)
    page = signed_in_page(chromium, server, open_pages, "alice", **DEVICES[device])
    page.locator(f'#queue-rows tr[data-id="{case_id}"] .row-open').click()
    panel = page.locator("#case-panel")

    evidence = panel.locator("#panel-evidence")
    expect(evidence).to_contain_text("“Box crushed at one corner”", timeout=WAIT_MS)
    expect(evidence).to_contain_text("250 m from the address (±20 m): further than 100 m")
    expect(evidence).to_contain_text("none on file")
    photo = panel.locator("#panel-photo img")
    expect(photo).to_be_visible()
    page.wait_for_function("() => document.querySelector('#panel-photo img').naturalWidth > 0", timeout=WAIT_MS)

    panel.get_by_role("button", name="Message…").click()
    panel.get_by_label("Message").fill("A replacement comes tomorrow 10-12.")
    panel.locator('form[data-for="message"]').get_by_role("button", name="Send").click()
    bubble = panel.locator("#panel-conversation .bubble-held")
    expect(bubble).to_contain_text("A replacement comes tomorrow 10-12.", timeout=WAIT_MS)
    expect(bubble).to_contain_text("held until")
    expect(panel.locator("#panel-timeline")).to_contain_text("held for quiet hours until")
    shot(page, f"board-evidence-and-held-message-{device}")

    bubble.get_by_role("button", name="Send now").click()
    expect(panel.locator("#panel-conversation .bubble-held")).to_have_count(0, timeout=WAIT_MS)
    expect(panel.locator("#panel-timeline")).to_contain_text("Sent a message held for quiet hours now")
    assert not page.context.script_errors


@pytest.mark.parametrize("device", sorted(DEVICES))
def test_an_approval_shows_the_reply_the_reading_and_whether_routing_has_room(
    chromium, server, open_pages, alice, dave_stops, dave_token, device
):
    EscalationRule.objects.create(name="Approve anything", position=0, action=EscalationRule.Action.REQUIRE_APPROVAL)
    case_id = failed_scan(server, dave_token, dave_stops[0], reason="RECIPIENT_ABSENT")
    workflow.case_triage(case_id=case_id)
    zone = dave_stops[0].run.depot.time_zone
    start = (timezone.now() + dt.timedelta(days=1)).astimezone(zone).replace(hour=9, minute=0, second=0, microsecond=0)
    workflow.case_reply_apply(
        case_id=case_id,
        understood=Understanding(
            intent=ReplyIntent.RESCHEDULE,
            window_start=start,
            window_end=start + dt.timedelta(hours=3),
            why="'tomorrow morning' -> 09:00-12:00",
        ),
    )
    page = signed_in_page(chromium, server, open_pages, "alice", **DEVICES[device])
    page.locator(f'#queue-rows tr[data-id="{case_id}"] .row-open').click()

    facts = page.locator("#panel-facts")
    expect(facts).to_contain_text(f"Later day: {start:%a %d %b} from 09:00 to 12:00", timeout=WAIT_MS)
    expect(facts).to_contain_text("We read")
    expect(facts).to_contain_text("'tomorrow morning' -> 09:00-12:00")
    expect(facts).to_contain_text("yes: routing can fit the visit in this window")
    shot(page, f"board-approval-{device}")
    page.locator("#case-panel").get_by_role("button", name=re.compile(r"^Approve")).click()
    expect(page.locator("#panel-timeline")).to_contain_text("Approved", timeout=WAIT_MS)
    assert not page.context.script_errors


@pytest.mark.parametrize("device", sorted(DEVICES))
def test_a_case_found_by_search_has_an_address_that_opens_it_again_with_the_filters(
    chromium, server, open_pages, alice, dave_stops, dave_token, device
):
    ended = failed_scan(server, dave_token, dave_stops[0])
    ExceptionCase.objects.filter(pk=ended).update(state=ExceptionCase.State.RESOLVED)
    open_case = failed_scan(server, dave_token, dave_stops[1], reason="RECIPIENT_ABSENT")
    ExceptionCase.objects.filter(pk=open_case).update(state=ExceptionCase.State.ESCALATED)
    reference = dave_stops[0].order.reference
    page = signed_in_page(chromium, server, open_pages, "alice", **DEVICES[device])
    expect(row(page, ended)).to_have_count(0)  # resolved: not in the queue

    page.get_by_label("Find a case").fill(reference[-4:])
    hit = page.locator("#search-results .search-hit", has_text=reference)
    expect(hit).to_be_visible(timeout=WAIT_MS)
    shot(page, f"board-search-{device}")
    hit.click()
    expect(page.locator("#panel-title")).to_contain_text(reference, timeout=WAIT_MS)
    expect(page).to_have_url(re.compile(rf"[?&]case={ended}\b"))

    page.locator("#case-panel").get_by_role("button", name=re.compile(r"^Close this panel")).click()
    if device == "phone":
        page.get_by_role("button", name="Filters").click()  # a phone keeps the filters folded away
    page.get_by_label("State").select_option("escalated")
    expect(page).to_have_url(re.compile(r"[?&]state=escalated\b"))
    row(page, open_case).locator(".row-open").click()
    expect(page).to_have_url(re.compile(rf"[?&]case={open_case}\b"))
    address = page.url
    again = page.context.new_page()
    again.goto(address)
    expect(again.locator("#panel-title")).to_contain_text(dave_stops[1].order.reference, timeout=WAIT_MS)
    expect(again.locator("#f-state")).to_have_value("escalated")
    shot(again, f"board-opened-by-address-{device}")
    again.keyboard.press("Escape")
    expect(again).not_to_have_url(re.compile(r"[?&]case="))
    assert not page.context.script_errors


@pytest.mark.parametrize("device", sorted(DEVICES))
def test_a_parcel_moved_to_a_day_not_planned_yet_is_listed_under_later_runs(
    chromium, server, open_pages, alice, dave_stops, dave_token, device
):
    case_id = failed_scan(server, dave_token, dave_stops[0], reason="RECIPIENT_ABSENT")
    case = ExceptionCase.objects.get(pk=case_id)
    day = timezone.now().astimezone(CHICAGO).date() + dt.timedelta(days=3)
    ExceptionCase.objects.filter(pk=case_id).update(
        state=ExceptionCase.State.RESOLVED,
        outcome=ExceptionCase.Outcome.RESCHEDULED_LATER,
        outcome_detail={"planned_day": day.isoformat()},
        resolved_at=timezone.now(),
    )
    Order.objects.filter(pk=case.order_id).update(status=Order.Status.RESCHEDULED)
    Stop.objects.filter(pk=case.stop_id).update(status=Stop.Status.RESCHEDULED)
    page = signed_in_page(chromium, server, open_pages, "alice", **DEVICES[device])

    page.get_by_role("tab", name="Later runs").click()
    waiting = page.locator("#waiting-rows tr", has_text=case.order.reference)
    expect(waiting).to_contain_text(f"{day:%a} {day.day} {day:%b}", timeout=WAIT_MS)
    expect(page.locator("#waiting-count")).to_have_text("1 parcel")
    shot(page, f"board-later-runs-{device}")
    waiting.get_by_role("button", name=case.order.reference).click()
    expect(page.locator("#panel-title")).to_contain_text(case.order.reference, timeout=WAIT_MS)
    assert not page.context.script_errors


def test_cases_ticked_in_the_queue_are_assigned_and_resolved_together_and_compact_mode_is_remembered(
    chromium, server, open_pages, alice, dave_stops, dave_token, settings
):
    ids = [failed_scan(server, dave_token, stop) for stop in dave_stops[:3]]
    for case_id in ids:
        escalate(case_id, settings)
    page = signed_in_page(chromium, server, open_pages, "alice", viewport={"width": 1440, "height": 900})
    for case_id in ids:
        expect(row(page, case_id)).to_contain_text("Escalated", timeout=WAIT_MS)

    for case_id in ids[:2]:
        row(page, case_id).get_by_role("checkbox").check()
    expect(page.locator("#bulk-count")).to_have_text("2 selected")
    expect(page.locator("#panel-title")).to_have_text("Case")  # ticking is not opening
    page.get_by_role("button", name="Assign to me").click()
    expect(page.locator("#toast")).to_have_text("Assigned 2 of 2.", timeout=WAIT_MS)
    for case_id in ids[:2]:
        expect(row(page, case_id)).to_contain_text("Alice", timeout=WAIT_MS)
    expect(row(page, ids[2])).not_to_contain_text("Alice")

    page.get_by_label("Select every case shown").check()
    expect(page.locator("#bulk-count")).to_have_text("3 selected")
    page.get_by_label("Resolve the selected cases as").select_option("cancelled")
    page.locator("#bulk").get_by_role("button", name="Resolve").click()
    expect(page.locator("#toast")).to_have_text("Resolved 3 of 3.", timeout=WAIT_MS)
    for case_id in ids:
        expect(row(page, case_id)).to_have_count(0, timeout=WAIT_MS)
    assert set(ExceptionCase.objects.filter(pk__in=ids).values_list("outcome", flat=True)) == {"cancelled"}

    page.get_by_label("Compact").check()
    page.reload()
    expect(page.get_by_label("Compact")).to_be_checked()
    expect(page.locator("body")).to_have_class(re.compile(r"\bcompact\b"))
    assert not page.context.script_errors


def test_a_stale_action_is_refused_and_the_panel_refreshed(
    chromium, server, open_pages, alice, dave_stops, dave_token, settings
):
    case_id = failed_scan(server, dave_token, dave_stops[0])
    escalate(case_id, settings)
    # A socket that never hears from the server: the panel keeps the version it loaded while someone else acts.
    page = signed_in_page(
        chromium, server, open_pages, "alice", socket_route=lambda ws: None, live=False,
        viewport={"width": 1280, "height": 800},
    )  # fmt: skip
    expect(row(page, case_id)).to_be_visible(timeout=WAIT_MS)
    page.locator(f'#queue-rows tr[data-id="{case_id}"] .row-open').click()
    expect(page.locator("#panel-title")).to_contain_text(dave_stops[0].order.reference)
    seen = ExceptionCase.objects.get(pk=case_id).version
    workflow.case_call_mark(case_id=case_id, user=alice, version=seen, note="from the other desk")

    page.locator("#case-panel").get_by_role("button", name="Assign…").click()
    page.locator('#case-panel form[data-for="assign"]').get_by_role("button", name="Assign").click()
    alert = page.locator("#panel-alert")
    expect(alert).to_be_visible(timeout=WAIT_MS)
    expect(alert).to_contain_text("changed since you opened it")
    expect(page.locator("#panel-timeline")).to_contain_text("from the other desk")
    assert ExceptionCase.objects.get(pk=case_id).assigned_to is None


def test_the_board_catches_up_after_a_lost_event_and_after_a_reconnect(
    chromium, server, open_pages, alice, dave_stops, dave_token
):
    first = failed_scan(server, dave_token, dave_stops[0])
    # Between the page and the server: a switch that loses the next case event, and one that refuses sockets.
    switches = {"drop_next_case": False, "refuse": False}
    dropped: list[dict] = []
    seen: list[dict] = []
    sockets: list[Any] = []

    def proxy(ws) -> None:
        if switches["refuse"]:
            ws.close()
            return
        sockets.append(ws)
        upstream = ws.connect_to_server()

        def from_server(message) -> None:
            event = json.loads(message)
            seen.append(event)
            if event.get("type") == "case" and switches["drop_next_case"]:
                switches["drop_next_case"] = False
                dropped.append(event)
                return
            ws.send(message)

        upstream.on_message(from_server)

    page = signed_in_page(
        chromium, server, open_pages, "alice", socket_route=proxy, viewport={"width": 1280, "height": 800}
    )
    snapshots: list[str] = []

    def count_snapshots(request) -> None:
        if "/board/snapshot" in request.url:
            snapshots.append(request.url)

    page.on("request", count_snapshots)
    expect(row(page, first)).to_be_visible()

    # A lost event: the board cannot know until the next one arrives with a gap in the numbers.
    switches["drop_next_case"] = True
    second = failed_scan(server, dave_token, dave_stops[1])
    for _ in range(50):
        if dropped:
            break
        page.wait_for_timeout(100)
    assert [event["case"]["id"] for event in dropped] == [second], dropped
    page.wait_for_timeout(500)
    assert row(page, second).count() == 0, (seen, snapshots)
    before = len(snapshots)
    third = failed_scan(server, dave_token, dave_stops[2])
    expect(row(page, third)).to_be_visible(timeout=WAIT_MS)
    expect(row(page, second)).to_be_visible()
    assert len(snapshots) > before, "the gap was not noticed"
    board_matches_database(page)

    # A reconnect: while the socket is down the database moves on; after it, the board equals it.
    switches["refuse"] = True
    sockets[-1].close()
    expect(page.locator("#conn")).to_have_attribute("data-state", "offline", timeout=WAIT_MS)
    fourth = failed_scan(server, dave_token, dave_stops[3])
    workflow.case_call_mark(
        case_id=first, user=alice, version=ExceptionCase.objects.get(pk=first).version, note="while offline"
    )
    workflow.case_return_to_sender(
        case_id=second, user=alice, version=ExceptionCase.objects.get(pk=second).version, note="while offline"
    )
    shot(page, "board-offline")
    switches["refuse"] = False
    expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=WAIT_MS)
    expect(row(page, fourth)).to_be_visible()
    expect(row(page, second)).to_have_count(0)
    board_matches_database(page)


def test_the_board_is_usable_on_a_phone(chromium, server, open_pages, alice, dave_stops, dave_token, settings):
    case_id = failed_scan(server, dave_token, dave_stops[0])
    escalate(case_id, settings)
    failed_scan(server, dave_token, dave_stops[1], reason="RECIPIENT_ABSENT")
    page = signed_in_page(
        chromium, server, open_pages, "alice",
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=2,
    )  # fmt: skip
    expect(row(page, case_id)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the page scrolls sideways"
    shot(page, "board-phone")

    page.get_by_role("button", name="Filters").tap()
    expect(page.get_by_label("Reason")).to_be_visible()
    page.get_by_label("State").select_option("escalated")
    expect(page.locator("#queue-rows tr[data-id]")).to_have_count(1, timeout=WAIT_MS)
    page.get_by_role("button", name="Filters").tap()

    page.locator(f'#queue-rows tr[data-id="{case_id}"] .row-open').tap()
    panel = page.locator("#case-panel")
    expect(panel).to_be_visible()
    box = panel.bounding_box()
    assert box is not None
    assert (box["x"], box["width"]) == (0, 390), "the case is not full screen"
    call = panel.get_by_role("button", name="Mark called")
    expect(call).to_be_visible(timeout=WAIT_MS)
    call_box = call.bounding_box()
    assert call_box is not None
    assert call_box["height"] >= 40, "too small to tap"
    assert call_box["x"] + call_box["width"] <= 390
    call.tap()
    expect(panel.locator("#panel-timeline")).to_contain_text("Called the recipient", timeout=WAIT_MS)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "board-phone-case")

    # A redelivery window: the form opens on "in 2 hours" (depot time, to the quarter hour); routing takes it on.
    panel.get_by_role("button", name="Set window…").tap()
    expect(panel.get_by_label("From")).not_to_have_value("")
    panel.get_by_role("button", name="Find a slot").tap()
    expect(panel.locator("#panel-timeline")).to_contain_text("Set a redelivery window", timeout=WAIT_MS)
    window = ExceptionCase.objects.get(pk=case_id).outcome_detail
    start = dt.datetime.fromisoformat(window["window_start"])
    end = dt.datetime.fromisoformat(window["window_end"])
    ahead = start - timezone.now()
    assert dt.timedelta(hours=1, minutes=55) < ahead <= dt.timedelta(hours=2, minutes=15), window
    assert end - start == dt.timedelta(hours=2), window
    panel.get_by_role("button", name="Close this panel").tap()
    expect(panel).to_be_hidden()


def test_the_analytics_page_charts_the_period_and_exports_csv(
    chromium, server, open_pages, alice, dave_stops, dave_token, settings
):
    case_id = failed_scan(server, dave_token, dave_stops[0])
    escalate(case_id, settings)
    failed_scan(server, dave_token, dave_stops[1], reason="RECIPIENT_ABSENT")
    # A browser far from the depot (UTC+14): "Today" is still the depot's day.
    page = signed_in_page(
        chromium,
        server,
        open_pages,
        "alice",
        viewport={"width": 1440, "height": 1000},
        timezone_id="Pacific/Kiritimati",
    )
    page.get_by_role("link", name="Analytics").click()
    page.get_by_role("button", name="Today").click()
    depot_today = timezone.now().astimezone(CHICAGO).date().isoformat()
    expect(page.locator("#a-from")).to_have_value(depot_today)
    expect(page.locator("#a-to")).to_have_value(depot_today)
    expect(page.locator("#kpi-cases")).to_have_text("2", timeout=WAIT_MS)
    expect(page.locator("#kpi-cases-detail")).to_contain_text("1 escalated")
    expect(page.locator("#a-status")).to_have_text(re.compile(r"^\d{4}-\d{2}-\d{2} to \d{4}-\d{2}-\d{2} · chi-west$"))
    for chart in ("c-day", "c-hour", "c-reason", "c-depot"):
        assert page.evaluate(f"Boolean(Chart.getChart(document.getElementById('{chart}')))"), chart
    expect(page.locator("#c-reason")).to_have_attribute("aria-label", re.compile(r"access denied: 1"))
    # Both failed parcels are still open, neither touched: none rescued yet.
    expect(page.locator("#outcomes-body tr[data-ending='open'] td").first).to_have_text("2")
    expect(page.locator("#outcomes-body tr[data-ending='total'] td").last).to_have_text("2")
    expect(page.locator("#kpi-rescued")).to_have_text("0.0%")
    expect(page.locator("#kpi-rescued-detail")).to_contain_text("0 of 2 failed parcels")

    with page.expect_download() as download:
        page.get_by_role("link", name="By reason").click()
    text = Path(download.value.path()).read_text()
    assert "ACCESS_DENIED" in text, text
    assert "RECIPIENT_ABSENT" in text, text
    page.screenshot(path=str(ARTIFACTS / "analytics.png"), full_page=True)


def test_the_risky_stops_of_today_and_tomorrow_show_why_and_what_was_learned_ahead(
    chromium, server, open_pages, alice, dave
):
    now = timezone.now()
    gate = StopFactory(run=RunFactory(driver=dave), sequence=1, planned_arrival=now + dt.timedelta(hours=2))
    flagged = "The access code on file for this apartment building is flagged: it failed 3 times since it last worked"
    StopRisk.objects.create(
        stop=gate,
        score=0.72,
        reasons=[{"code": "code_flagged", "label": flagged, "weight": 0.45}],
        missing=["access_code", "safe_place"],
    )
    PreArrivalContact.objects.create(
        stop=gate,
        score=0.72,
        asked=["access_code", "safe_place"],
        status=PreArrivalContact.Status.ANSWERED,
        learned={"access_code": True, "safe_place": True},
        created_at=now - dt.timedelta(minutes=20),
        answered_at=now - dt.timedelta(minutes=10),
    )
    for sequence in (2, 3, 4):  # four parcels today: one text ahead allowed at the default 3 in 10
        StopFactory(run=gate.run, sequence=sequence, planned_arrival=now + dt.timedelta(hours=2 + sequence))
    tomorrow = StopFactory(
        run=RunFactory(driver=dave, service_date=now.astimezone(CHICAGO).date() + dt.timedelta(days=1)),
        sequence=1,
    )
    StopRisk.objects.create(
        stop=tomorrow,
        score=0.41,
        reasons=[{"code": "no_code", "label": "No access code on file for this gated community", "weight": 0.25}],
        missing=["access_code"],
    )
    page = signed_in_page(chromium, server, open_pages, "alice", viewport={"width": 1440, "height": 900})

    page.get_by_role("tab", name="Risky stops").click()
    expect(page.get_by_role("tab", name="Risky stops")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#view-queue")).to_be_hidden()
    today_row = page.locator(f'#risky-rows tr[data-stop-id="{gate.pk}"]')
    expect(today_row).to_contain_text(gate.order.reference, timeout=WAIT_MS)
    expect(today_row).to_contain_text(flagged)
    expect(today_row).to_contain_text("access code, a safe place to leave it")
    expect(today_row).to_contain_text(re.compile(r"Asked \d\d:\d\d · answered \d\d:\d\d · access code received"))
    expect(today_row.locator(".risk-score")).to_have_text("72")
    expect(page.locator(f'#risky-rows tr[data-stop-id="{tomorrow.pk}"]')).to_have_count(0)
    expect(page.locator("#risky-note")).to_contain_text("Texts ahead today: 1 of 1 sent (at most 30 % of parcels")
    shot(page, "board-risky-today")
    # From the row, before the driver comes: the address's code, to the vault and the driver.
    today_row.get_by_label(f"Access code for {gate.order.reference}").fill("8150")
    today_row.get_by_role("button", name="Add code").click()
    expect(today_row.locator(".row-said")).to_have_text(
        "Code saved: the driver will have it at the door.", timeout=WAIT_MS
    )
    assert "8150" in [credential.secret for credential in AccessCredential.objects.filter(address=gate.order.address)]

    page.get_by_role("button", name="Tomorrow", exact=True).click()
    expect(page.get_by_role("button", name="Tomorrow", exact=True)).to_have_attribute("aria-pressed", "true")
    tomorrow_row = page.locator(f'#risky-rows tr[data-stop-id="{tomorrow.pk}"]')
    expect(tomorrow_row).to_contain_text("No access code on file for this gated community", timeout=WAIT_MS)
    # One parcel tomorrow: three in ten of it rounds to no text ahead.
    expect(tomorrow_row).to_contain_text("Not asked: too few parcels that day for its share of texts ahead")
    expect(today_row).to_have_count(0)
    expect(page.locator("#risky-count")).to_contain_text("1 stop")
    # Filtered to its driver, and texted from the row: the day's share does not hold a dispatcher back.
    page.locator("#view-risky").get_by_label("Driver", exact=True).select_option(str(dave.pk))
    expect(tomorrow_row).to_be_visible(timeout=WAIT_MS)
    tomorrow_row.get_by_role("button", name="Text now").click()
    expect(tomorrow_row.locator(".row-said")).to_have_text(
        "Texted: the recipient is asked what the stop is missing.", timeout=WAIT_MS
    )
    assert PreArrivalContact.objects.get(stop=tomorrow).asked == ["access_code", "availability"]
    shot(page, "board-risky-texted")

    # Back on the queue from the keyboard: the tabs follow the arrow keys, the shortcuts are as before.
    page.get_by_role("tab", name="Risky stops").focus()
    page.keyboard.press("ArrowLeft")
    expect(page.get_by_role("tab", name="Exceptions")).to_be_focused()
    expect(page.locator("#view-queue")).to_be_visible()
    expect(page.locator("#view-risky")).to_be_hidden()
    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_hidden()


DISPATCHER_PHONE = "+13125550189"
RECIPIENT_PHONE = "+13125550142"


@pytest.mark.parametrize("device", sorted(DEVICES))
def test_call_rings_the_dispatchers_phone_then_bridges_the_recipient_and_the_timeline_says_how_it_went(
    chromium, server, server_twilio, open_pages, alice, dave_stops, dave_token, settings, device
):
    User.objects.filter(pk=alice.pk).update(phone=DISPATCHER_PHONE)
    Recipient.objects.filter(pk=dave_stops[0].order.recipient_id).update(phone=RECIPIENT_PHONE)
    case_id = failed_scan(server, dave_token, dave_stops[0])
    escalate(case_id, settings)
    before = len(server_twilio.calls)
    page = signed_in_page(chromium, server, open_pages, "alice", **DEVICES[device])
    row(page, case_id).locator(".row-open").click()
    panel = page.locator("#case-panel")

    panel.get_by_role("button", name="Call", exact=True).click()
    expect(page.locator("#toast")).to_have_text("Calling: your phone rings first.", timeout=WAIT_MS)
    timeline = panel.locator("#panel-timeline")
    expect(timeline).to_contain_text("your phone (ending 89) rings first, then theirs", timeout=WAIT_MS)
    (placed,) = server_twilio.calls[before:]
    assert (placed["To"], placed["From"]) == (DISPATCHER_PHONE, DESK_NUMBER)
    assert f"<Number>{RECIPIENT_PHONE}</Number>" in placed["Twiml"]  # the recipient is dialled from the company

    # Twilio's signed callbacks as the call goes: the dispatcher answers, the recipient talks 3 min 12 s.
    assert server_twilio.call_status(placed["Sid"], "in-progress", auth_token=TWILIO_TOKEN) == 204
    assert server_twilio.call_dialed(placed["Sid"], "completed", duration=192, auth_token=TWILIO_TOKEN) == 200
    assert server_twilio.call_status(placed["Sid"], "completed", auth_token=TWILIO_TOKEN) == 204
    expect(timeline).to_contain_text("Call with the recipient: answered, 3 min 12 s", timeout=WAIT_MS)
    expect(panel).not_to_contain_text(RECIPIENT_PHONE)
    shot(page, f"board-call-bridged-{device}")
    assert not page.context.script_errors


def test_on_a_phone_risky_stops_are_filtered_by_driver_and_texted_from_the_row(
    chromium, server, open_pages, alice, dave, erin
):
    now = timezone.now()
    stops = {}
    for driver in (dave, erin):
        run = RunFactory(driver=driver)
        stops[driver.pk] = StopFactory(run=run, sequence=1, planned_arrival=now + dt.timedelta(hours=3))
        # Quiet hours well after the visit, whatever the hour the suite runs at.
        local = now.astimezone(run.depot.time_zone)
        Recipient.objects.filter(pk=stops[driver.pk].order.recipient_id).update(
            quiet_hours_start=(local + dt.timedelta(hours=5)).time(),
            quiet_hours_end=(local + dt.timedelta(hours=6)).time(),
        )
        StopRisk.objects.create(
            stop=stops[driver.pk],
            score=0.5,
            reasons=[{"code": "no_code", "label": "No access code on file for this gated community", "weight": 0.25}],
            missing=["access_code"],
        )
    page = signed_in_page(chromium, server, open_pages, "alice", **DEVICES["phone"])

    page.get_by_role("tab", name="Risky stops").click()
    daves = page.locator(f'#risky-rows tr[data-stop-id="{stops[dave.pk].pk}"]')
    erins = page.locator(f'#risky-rows tr[data-stop-id="{stops[erin.pk].pk}"]')
    expect(erins).to_be_visible(timeout=WAIT_MS)
    page.locator("#view-risky").get_by_label("Driver", exact=True).select_option(str(dave.pk))
    expect(erins).to_have_count(0, timeout=WAIT_MS)
    expect(page.locator("#risky-count")).to_contain_text("1 stop")
    daves.get_by_role("button", name="Text now").tap()
    expect(daves.locator(".row-said")).to_have_text(
        "Texted: the recipient is asked what the stop is missing.", timeout=WAIT_MS
    )
    assert PreArrivalContact.objects.get(stop=stops[dave.pk]).asked == ["access_code", "availability"]
    assert not PreArrivalContact.objects.filter(stop=stops[erin.pk]).exists()
    shot(page, "board-risky-texted-phone")
    assert not page.context.script_errors


def test_a_long_queue_draws_the_rows_in_view_and_each_of_the_rest_as_the_dispatcher_scrolls(
    chromium, server, open_pages, alice, dave
):
    run = RunFactory(driver=dave)
    ids = {ExceptionCaseFactory(scan__stop__run=run).pk for _ in range(300)}
    page = signed_in_page(chromium, server, open_pages, "alice", viewport={"width": 1440, "height": 900})
    expect(page.locator("#queue-count")).to_have_text("300 cases", timeout=WAIT_MS)
    expect(page.locator(".queue-table")).to_have_attribute("aria-rowcount", "301")  # and the header
    assert 0 < page.locator("#queue-rows tr[data-id]").count() < 150

    seen: set[int] = set()
    scroller = page.locator(".queue-scroll")
    for _ in range(100):
        seen |= {
            int(i) for i in page.eval_on_selector_all("#queue-rows tr[data-id]", "rows => rows.map(r => r.dataset.id)")
        }
        if scroller.evaluate("node => node.scrollTop + node.clientHeight >= node.scrollHeight - 1"):
            break
        scroller.evaluate("node => { node.scrollTop += node.clientHeight; }")
        page.wait_for_function(
            "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done(true))))"
        )
    assert seen == ids
    expect(page.locator("#queue-rows tr[data-id]").last).to_have_attribute("aria-rowindex", "301")
    shot(page, "board-long-queue-scrolled-to-the-end")

    # From the keyboard, past the rows drawn: the row the selection moves to is drawn and focused.
    page.locator("#queue-rows tr[data-id] .row-open").last.focus()
    page.keyboard.press("k")  # nothing selected yet: the last case
    for _ in range(60):
        page.keyboard.press("k")
    focused = page.evaluate("() => document.activeElement.closest('tr')?.getAttribute('aria-rowindex')")
    assert focused == "241"
    assert not page.context.script_errors


def test_a_drivers_name_on_the_map_shows_the_stops_they_have_left(
    chromium, server, open_pages, alice, dave, dave_stops
):
    Stop.objects.filter(pk=dave_stops[0].pk).update(status=Stop.Status.DELIVERED)
    for number, stop in enumerate(dave_stops):  # a street north, one block a stop
        Address.objects.filter(pk=stop.order.address_id).update(latitude=41.90 + number * 0.006, longitude=-87.67)
    at_first = Address.objects.get(pk=dave_stops[0].order.address_id)
    Driver.objects.filter(pk=dave.pk).update(
        last_latitude=at_first.latitude, last_longitude=at_first.longitude, last_seen_at=timezone.now()
    )
    dave.user.last_name = "<i>Brown</i>"  # a name is text on the map, never markup
    dave.user.save(update_fields=["last_name"])
    page = signed_in_page(chromium, server, open_pages, "alice", viewport={"width": 1440, "height": 900})

    name = page.locator(f'.driver-label[data-driver-id="{dave.pk}"]')
    expect(name).to_have_text(dave.user.get_full_name(), timeout=WAIT_MS)
    name.click()
    expect(page.locator("#toast")).to_have_text(f"{dave.user.get_full_name()}: 3 stops left today", timeout=WAIT_MS)
    shot(page, "board-driver-route")
    assert not page.context.script_errors
