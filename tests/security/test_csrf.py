"""CSRF on every form and action a signed-in browser can post: refused without the token, accepted with it.

The board's actions come from the URLconf, so a new one is tested here or
fails for want of a recipe (tests/security/cases.py). Views that skip Django's
CSRF check are listed by the same walk: only Twilio's signed callbacks may,
and DRF views that read the session cookie must keep DRF's own check.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.authentication import SessionAuthentication
from rest_framework.views import APIView

from dispatch.models import Recipient
from exceptions.models import CaseEvent, ExceptionCase
from tests.helpers import signed_in
from tests.security import endpoints
from tests.security.cases import recipe

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("outreach", "routing", "triage_enqueued")]

UNSAFE = ("post", "put", "patch", "delete")


def csrf_token(client: Client) -> str:
    """The token a page of the desk hands its forms and scripts (the cookie's value)."""
    client.get("/accounts/login/")
    return client.cookies["csrftoken"].value


def refused_for_csrf(response: Any) -> bool:
    return response.status_code == 403 and b"CSRF" in response.content


def test_sign_in_needs_the_token(alice):
    alice.set_password("correct-horse-battery")
    alice.save()
    client = Client(enforce_csrf_checks=True)
    token = csrf_token(client)
    credentials = {"username": "alice", "password": "correct-horse-battery"}

    refused = client.post("/accounts/login/", credentials)
    assert refused_for_csrf(refused)
    assert "_auth_user_id" not in client.session

    accepted = client.post("/accounts/login/", {**credentials, "csrfmiddlewaretoken": token})
    assert (accepted.status_code, accepted["Location"]) == (302, "/board/")
    assert client.session["_auth_user_id"] == str(alice.pk)


def test_sign_out_needs_the_token(alice):
    client = signed_in(alice, csrf=True)
    token = csrf_token(client)

    refused = client.post("/accounts/logout/")
    assert refused_for_csrf(refused)
    assert client.get("/board/").status_code == 200  # still signed in

    accepted = client.post("/accounts/logout/", {"csrfmiddlewaretoken": token})
    assert (accepted.status_code, accepted["Location"]) == (302, "/accounts/login/")
    assert client.get("/board/").status_code == 302  # signed out: sent to sign in


@pytest.mark.parametrize("action", sorted(endpoint.action for endpoint in endpoints.of_kind("case-action")))
def test_each_board_action_needs_the_token(action, alice, dave_stop, sends_enqueued, request):
    if action == "phone":
        request.getfixturevalue("twilio")  # a phone line: the fake Twilio's Calls API
    make_case, body = recipe(action)
    case = make_case(dave_stop)
    client = signed_in(alice, csrf=True)
    token = csrf_token(client)
    url = f"/api/v1/board/cases/{case.pk}/{action}"
    events = CaseEvent.objects.filter(case=case).count()

    refused = client.post(url, {"version": case.version, **body()}, content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert ExceptionCase.objects.get(pk=case.pk).version == case.version
    assert CaseEvent.objects.filter(case=case).count() == events

    accepted = client.post(
        url, {"version": case.version, **body()}, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert accepted.status_code == 200, accepted.content
    assert ExceptionCase.objects.get(pk=case.pk).version > case.version


def test_an_admin_change_form_needs_the_token(alice, dave_stop):
    """Alice may change recipients in admin (dispatchers' change models): the sample of admin's forms."""
    recipient = dave_stop.order.recipient
    client = signed_in(alice, csrf=True)
    url = f"/admin/dispatch/recipient/{recipient.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data = {name: "" if value is None else str(value) for name, value in data.items() if value is not False}
    data["language"] = "es"

    refused = client.post(url, data)
    assert refused_for_csrf(refused)
    assert Recipient.objects.get(pk=recipient.pk).language == "en"

    accepted = client.post(url, {**data, "csrfmiddlewaretoken": client.cookies["csrftoken"].value})
    assert accepted.status_code == 302, accepted.context["adminform"].form.errors if accepted.context else accepted
    assert Recipient.objects.get(pk=recipient.pk).language == "es"


def test_only_signed_webhooks_skip_the_csrf_check():
    exempt = sorted(
        endpoint.name
        for endpoint in endpoints.endpoints()
        if getattr(endpoint.callback, "csrf_exempt", False)
        and not (isinstance(endpoint.view_class, type) and issubclass(endpoint.view_class, APIView))
    )
    assert exempt == sorted(endpoints.SIGNED_WEBHOOKS), "A plain view skips CSRF without checking a signature."


def test_every_api_write_that_reads_the_session_cookie_is_a_board_action_tested():
    # DRF exempts its views from Django's CSRF middleware and checks CSRF itself, in SessionAuthentication only.
    cookie_writes = []
    for endpoint in endpoints.endpoints():
        view = endpoint.view_class
        if not (isinstance(view, type) and issubclass(view, APIView)):
            continue
        writes = [method for method in UNSAFE if hasattr(view, method)]
        sessions = [auth for auth in view().get_authenticators() if isinstance(auth, SessionAuthentication)]
        for auth in sessions:
            assert type(auth).enforce_csrf is SessionAuthentication.enforce_csrf, f"{endpoint.name} skips CSRF"
        if writes and sessions:
            cookie_writes.append(endpoint.name)
    # The stop actions' CSRF is tested in tests/security/test_stop_actions.py.
    assert sorted(cookie_writes) == sorted([*endpoints.names("case-action"), *endpoints.names("stop-action")])
