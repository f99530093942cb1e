"""The driver app in a real browser: Debian's Chromium as a phone (390x844, touch), its geolocation and camera faked
by the browser, against the ASGI server. A driver signs in with a code from dispatch and works a run end to end.
Screenshots go to var/test-artifacts/driver-*.png."""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from dispatch.models import (
    AccessRevealAudit,
    Depot,
    Driver,
    DriverInstruction,
    LocationBatch,
    Recipient,
    ScanEvent,
    Stop,
)
from dispatch.services import instruction_push
from dispatch.services.sign_in import sign_in_code_issue
from exceptions import workflow
from exceptions.models import ExceptionCase
from exceptions.ports import ReplyIntent, Understanding
from exceptions.prevention import stop_code_enter
from routing.tasks import run_resequence_task
from tests.e2e.browser import ARTIFACTS, WAIT_MS, shot
from tests.e2e.test_board_browser import signed_in_page
from tests.factories import AccessCredentialFactory, RunFactory, StopFactory

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.wall_clock,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}
DEPOT = (41.8847, -87.6633)  # the factories' depot


def driver_phone(
    chromium, server, open_pages, *, locale: str = "en-US", camera: bool = True, zone: str = "America/Chicago"
) -> Any:
    context = chromium.new_context(
        base_url=server,
        **PHONE,
        locale=locale,
        geolocation={"latitude": DEPOT[0], "longitude": DEPOT[1], "accuracy": 12},
        permissions=["geolocation", "camera"] if camera else ["geolocation"],
        timezone_id=zone,
    )
    context.script_errors = []
    open_pages.append(context)
    page = context.new_page()
    page.on("pageerror", lambda error: context.script_errors.append(str(error)))
    return page


def at(page, stop: Stop) -> None:
    """The phone is at the stop's door."""
    address = stop.order.address
    page.context.set_geolocation({"latitude": address.latitude, "longitude": address.longitude, "accuracy": 12})


def stops_shown(page) -> list[int]:
    return [int(i) for i in page.eval_on_selector_all("#stops li", "items => items.map(i => i.dataset.stopId)")]


def wait_until(check, what: str, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        time.sleep(0.1)


@pytest.fixture
def run_of_dave(dave):
    """Dave's run today: five stops north of the depot; the fifth is next to the third, the fourth far east of both,
    so the planned order (4 before 5) is the longer way round."""
    now = timezone.now()  # the browser's clock is the wall's: the shift is around it, at any hour
    run = RunFactory(driver=dave, shift_start=now - dt.timedelta(hours=2), shift_end=now + dt.timedelta(hours=8))
    places = [(0.010, 0.0), (0.020, 0.0), (0.030, 0.0), (0.030, 0.030), (0.035, 0.0)]
    return [
        StopFactory(
            run=run,
            sequence=number,
            order__address__latitude=DEPOT[0] + north,
            order__address__longitude=DEPOT[1] + east,
        )
        for number, (north, east) in enumerate(places, start=1)
    ]


def test_a_driver_signs_in_and_works_the_run_offline_and_online_with_dispatch_live(
    chromium, server, open_pages, dave, alice, run_of_dave, settings
):
    _, code = sign_in_code_issue(driver=dave, issued_by=alice)
    page = driver_phone(chromium, server, open_pages)
    page.goto(f"/driver/#code={code}")  # the QR code from admin opens this

    expect(page.locator("#stops li")).to_have_count(5, timeout=WAIT_MS)
    assert stops_shown(page) == [stop.pk for stop in run_of_dave]
    expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=WAIT_MS)
    shot(page, "driver-run")

    # A damaged parcel in a basement: no network, a photo by the camera, kept on the phone.
    damaged = run_of_dave[0]
    page.context.set_offline(True)
    at(page, damaged)
    page.locator(f'#stops li[data-stop-id="{damaged.pk}"] button').tap()
    page.get_by_role("button", name="Not delivered…").tap()
    page.get_by_label("Parcel damaged").check()
    expect(page.get_by_role("button", name="Send")).to_be_disabled()  # the code needs a photo
    page.get_by_role("button", name="📷 Take photo").tap()
    page.locator(".camera").get_by_role("button", name="Take photo").tap()
    expect(page.locator("img.preview")).to_be_visible(timeout=WAIT_MS)
    page.get_by_label("Note for dispatch (optional)").fill("Box crushed, wet")
    page.get_by_role("button", name="Send").tap()
    expect(page.locator("#conn")).to_have_text("Offline · 1 scan waiting to send", timeout=WAIT_MS)
    expect(page.locator(f'#stops li[data-stop-id="{damaged.pk}"] .chip')).to_have_text("Sending…")
    shot(page, "driver-offline-scan-waiting")
    assert not ScanEvent.objects.filter(stop=damaged).exists()

    page.context.set_offline(False)
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    wait_until(lambda: ScanEvent.objects.filter(stop=damaged).exists(), "the scan reaches the desk")
    expect(page.locator("#conn")).not_to_contain_text("waiting", timeout=WAIT_MS)
    (scan,) = ScanEvent.objects.filter(stop=damaged)
    assert (scan.outcome, scan.reason_code.code, scan.notes) == ("failed", "DAMAGED", "Box crushed, wet")
    assert scan.photo
    assert scan.photo.size > 1000
    assert scan.latitude is not None
    case = ExceptionCase.objects.get(scan=scan)
    page.wait_for_timeout(500)
    assert ScanEvent.objects.filter(stop=damaged).count() == 1  # sent once

    # The case is on the board at once.
    board = signed_in_page(chromium, server, open_pages, "alice", viewport={"width": 1440, "height": 900})
    expect(board.locator(f'#queue-rows tr[data-id="{case.pk}"]')).to_contain_text("Parcel damaged", timeout=WAIT_MS)

    # Delivered at the next door.
    delivered = run_of_dave[1]
    at(page, delivered)
    page.locator(f'#stops li[data-stop-id="{delivered.pk}"] button').tap()
    page.get_by_role("button", name="✓ Delivered").tap()
    expect(page.locator(f'#stops li[data-stop-id="{delivered.pk}"] .chip')).to_have_text("Delivered", timeout=WAIT_MS)
    assert Stop.objects.get(pk=delivered.pk).status == Stop.Status.DELIVERED

    # A locked gate: the recipient texts the code, and the driver's phone shows it came, and says OK.
    gate = run_of_dave[2]
    at(page, gate)
    page.locator(f'#stops li[data-stop-id="{gate.pk}"] button').tap()
    page.get_by_role("button", name="Not delivered…").tap()
    page.get_by_label("Access denied").check()
    page.get_by_role("button", name="Send").tap()
    wait_until(lambda: ExceptionCase.objects.filter(stop=gate).exists(), "the gate's case opens")
    gate_case = ExceptionCase.objects.get(stop=gate)
    workflow.case_triage(case_id=gate_case.pk)
    workflow.case_reply_apply(
        case_id=gate_case.pk, understood=Understanding(intent=ReplyIntent.ACCESS_CODE, code="4321", why="test")
    )
    alert = page.locator(".alert-access_code")
    expect(alert).to_contain_text("New access code", timeout=WAIT_MS)
    expect(alert).not_to_contain_text("4321")  # the code is revealed at the door, not pushed
    shot(page, "driver-code-arrived")
    alert.get_by_role("button", name="OK").tap()
    expect(alert).to_have_count(0)
    instruction = DriverInstruction.objects.get(driver=dave, kind="access_code")
    wait_until(
        lambda: DriverInstruction.objects.get(pk=instruction.pk).acked_at is not None, "the instruction is acked"
    )

    # Dispatch re-sequences the rest of the run: the list shows the new order at once.
    before = stops_shown(page)
    change = run_resequence_task(dave.runs.get().pk, "test", None)
    assert change["placed"], change
    new_order = list(Stop.objects.filter(run__driver=dave).order_by("sequence").values_list("pk", flat=True))
    assert new_order != before
    expect(page.locator(".alert-route_updated")).to_contain_text("Your route changed", timeout=WAIT_MS)
    page.wait_for_function(
        "order => [...document.querySelectorAll('#stops li')].map(i => Number(i.dataset.stopId)).join() === order",
        arg=",".join(str(pk) for pk in new_order),
        timeout=WAIT_MS,
    )
    shot(page, "driver-route-resequenced")
    assert not page.context.script_errors


def test_the_screen_stays_on_while_stops_are_left_and_may_sleep_after_the_last(
    chromium, server, open_pages, dave, alice, run_of_dave
):
    last = run_of_dave[-1]
    Stop.objects.filter(pk__in=[stop.pk for stop in run_of_dave[:-1]]).update(status=Stop.Status.DELIVERED)
    _, code = sign_in_code_issue(driver=dave, issued_by=alice)
    page = driver_phone(chromium, server, open_pages)
    # The browser's wake lock, watched: what the app asks for and lets go of.
    page.add_init_script(
        "window.awake = [];"
        "navigator.wakeLock.request = async (type) => { window.awake.push(type);"
        "  const lock = { released: false, addEventListener() {},"
        "    release: async () => { lock.released = true; window.awake.push('released'); } };"
        "  return lock; };"
    )
    page.goto(f"/driver/#code={code}")
    expect(page.locator("#stops li")).to_have_count(5, timeout=WAIT_MS)
    page.wait_for_function("() => window.awake.length === 1")
    assert page.evaluate("window.awake") == ["screen"]

    at(page, last)
    page.locator(f'#stops li[data-stop-id="{last.pk}"] button').tap()
    page.get_by_role("button", name="✓ Delivered").tap()
    page.wait_for_function("() => window.awake.includes('released')", timeout=WAIT_MS)
    assert page.evaluate("window.awake") == ["screen", "released"]
    assert not page.context.script_errors


def test_the_runs_times_are_the_depots_wherever_the_phone_is_set(
    chromium, server, open_pages, dave, alice, run_of_dave
):
    first = run_of_dave[0]
    arrival = timezone.now().replace(second=0, microsecond=0) + dt.timedelta(hours=1)
    Stop.objects.filter(pk=first.pk).update(planned_arrival=arrival)
    _, code = sign_in_code_issue(driver=dave, issued_by=alice)
    page = driver_phone(chromium, server, open_pages, zone="Asia/Tokyo")  # a phone still on its holiday's time
    page.goto(f"/driver/#code={code}")

    at_depot = arrival.astimezone(first.run.depot.time_zone)
    expect(page.locator(f'#stops li[data-stop-id="{first.pk}"]')).to_contain_text(
        f"{at_depot:%I:%M %p}", timeout=WAIT_MS
    )
    assert not page.context.script_errors


@pytest.mark.parametrize("why", ["no camera for pages", "camera refused"])
def test_where_the_page_gets_no_camera_the_photo_is_taken_by_the_phones_camera_app(
    chromium, server, open_pages, dave, alice, run_of_dave, tmp_path, why
):
    _, code = sign_in_code_issue(driver=dave, issued_by=alice)
    page = driver_phone(chromium, server, open_pages, camera=why != "camera refused")
    if why == "no camera for pages":  # an address without https, an old WebView
        page.add_init_script("Object.defineProperty(navigator, 'mediaDevices', { value: undefined })")
    else:  # the driver said no to the browser's question (the test browser answers yes by itself)
        page.add_init_script(
            "navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('denied', 'NotAllowedError'))"
        )
    page.goto(f"/driver/#code={code}")
    damaged = run_of_dave[0]
    at(page, damaged)
    page.locator(f'#stops li[data-stop-id="{damaged.pk}"] button').tap()
    page.get_by_role("button", name="Not delivered…").tap()
    page.get_by_label("Parcel damaged").check()

    opens = page.get_by_role("button", name="📷 Take photo")
    if why == "camera refused":  # the driver is told why, and opens the camera app with a tap of their own
        opens.tap()
        expect(page.get_by_role("dialog")).to_contain_text("This page may not use the camera", timeout=WAIT_MS)
        shot(page, "driver-camera-refused")
        opens = page.get_by_role("button", name="Open the camera")
    with page.expect_file_chooser() as chosen:
        opens.tap()
    chooser = chosen.value
    # The camera app, not the photo library: the input asks for a capture from the back camera.
    assert chooser.element.get_attribute("capture") == "environment"
    photo = tmp_path / "parcel.png"
    photo.write_bytes(page.screenshot())  # a picture the camera app hands back
    chooser.set_files(str(photo))
    expect(page.locator("img.preview")).to_be_visible(timeout=WAIT_MS)
    page.get_by_role("button", name="Send").tap()

    wait_until(lambda: ScanEvent.objects.filter(stop=damaged).exists(), "the scan reaches the desk")
    (scan,) = ScanEvent.objects.filter(stop=damaged)
    assert scan.reason_code.code == "DAMAGED"
    assert scan.photo.size > 1000
    assert not page.context.script_errors


def test_a_driver_reads_the_app_in_spanish_and_a_wrong_code_says_what_to_do(
    chromium, server, open_pages, dave, alice, run_of_dave
):
    page = driver_phone(chromium, server, open_pages, locale="es-MX")
    page.goto("/driver/")
    expect(page.get_by_role("heading", name="Iniciar sesión")).to_be_visible(timeout=WAIT_MS)
    page.get_by_label("Código de acceso").fill("ABCD-EFGH")
    page.get_by_role("button", name="Entrar").tap()
    expect(page.get_by_role("alert")).to_have_text(
        "Este código no sirve: ya se usó, caducó o está mal escrito. Pide uno nuevo a despacho.", timeout=WAIT_MS
    )

    _, code = sign_in_code_issue(driver=dave, issued_by=alice)
    page.get_by_label("Código de acceso").fill(code.lower())
    page.get_by_role("button", name="Entrar").tap()
    expect(page.locator("#run-left")).to_have_text("Quedan 5 de 5 paradas", timeout=WAIT_MS)
    expect(page.locator("#stops .chip").first).to_have_text("Pendiente")
    assert page.evaluate("document.documentElement.lang") == "es"
    # Nobody had chosen for Dave: the phone's language becomes the one dispatch writes to him in.
    wait_until(lambda: Driver.objects.get(pk=dave.pk).language == "es", "the phone's language sent")
    expect(page.locator("body")).to_have_attribute("data-caught-up", re.compile(r"\d+"), timeout=WAIT_MS)
    fresh = lambda: Stop.objects.select_related("order", "run__driver").get(pk=run_of_dave[1].pk)  # noqa: E731
    stop_code_enter(stop=fresh(), user=alice, code="4821")  # a dispatcher learned the gate code
    expect(page.locator(".alert-access_code")).to_contain_text(
        "Un despachador añadió el código de acceso antes de tu visita: míralo en la puerta.", timeout=WAIT_MS
    )
    shot(page, "driver-run-spanish")
    page.locator(".alert-access_code").get_by_role("button").tap()

    page.get_by_role("button", name="English").tap()
    expect(page.locator("#run-left")).to_have_text("5 of 5 stops to go")
    assert page.evaluate("document.documentElement.lang") == "en"
    wait_until(lambda: Driver.objects.get(pk=dave.pk).language == "en", "the driver's choice sent")
    stop_code_enter(stop=fresh(), user=alice, code="4822")
    expect(page.locator(".alert-access_code")).to_contain_text(
        "A dispatcher added the access code ahead of your visit: reveal it at the door.", timeout=WAIT_MS
    )
    assert not page.context.script_errors


def test_at_the_door_the_driver_reveals_the_code_for_30_seconds_and_calls_the_recipient_through_the_company(
    chromium, server, server_twilio, open_pages, dave, alice, run_of_dave
):
    gate = run_of_dave[0]
    Depot.objects.filter(pk=dave.depot_id).update(access_reveal_radius_m=150)
    AccessCredentialFactory(address=gate.order.address, secret="4821", last_worked_at=timezone.now())
    Driver.objects.filter(pk=dave.pk).update(phone="+13125550177")
    Recipient.objects.filter(pk=gate.order.recipient_id).update(phone="+13125550142")
    _, code = sign_in_code_issue(driver=dave, issued_by=alice)
    page = driver_phone(chromium, server, open_pages)
    page.context.clock.install()
    at(page, gate)
    page.goto(f"/driver/#code={code}")
    # What the vault holds, before anything is revealed: a code that worked.
    expect(page.locator(f'#stops li[data-stop-id="{gate.pk}"]')).to_contain_text(
        "Access code on file · worked last time", timeout=WAIT_MS
    )
    page.locator(f'#stops li[data-stop-id="{gate.pk}"] button').tap()

    page.once("dialog", lambda dialog: dialog.accept())  # "Showing the code is recorded. Show it now?"
    page.get_by_role("button", name="🔒 Show the access code").tap()
    expect(page.locator(".revealed .code")).to_have_text("4821", timeout=WAIT_MS)
    shot(page, "driver-code-revealed")
    # The phone told the desk where it is first: the reveal is judged from there, and audited.
    assert LocationBatch.objects.filter(driver=dave).exists()
    assert AccessRevealAudit.objects.get(stop=gate).result == AccessRevealAudit.Result.GRANTED
    page.clock.fast_forward(31_000)
    expect(page.locator(".revealed")).to_have_count(0, timeout=WAIT_MS)

    before = len(server_twilio.calls)
    page.get_by_role("button", name="Call the recipient").tap()
    expect(page.locator("#toast")).to_have_text("Your phone rings first: answer it to be connected.", timeout=WAIT_MS)
    (placed,) = server_twilio.calls[before:]
    assert placed["To"] == "+13125550177"
    assert "+13125550142" in placed["Twiml"]
    assert "+13125550142" not in page.content()  # never the recipient's number on the phone
    assert not page.context.script_errors


def test_without_the_websocket_instructions_still_arrive_from_the_feed_each_noticed_and_shown(
    chromium, server, open_pages, dave, alice, run_of_dave
):
    _, code = sign_in_code_issue(driver=dave, issued_by=alice)
    page = driver_phone(chromium, server, open_pages)
    page.context.clock.install()
    # The phone's vibrations, counted (the browser's own call, watched).
    page.add_init_script("window.buzzed = 0; navigator.vibrate = () => { window.buzzed += 1; return true; };")
    # A network that lets no websocket through: the app falls back to reading the feed.
    page.route_web_socket(re.compile(r"/ws/driver/$"), lambda socket: socket.close())
    page.goto(f"/driver/#code={code}")
    expect(page.locator("#stops li")).to_have_count(5, timeout=WAIT_MS)
    expect(page.locator("#conn")).to_have_attribute("data-state", "polling", timeout=WAIT_MS)
    expect(page.locator("body")).to_have_attribute("data-caught-up", re.compile(r"\d+"))  # the feed read once

    stop = run_of_dave[3]
    pushed = {
        "retry_now": "The recipient is coming down: go back now.",
        "neighbour": "Leave it with the neighbour in 3B.",
        "skip": "Moved to the 14:00 run.",
    }
    for kind, text in pushed.items():
        instruction_push(driver=dave, kind=kind, text=text, stop=stop)
    page.clock.fast_forward(16_000)  # the next read of the feed

    for kind, text in pushed.items():
        expect(page.locator(f".alert-{kind}")).to_contain_text(text, timeout=WAIT_MS)
    expect(page.locator(".alert-retry_now")).to_contain_text("Go back now")
    expect(page.locator(".alert-neighbour")).to_contain_text("Leave it with a neighbour")
    expect(page.locator(".alert-neighbour .alert-stop")).to_have_text(f"4. {stop.order.address.line1}")
    expect(page.locator(".alert-skip")).to_contain_text("Moved to a later run")
    shot(page, "driver-instructions-from-the-feed")
    assert page.evaluate("window.buzzed") >= 1
    for kind in pushed:
        page.locator(f".alert-{kind}").get_by_role("button", name="OK").tap()
    wait_until(
        lambda: not DriverInstruction.objects.filter(driver=dave, acked_at__isnull=True).exists(),
        "every instruction acknowledged",
    )
    assert not page.context.script_errors


def test_a_dispatcher_signs_a_drivers_phone_in_from_admin_and_the_driver_types_the_code(
    chromium, server, open_pages, dave, alice, run_of_dave
):
    desk = signed_in_page(chromium, server, open_pages, "alice", live=False, viewport={"width": 1280, "height": 900})
    desk.goto(f"/admin/dispatch/driver/{dave.pk}/change/")
    desk.get_by_role("button", name="Sign in on the driver app…").click()
    shown = desk.get_by_label("Sign-in code")
    expect(shown).to_have_text(re.compile(r"^[A-Z0-9]{4}-[A-Z0-9]{4}$"), timeout=WAIT_MS)
    expect(desk.locator("svg.segno")).to_be_visible()
    desk.screenshot(path=str(ARTIFACTS / "admin-driver-sign-in-code.png"), full_page=True)

    page = driver_phone(chromium, server, open_pages)
    page.goto("/driver/")
    page.get_by_label("Sign-in code").fill(shown.inner_text())
    page.get_by_role("button", name="Sign in").tap()
    expect(page.locator("#stops li")).to_have_count(5, timeout=WAIT_MS)
    assert dave.user.api_tokens.get().sign_in_code.issued_by == alice
    assert not page.context.script_errors


def test_the_app_installs_and_opens_without_a_network_showing_the_run_it_last_had(
    chromium, server, open_pages, dave, alice, run_of_dave
):
    _, code = sign_in_code_issue(driver=dave, issued_by=alice)
    page = driver_phone(chromium, server, open_pages)
    page.goto(f"/driver/#code={code}")
    expect(page.locator("#stops li")).to_have_count(5, timeout=WAIT_MS)
    manifest = page.evaluate("fetch(document.querySelector('link[rel=manifest]').href).then(r => r.json())")
    assert (manifest["display"], manifest["start_url"], manifest["scope"]) == ("standalone", "/driver/", "/driver/")
    assert page.evaluate("navigator.serviceWorker.ready.then(r => r.active.scriptURL)").endswith("/driver/sw.js")
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=WAIT_MS)  # clients.claim()

    page.context.set_offline(True)
    page.reload()
    expect(page.locator("#stops li")).to_have_count(5, timeout=WAIT_MS)
    expect(page.locator("#conn")).to_have_text("Offline")
    shot(page, "driver-opened-offline")
    page.context.set_offline(False)
    assert not page.context.script_errors
