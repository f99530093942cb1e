"""Templates are edited in admin; a placeholder we cannot fill is refused with the ones we can."""

from __future__ import annotations

import pytest

from outreach.models import MessageTemplate

pytestmark = pytest.mark.django_db


def test_it_refuses_an_unknown_placeholder_and_keeps_the_wording(client, admin_user):
    template = MessageTemplate.objects.get(key="ask_window", language="en")
    before = template.body
    client.force_login(admin_user)

    response = client.post(
        f"/admin/outreach/messagetemplate/{template.pk}/change/",
        {"key": "ask_window", "language": "en", "body": "Hi {first_name}, we are at {address}."},
    )

    assert response.status_code == 200
    assert "Unknown placeholder {address}" in response.content.decode()
    template.refresh_from_db()
    assert template.body == before


def test_it_saves_good_wording(client, admin_user):
    template = MessageTemplate.objects.get(key="ask_window", language="es")
    client.force_login(admin_user)

    response = client.post(
        f"/admin/outreach/messagetemplate/{template.pk}/change/",
        {"key": "ask_window", "language": "es", "body": "Hola {first_name}: ¿cuándo volvemos con {order}?"},
    )

    assert response.status_code == 302
    template.refresh_from_db()
    assert template.body.startswith("Hola {first_name}")
