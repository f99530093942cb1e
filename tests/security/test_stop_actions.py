"""The board's actions on a stop still to come: CSRF-checked, and only for stops of one's own depots."""

from __future__ import annotations

import pytest

from dispatch.models import AccessCredential, DriverInstruction, User
from tests.helpers import signed_in
from tests.security import endpoints
from tests.security.test_csrf import csrf_token

BODIES = {"board-stop-call": {}, "board-stop-access-code": {"code": "4417"}, "board-stop-text": {}}


def test_every_stop_action_has_a_body_here():
    assert set(BODIES) == set(endpoints.STOP_ACTIONS)


@pytest.mark.parametrize("name", sorted(endpoints.STOP_ACTIONS))
def test_a_stop_action_needs_the_csrf_token(name, alice, dave_stop, twilio):
    User.objects.filter(pk=alice.pk).update(phone="+13125550189")
    client = signed_in(alice, csrf=True)
    url = f"/api/v1/board/stops/{dave_stop.pk}/{name.removeprefix('board-stop-')}"

    refused = client.post(url, BODIES[name], content_type="application/json")
    accepted = client.post(url, BODIES[name], content_type="application/json", HTTP_X_CSRFTOKEN=csrf_token(client))

    assert refused.status_code == 403
    assert accepted.status_code == 200, accepted.content


@pytest.mark.parametrize("name", sorted(endpoints.STOP_ACTIONS))
def test_a_stop_of_another_depot_is_no_stop_at_all(name, bob, dave_stop, twilio):
    User.objects.filter(pk=bob.pk).update(phone="+13125550189")
    url = f"/api/v1/board/stops/{dave_stop.pk}/{name.removeprefix('board-stop-')}"

    response = signed_in(bob).post(url, BODIES[name], content_type="application/json")

    assert (response.status_code, response.json()["code"]) == (404, "stop_not_found")
    assert not AccessCredential.objects.exists()
    assert not DriverInstruction.objects.exists()
    assert twilio.calls == []
