"""The recipient's self-service page in a real browser: Debian's Chromium at a phone's size, English and Spanish.

The recipient opens the link from the question they were texted, and chooses a time, gives a code, picks a pickup
point or says they are home; each reaches the case and the driver as the same text would (side by side with a text
in tests/outreach/test_recipient_page.py). Screenshots go to var/test-artifacts/.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from dispatch.models import AccessCredential, DriverInstruction, PickupPoint, Stop
from exceptions.models import CaseEvent, ExceptionCase
from outreach.models import Channel, Message
from tests.e2e.browser import WAIT_MS, shot
from tests.factories import RunFactory, StopFactory
from tests.helpers import at, fail, triaged

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.wall_clock,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

LINK = re.compile(r"https?://\S+?(/r/[\w-]{16,32})")
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
WORDS = {
    "en": {
        "problem": "We tried to deliver it, but the driver could not get in.",
        "window": "Choose a time",
        "window_go": "Deliver at this time",
        "code": "Give the gate or door code",
        "code_field": "Gate or door code",
        "code_go": "Send the code",
        "code_done": "Thank you: the driver has the code and will be back to try again.",
        "pickup": "Collect it at a pickup point",
        "pickup_go": "I'll collect it there",
        "home": "I'm home now",
        "done": "The driver will be back to try again.",
        "slot_done": "We'll text you the time.",
        "pickup_done": "It will wait for you there.",
        "closed": "This link is closed",
    },
    "es": {
        "problem": "Intentamos entregarlo, pero el repartidor no pudo entrar.",
        "window": "Elegir una hora",
        "window_go": "Entregar a esta hora",
        "code": "Dar el código de la puerta o del portón",
        "code_field": "Código de la puerta o del portón",
        "code_go": "Enviar el código",
        "code_done": "Gracias: el repartidor tiene el código y volverá a intentarlo.",
        "pickup": "Recogerlo en un punto de recogida",
        "pickup_go": "Lo recogeré ahí",
        "home": "Ya estoy en casa",
        "done": "El repartidor volverá a intentarlo.",
        "slot_done": "Le escribiremos con la hora.",
        "pickup_done": "Le estará esperando allí.",
        "closed": "Este enlace ya no está activo",
    },
}


@pytest.fixture
def asked(dave, chicago) -> tuple[ExceptionCase, Stop]:
    """A stop Dave could not get into, planned for this morning; the recipient was texted the question."""
    run = RunFactory(driver=dave, depot=chicago)
    stop = StopFactory(run=run, sequence=1, planned_arrival=timezone.now() + dt.timedelta(minutes=20))
    PickupPoint.objects.create(
        depot=chicago, name="Walgreens", address="1550 N Ashland Ave", opens=dt.time(8), closes=dt.time(22)
    )
    at(dave, stop)
    return triaged(fail(stop)), stop


def _open(chromium: Any, server: str, open_pages: list[Any], case: ExceptionCase, language: str) -> Any:
    recipient = case.order.recipient
    recipient.language = language
    recipient.save(update_fields=["language"])
    question = Message.objects.filter(conversation__case=case, direction=Message.Direction.OUTBOUND).latest("pk")
    match = LINK.search(question.body)
    assert match, question.body
    context = chromium.new_context(base_url=server, locale=f"{language}-US", **PHONE)
    context.script_errors = []
    open_pages.append(context)
    page = context.new_page()
    page.on("pageerror", lambda error: context.script_errors.append(str(error)))
    page.goto(match.group(1))
    expect(page.get_by_text(WORDS[language]["problem"])).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the page scrolls sideways"
    return page


def _case(case: ExceptionCase) -> ExceptionCase:
    return ExceptionCase.objects.get(pk=case.pk)


def _instructions(stop: Stop) -> list[str]:
    return list(DriverInstruction.objects.filter(stop=stop).order_by("seq").values_list("kind", flat=True))


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_recipient_gives_the_code_on_the_page(chromium, server, open_pages, asked, language):
    case, stop = asked
    page = _open(chromium, server, open_pages, case, language)
    words = WORDS[language]

    page.get_by_text(words["code"]).tap()
    page.get_by_label(words["code_field"]).fill("4417#")
    shot(page, f"recipient-code-{language}")
    page.get_by_role("button", name=words["code_go"]).tap()

    expect(page.get_by_role("status")).to_have_text(words["code_done"], timeout=WAIT_MS)
    assert "4417" not in page.content()
    assert _case(case).pending_outcome == ExceptionCase.Outcome.ACCESS_CODE_PROVIDED
    assert _instructions(stop)[-1] == DriverInstruction.Kind.ACCESS_CODE
    assert AccessCredential.objects.filter(address=stop.order.address, source="recipient").exists()
    assert Message.objects.get(conversation__case=case, channel=Channel.LINK).body == "On the page: Code: •••••"


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_recipient_chooses_a_time_on_the_page(chromium, server, open_pages, asked, language):
    case, _ = asked
    page = _open(chromium, server, open_pages, case, language)
    words = WORDS[language]

    page.get_by_text(words["window"]).tap()
    choices = page.locator('input[name="window-window"]')
    expect(choices.first).to_be_visible()
    offered = choices.count()
    assert offered >= 3  # later today when a run can take it, then mornings, afternoons and evenings ahead
    choices.nth(offered - 1).check()
    shot(page, f"recipient-window-{language}")
    page.get_by_role("button", name=words["window_go"]).tap()

    expect(page.get_by_role("status")).to_contain_text(words["slot_done"], timeout=WAIT_MS)
    case = _case(case)
    assert case.state == ExceptionCase.State.RESOLVING
    assert case.pending_outcome == ExceptionCase.Outcome.RESCHEDULED_LATER
    assert case.outcome_detail["window_start"]
    assert CaseEvent.objects.filter(case=case, summary__startswith="Asked routing for a new slot").exists()


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_recipient_picks_a_pickup_point_on_the_page(chromium, server, open_pages, asked, language):
    case, stop = asked
    page = _open(chromium, server, open_pages, case, language)
    words = WORDS[language]

    page.get_by_text(words["pickup"]).tap()
    page.get_by_label(re.compile("Walgreens")).check()
    shot(page, f"recipient-pickup-{language}")
    page.get_by_role("button", name=words["pickup_go"]).tap()

    expect(page.get_by_role("status")).to_contain_text(words["pickup_done"], timeout=WAIT_MS)
    expect(page.get_by_role("heading")).to_have_text(words["closed"])
    case = _case(case)
    assert (case.state, case.outcome) == (ExceptionCase.State.RESOLVED, ExceptionCase.Outcome.PICKUP_POINT)
    assert case.outcome_detail["pickup_point"].startswith("Walgreens")
    assert _instructions(stop)[-1] == DriverInstruction.Kind.SKIP
    told = Message.objects.filter(conversation__case=case, template_key="outcome_pickup_point").get()
    assert "Walgreens, 1550 N Ashland Ave" in told.body


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_recipient_says_they_are_home_on_the_page(chromium, server, open_pages, asked, language):
    case, stop = asked
    page = _open(chromium, server, open_pages, case, language)
    words = WORDS[language]

    page.get_by_text(words["home"]).first.tap()
    page.get_by_role("button", name=words["home"]).tap()

    expect(page.get_by_role("status")).to_contain_text(words["done"], timeout=WAIT_MS)
    shot(page, f"recipient-home-{language}")
    assert _case(case).pending_outcome == ExceptionCase.Outcome.RETRY_NOW
    assert _instructions(stop)[-1] in (DriverInstruction.Kind.RETRY_NOW, DriverInstruction.Kind.WAIT)
