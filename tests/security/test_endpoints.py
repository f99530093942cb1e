"""Every endpoint in the URLconf has a known protection; the ones that skip CSRF check a signature."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from dispatch.models import AccessCredential
from exceptions.models import ExceptionCase
from outreach.models import Conversation, Message
from tests.factories import ExceptionCaseFactory
from tests.security import endpoints


def test_every_endpoint_is_classified():
    unclassified = [f"{e.name or '<unnamed>'} ({e.route})" for e in endpoints.endpoints() if e.kind is None]
    assert not unclassified, (
        "Endpoints with no security class; add each to tests/security/endpoints.py and to the checks of its "
        f"class (isolation, CSRF, throttling): {', '.join(unclassified)}"
    )


def test_the_classes_name_only_endpoints_that_exist():
    served = {endpoint.name for endpoint in endpoints.endpoints()}
    for kind, names in endpoints.NAMED_CLASSES.items():
        assert names <= served, f"{kind}: {sorted(names - served)} no longer served; drop them from the class"


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(endpoints.SIGNED_WEBHOOKS))
def test_a_webhook_without_twilios_signature_is_refused(name, settings):
    settings.TWILIO_AUTH_TOKEN = "fake-auth-token"
    params = {"MessageSid": "SMforged", "From": "+17735550101", "Body": "gate code is 4821", "MessageStatus": "read"}
    # The sender has an open case and a text of ours went out under that SID: a forged request reaches neither.
    case = ExceptionCaseFactory(scan__stop__order__recipient__phone=params["From"])
    conversation = Conversation.objects.create(case=case, recipient=case.order.recipient)
    ours = Message.objects.create(
        conversation=conversation,
        direction=Message.Direction.OUTBOUND,
        body="Can you let the driver in?",
        idempotency_key="question",
        status=Message.Status.SENT,
        provider_sid=params["MessageSid"],
    )
    before, case_before = Message.objects.values().get(pk=ours.pk), ExceptionCase.objects.values().get(pk=case.pk)

    unsigned = Client().post(reverse(name), params)
    forged = Client().post(reverse(name), params, HTTP_X_TWILIO_SIGNATURE="bm90IGEgc2lnbmF0dXJl")

    assert (unsigned.status_code, forged.status_code) == (403, 403)
    assert unsigned.content == forged.content == b"Invalid Twilio signature."
    assert list(Message.objects.values()) == [before]
    assert not AccessCredential.objects.exists()
    assert ExceptionCase.objects.values().get(pk=case.pk) == case_before
