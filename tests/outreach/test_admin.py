"""An admin's own wording is edited in admin; a placeholder the text cannot fill is refused with the ones it can,
and the default wording is shown for each purpose and language."""

from __future__ import annotations

import pytest

from dispatch.models import ReasonCode
from outreach.models import MessageTemplate
from outreach.wording import problem_words

pytestmark = pytest.mark.django_db


def test_it_refuses_an_unknown_placeholder_and_keeps_the_wording(client, admin_user):
    template = MessageTemplate.objects.create(key="ask_window", language="en", body="When can we come, {first_name}?")
    before = template.body
    client.force_login(admin_user)

    response = client.post(
        f"/admin/outreach/messagetemplate/{template.pk}/change/",
        {"key": "ask_window", "language": "en", "body": "Hi {first_name}, we are at {address}."},
    )

    assert response.status_code == 200
    assert "Unknown placeholder {address}. This text takes {first_name}, {link}, {order}, {problem}." in (
        response.content.decode()
    )
    template.refresh_from_db()
    assert template.body == before


def test_it_saves_good_wording(client, admin_user):
    template = MessageTemplate.objects.create(key="ask_window", language="es", body="¿Cuándo volvemos?")
    client.force_login(admin_user)

    response = client.post(
        f"/admin/outreach/messagetemplate/{template.pk}/change/",
        {"key": "ask_window", "language": "es", "body": "Hola {first_name}: ¿cuándo volvemos con {order}?"},
    )

    assert response.status_code == 302
    template.refresh_from_db()
    assert template.body.startswith("Hola {first_name}")


def test_it_shows_the_default_wording_beside_the_admins_own(client, admin_user):
    client.force_login(admin_user)

    page = client.get("/admin/outreach/messagetemplate/").content.decode()

    assert "The default wording" in page
    assert "we&#x27;ll bring your parcel {order} {when}." in page
    assert "le llevaremos su paquete {order} {when}." in page


def test_the_wording_of_an_admins_own_reason_code_is_theirs_per_language(client, admin_user):
    client.force_login(admin_user)

    response = client.post(
        "/admin/dispatch/reasoncode/add/",
        {
            "code": "LIFT_OUT",
            "label": "Lift out of order",
            "category": "access",
            "active": "on",
            "wordings-TOTAL_FORMS": "2",
            "wordings-INITIAL_FORMS": "0",
            "wordings-0-language": "en",
            "wordings-0-problem": "the lift was out of order",
            "wordings-1-language": "es",
            "wordings-1-problem": "el ascensor no funcionaba",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    reason = ReasonCode.objects.get(code="LIFT_OUT")
    assert problem_words(reason, "es") == "el ascensor no funcionaba"
    assert problem_words(reason, "en") == "the lift was out of order"
