"""The recipient's self-service page, behind the link in their texts: what it shows, what a choice does, and what a
closed link reveals (nothing).

A choice on the page is a reply: it changes the case, the driver's instructions and the timeline exactly as the
same answer by text does; that is checked side by side on two parcels alike.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client

from dispatch.models import AccessCredential, PickupPoint, Stop
from exceptions.models import CaseEvent, ExceptionCase
from outreach.links import link_for
from outreach.models import Channel, Message, RecipientLink
from tests.clock import local
from tests.factories import RunFactory, StopFactory
from tests.helpers import at, fail, instructions, reload, sms_reply, texts_sent, triaged

pytestmark = pytest.mark.usefixtures("triage_enqueued", "signed")

State = ExceptionCase.State
LINK = re.compile(r"https?://\S+/r/(?P<token>[\w-]{16,32})")


@pytest.fixture
def texted(twilio, dave, dave_stop) -> ExceptionCase:
    """Dave, at the stop, could not get in; the recipient was texted, with the link."""
    at(dave, dave_stop)
    case = triaged(fail(dave_stop))
    assert texts_sent(twilio)
    return case


@pytest.fixture
def walgreens(chicago) -> PickupPoint:
    return PickupPoint.objects.create(
        depot=chicago, name="Walgreens", address="1550 N Ashland Ave", opens=dt.time(8), closes=dt.time(22)
    )


def _link(twilio: Any) -> str:
    """The page's path from the last text that carried a link."""
    found = [LINK.search(body) for body in texts_sent(twilio)]
    token = [m for m in found if m][-1].group("token")
    return f"/r/{token}"


def _choose(client: Any, path: str, choice: str, **fields: str) -> Any:
    page = client.get(path)
    nonce = re.search(r'name="nonce" value="(\w+)"', page.content.decode()).group(1)
    data = {"choice": choice, "nonce": nonce, **{f"{choice}-{name}": value for name, value in fields.items()}}
    return client.post(path, data)


def test_every_question_carries_the_link_and_the_page_opens_in_the_recipients_language(client, twilio, texted):
    body = texts_sent(twilio)[-1]
    assert LINK.search(body), body
    page = client.get(_link(twilio))

    assert page.status_code == 200
    html = page.content.decode()
    assert f"your parcel {texted.order.reference}" in html
    assert "We tried to deliver it, but the driver could not get in." in html
    for offer in ("Give the gate or door code", "Choose a time", "Leave it in a safe place", "Call me"):
        assert offer in html
    assert page["Cache-Control"].startswith("max-age=0")


def test_the_page_speaks_spanish_to_a_spanish_speaker(client, twilio, dave, dave_stop):
    recipient = dave_stop.order.recipient
    recipient.language = "es"
    recipient.save()
    at(dave, dave_stop)
    triaged(fail(dave_stop))

    html = client.get(_link(twilio)).content.decode()

    assert "Intentamos entregarlo, pero el repartidor no pudo entrar." in html
    assert "Dar el código de la puerta o del portón" in html
    assert 'lang="es"' in html


def test_a_code_given_on_the_page_reaches_the_driver_and_is_read_back_never_shown(client, twilio, texted, dave_stop):
    path = _link(twilio)

    response = _choose(client, path, "code", code="4417#")

    assert response.status_code == 302
    case = reload(texted)
    assert (case.state, case.pending_outcome) == (State.RESOLVING, ExceptionCase.Outcome.ACCESS_CODE_PROVIDED)
    assert [i.kind for i in instructions(dave_stop)][-1] == "access_code"
    assert AccessCredential.objects.get(address=dave_stop.order.address, source="recipient").secret == "4417#"
    chosen = Message.objects.get(conversation__case=case, channel=Channel.LINK)
    assert chosen.body == "On the page: Code: •••••"
    assert texts_sent(twilio)[-1] == "Got it: code 4417#. The driver will be back to try again."
    after = client.get(path).content.decode()
    assert "Thank you: the driver has the code and will be back to try again." in after
    assert "4417" not in after


def test_a_second_submit_of_the_same_form_changes_nothing(client, twilio, texted):
    path = _link(twilio)
    page = client.get(path).content.decode()
    nonce = re.search(r'name="nonce" value="(\w+)"', page).group(1)

    for _ in range(2):
        client.post(path, {"choice": "call", "nonce": nonce})

    assert Message.objects.filter(channel=Channel.LINK).count() == 1


def test_a_bad_code_is_refused_with_what_to_fix_and_nothing_is_stored(client, twilio, texted):
    response = _choose(client, _link(twilio), "code", code="<script>")

    assert response.status_code == 400
    assert "Type the code as you would on the keypad" in response.content.decode()
    assert not Message.objects.filter(channel=Channel.LINK).exists()
    assert reload(texted).state == State.AWAITING_RECIPIENT


# --- The same as a text ---------------------------------------------------------------------------------------------


def _timeline(case: ExceptionCase) -> list[str]:
    return list(CaseEvent.objects.filter(case=case).order_by("pk").values_list("kind", flat=True))


def _what_happened(case: ExceptionCase, stop: Stop) -> tuple[Any, ...]:
    case = reload(case)
    detail = {key: value for key, value in case.outcome_detail.items() if key not in ("new_stop_id", "credential_id")}
    return (
        case.state,
        case.pending_outcome,
        case.outcome,
        detail,
        [(i.kind, i.text) for i in instructions(stop)],
        _timeline(case),
    )


@pytest.mark.parametrize(
    ("choice", "fields", "text"),
    [
        ("code", {"code": "4417"}, "the code is 4417"),
        ("home", {}, "I'm home now"),
        ("pickup", {"point": "walgreens"}, "I'll pick it up at Walgreens"),
        ("window", {"window": "tomorrow afternoon"}, "tomorrow afternoon"),
    ],
    ids=["code", "home-now", "pickup-point", "window"],
)
def test_a_choice_on_the_page_does_what_the_same_answer_by_text_does(
    client, twilio, dave, dave_stop, walgreens, choice, fields, text
):
    by_text = StopFactory(run=dave_stop.run, sequence=dave_stop.sequence + 1, order__depot=dave_stop.run.depot)
    for stop in (dave_stop, by_text):
        Stop.objects.filter(pk=stop.pk).update(planned_arrival=local(11))
    at(dave, dave_stop)
    on_page = triaged(fail(dave_stop))
    path = _link(twilio)
    at(dave, by_text)
    texted = triaged(fail(by_text))
    at(dave, dave_stop)
    if choice == "pickup":
        fields = {"point": str(walgreens.pk)}
    if choice == "window":
        page = client.get(path).content.decode()
        fields = {
            "window": re.search(r'value="(\d{4}-\d\d-\d\dT12:00:00[^/"]*/[^"]+)"', page).group(1).replace("&#x2B;", "+")
        }

    assert _choose(client, path, choice, **fields).status_code == 302
    at(dave, by_text)
    sms_reply(client, texted, text)

    page_side, text_side = _what_happened(on_page, dave_stop), _what_happened(texted, by_text)
    assert page_side[:5] == text_side[:5]
    assert page_side[5][-4:] == text_side[5][-4:]


# --- A closed link reveals nothing ----------------------------------------------------------------------------------


def test_a_tampered_link_is_refused_and_shows_nothing_of_anyone(client, twilio, texted):
    path = _link(twilio)
    tampered = path[:-2] + ("AA" if not path.endswith("AA") else "BB")

    response = client.get(tampered)

    assert response.status_code == 404
    html = response.content.decode()
    assert "This link doesn't work" in html
    assert texted.order.reference not in html
    assert texted.order.recipient.first_name not in html


@pytest.mark.parametrize("closed_by", ["expired", "revoked", "settled"])
def test_a_closed_link_says_so_and_shows_nothing_of_the_parcel(client, twilio, texted, closed_by):
    path = _link(twilio)
    link = RecipientLink.objects.get(token=path.rsplit("/", 1)[1])
    if closed_by == "expired":
        link.expires_at = local(9)
        link.save()
    elif closed_by == "revoked":
        link.revoked_at = local(9)
        link.save()
    else:
        ExceptionCase.objects.filter(pk=texted.pk).update(state=State.CLOSED)

    response = client.get(path)
    posted = client.post(path, {"choice": "call", "nonce": "x" * 16})

    assert (response.status_code, posted.status_code) == (410, 410)
    html = response.content.decode()
    assert "This link is closed" in html
    assert texted.order.reference not in html
    assert not Message.objects.filter(channel=Channel.LINK).exists()


def test_a_link_opened_too_often_is_held_back_for_a_while(client, twilio, texted, settings):
    settings.RECIPIENT_PAGE_LIMITS = (5, 100_000, 600)
    path = _link(twilio)
    opened = [client.get(path).status_code for _ in range(6)]

    assert opened == [200] * 5 + [429]
    assert "Please wait a few minutes" in client.get(path).content.decode()


def test_a_stop_keeps_one_link_in_every_text(texted):
    assert link_for(stop=texted.stop) == link_for(stop=texted.stop)


def test_an_admin_revokes_a_link_and_it_closes_at_once(client, admin_client_, twilio, texted):
    path = _link(twilio)
    link = RecipientLink.objects.get(token=path.rsplit("/", 1)[1])

    response = admin_client_.post(
        "/admin/outreach/recipientlink/", {"action": "revoke", "_selected_action": [str(link.pk)]}
    )

    assert response.status_code == 302
    assert client.get(path).status_code == 410


def test_a_choice_posted_from_elsewhere_is_refused(twilio, texted):
    outsider = Client(enforce_csrf_checks=True)
    path = _link(twilio)

    response = outsider.post(path, {"choice": "call", "nonce": "x" * 16})

    assert response.status_code == 403
    assert not Message.objects.filter(channel=Channel.LINK).exists()


# --- Ahead of the driver --------------------------------------------------------------------------------------------


def test_a_notices_link_offers_what_helps_before_the_visit_and_reaches_the_driver(client, dave, dave_stop, walgreens):
    from exceptions import prevention

    Stop.objects.filter(pk=dave_stop.pk).update(planned_arrival=local(11))
    prevention.notices_sweep()
    notice = Message.objects.get(conversation__stop=dave_stop)
    path = "/r/" + LINK.search(notice.body).group("token")

    at(dave, dave_stop, metres_north=900)
    html = client.get(path).content.decode()
    # Live: from the van's last fix 900 m away at 10:00, not the plan's 11:00.
    assert re.search(r"The driver plans to be with you around 10(:15)? am\.", html)
    for offered in ("Give the gate or door code", "Leave it in a safe place", "Leave it with a neighbour"):
        assert offered in html
    for after_a_failure in ("I'm home now", "Collect it at a pickup point", "I don't want this parcel"):
        assert after_a_failure not in html

    assert _choose(client, path, "place", place="back door").status_code == 302
    note = instructions(dave_stop)[-1]
    assert (note.kind, note.text) == ("note", "Safe place from the recipient, ahead of your visit: back door")


def test_a_rescheduled_parcels_text_carries_the_link_to_change_it(client, texted, dave_stop):
    from outreach.adapter import SmsOutreach

    Stop.objects.filter(pk=dave_stop.pk).update(status=Stop.Status.RESCHEDULED)  # as routing leaves it
    later = RunFactory(
        driver=dave_stop.run.driver,
        depot=dave_stop.run.depot,
        service_date=dave_stop.run.service_date,
        shift_start=local(13),
        shift_end=local(19),
    )
    again = StopFactory(run=later, sequence=1, order=dave_stop.order)
    Stop.objects.filter(pk=again.pk).update(planned_arrival=local(15, 40))
    case = reload(texted)
    case.outcome, case.outcome_detail = ExceptionCase.Outcome.RESCHEDULED_SAME_DAY, {"new_stop_id": again.pk}
    case.state = State.RESOLVED
    case.save()

    SmsOutreach().notify_outcome(case=case)

    told = Message.objects.filter(conversation__case=case).latest("pk").body
    assert "between 3 and 5 pm. To change it: http" in told
    page = client.get("/r/" + LINK.search(told).group("token"))
    assert page.status_code == 200
    assert "Choose a time" in page.content.decode()
