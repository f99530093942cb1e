"""Signing the driver app in on a phone: a dispatcher issues a code in admin, the phone trades it for a token."""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from dispatch import driver_words
from dispatch.models import ApiToken, Driver, DriverSignInCode
from dispatch.services.instructions import instruction_push
from dispatch.services.sign_in import sign_in_code_issue
from tests.helpers import client_for, signed_in

pytestmark = pytest.mark.django_db

SIGN_IN = "/api/v1/driver/sign-in"
ME = "/api/v1/driver/me"


def sign_in(code: str, device: str = "Pixel 8"):
    return APIClient().post(SIGN_IN, {"code": code, "device": device}, format="json")


def test_a_code_signs_one_phone_in_once_with_a_token_of_its_own(dave, dave_run):
    _, code = sign_in_code_issue(driver=dave, issued_by=None)

    answer = sign_in(f"{code[:4].lower()}-{code[4:]} ")  # read out, typed in lower case with a dash

    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["driver"] == {"name": dave.user.get_full_name(), "depot": dave.depot.name, "language": ""}
    phone = APIClient()
    phone.credentials(HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    assert phone.get("/api/v1/driver/run").status_code == 200
    token = ApiToken.objects.get(user=dave.user)
    assert (token.kind, token.name) == (ApiToken.Kind.DRIVER, "Driver app on Pixel 8")
    assert DriverSignInCode.objects.get().token == token

    again = sign_in(code)
    assert again.status_code == 400
    assert again.json()["fields"]["code"] == [
        "This code does not sign in: it is used, expired or mistyped. Ask dispatch for a new one."
    ]
    assert ApiToken.objects.count() == 1


def test_a_code_expires_after_15_minutes_and_a_wrong_one_signs_nobody_in(dave):
    _, code = sign_in_code_issue(driver=dave, issued_by=None)
    assert sign_in("ABCD-EFGH").status_code == 400
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=15, seconds=1)):
        assert sign_in(code).status_code == 400
    assert not ApiToken.objects.exists()


def test_an_inactive_driver_is_not_signed_in(dave):
    _, code = sign_in_code_issue(driver=dave, issued_by=None)
    dave.active = False
    dave.save(update_fields=["active"])
    assert sign_in(code).status_code == 400


@pytest.mark.parametrize("body", [{}, {"code": ""}, {"code": "x" * 21}, {"code": ["A"]}])
def test_a_sign_in_without_a_code_says_what_to_send(body):
    answer = APIClient().post(SIGN_IN, body, format="json")
    assert answer.status_code == 400
    assert "code" in answer.json()["fields"]


def test_a_sign_in_that_is_not_a_json_object_is_refused_in_words():
    for body, kind in (('"ABCD-EFGH"', "application/json"), ("{", "application/json"), ("code=A", "text/plain")):
        answer = APIClient().post(SIGN_IN, body, content_type=kind)
        assert answer.status_code in (400, 415), answer.content
        assert answer.json()["detail"]


def test_signing_out_revokes_the_phones_token_at_once(dave, dave_run):
    _, code = sign_in_code_issue(driver=dave, issued_by=None)
    phone = APIClient()
    phone.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in(code).json()['token']}")
    assert phone.post("/api/v1/driver/sign-out").status_code == 204
    assert phone.get("/api/v1/driver/run").status_code == 401
    assert ApiToken.objects.get().revoked_at is not None


def test_the_sign_in_says_which_language_dispatch_writes_to_the_driver_in(dave):
    Driver.objects.filter(pk=dave.pk).update(language="es")
    _, code = sign_in_code_issue(driver=dave, issued_by=None)
    assert sign_in(code).json()["driver"]["language"] == "es"


def test_the_app_sets_the_language_dispatch_writes_in_from_then_on(dave, erin, dave_stop):
    phone = client_for(dave.user)
    assert phone.get(ME).json() == {"name": dave.user.get_full_name(), "depot": dave.depot.name, "language": ""}
    instruction_push(driver=dave, kind="note", text=driver_words.RETRY, stop=dave_stop)

    answer = phone.patch(ME, {"language": "es"}, format="json")

    assert answer.status_code == 200, answer.json()
    assert answer.json()["language"] == "es"
    assert phone.get(ME).json()["language"] == "es"
    instruction_push(driver=Driver.objects.get(pk=dave.pk), kind="note", text=driver_words.RETRY, stop=dave_stop)
    feed = phone.get("/api/v1/driver/instructions").json()["instructions"]
    # Those already sent keep the language they were sent in.
    assert [item["text"] for item in feed] == ["Retry this stop.", "Vuelve a intentar esta parada."]
    assert Driver.objects.get(pk=erin.pk).language == ""  # only the signed-in driver's own


@pytest.mark.parametrize("body", [{}, {"language": "xx"}, {"language": ""}, {"language": ["es"]}, {"name": "Eve"}])
def test_a_language_dispatch_cannot_write_in_is_refused_with_what_it_can(dave, body):
    answer = client_for(dave.user).patch(ME, body, format="json")
    assert answer.status_code == 400
    assert answer.json()["fields"]["language"]
    assert Driver.objects.get(pk=dave.pk).language == ""


def test_only_a_signed_in_driver_reads_or_sets_a_language(alice):
    assert APIClient().get(ME).status_code == 401
    assert APIClient().patch(ME, {"language": "es"}, format="json").status_code == 401
    dispatcher = client_for(alice, kind=ApiToken.Kind.INTEGRATION)
    assert dispatcher.patch(ME, {"language": "es"}, format="json").status_code == 403


def test_guessing_codes_is_held_to_a_few_tries_a_minute_per_address(dave, settings):
    settings.CACHES = {"default": {**settings.CACHES["default"], "KEY_PREFIX": f"sign-in-{uuid.uuid4().hex}"}}
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "driver_sign_in": "3/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    _, code = sign_in_code_issue(driver=dave, issued_by=None)
    statuses = [sign_in(f"WRONG{number:03d}").status_code for number in range(3)]
    assert statuses == [400, 400, 400]
    assert sign_in(code).status_code == 429  # even the right code waits: it is still good for 15 minutes


def test_a_dispatcher_issues_a_code_and_qr_code_in_admin_for_a_driver_of_their_depot(alice, dave, oscar, caplog):
    caplog.set_level(logging.DEBUG)
    browser = signed_in(alice)
    change = browser.get(f"/admin/dispatch/driver/{dave.pk}/change/")
    assert "Sign in on the driver app" in change.content.decode()

    page = browser.post(f"/admin/dispatch/driver/{dave.pk}/sign-in-code/")

    assert page.status_code == 200
    html = page.content.decode()
    shown = re.search(r'aria-label="Sign-in code">([A-Z0-9]{4}-[A-Z0-9]{4})<', html)
    assert shown, html
    assert "http://testserver/driver/" in html
    assert 'class="segno"' in html
    record = DriverSignInCode.objects.get()
    assert (record.driver, record.issued_by) == (dave, alice)
    assert shown.group(1).replace("-", "") not in record.code_hash
    assert sign_in(shown.group(1)).status_code == 201
    # Another depot's driver is not found; a code is issued only by a POST (a link cannot issue one).
    assert browser.post(f"/admin/dispatch/driver/{oscar.pk}/sign-in-code/").status_code == 404
    assert browser.get(f"/admin/dispatch/driver/{dave.pk}/sign-in-code/").status_code == 405
    for record in caplog.records:
        assert shown.group(1) not in record.getMessage()
