"""Recipient preferences from the CRM: each row stands alone, bad rows are reported, opt-outs only ever stick.

Personas: the CRM is an integration; Maria is a known recipient; Dave drives
for Chicago (his driver token must not import anything).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from dispatch.models import ApiToken, Recipient
from dispatch.services.plans import OPT_IN_REFUSED, recipients_import
from dispatch.services.tokens import api_token_issue
from tests.factories import OrderFactory, RecipientFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/recipients/import?depot=chi-west"


@pytest.fixture
def crm(chicago) -> APIClient:
    _, key = api_token_issue(user=UserFactory(username="crm"), kind=ApiToken.Kind.INTEGRATION, name="CRM")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def maria(chicago) -> Recipient:
    """Maria: known to the CRM, English, texts, default quiet hours."""
    return RecipientFactory(depot=chicago, external_id="CRM-1", name="Maria Lopez", phone="+13125550142", language="en")


def send(client: APIClient, rows: Any) -> Any:
    return client.post(URL, json.dumps({"recipients": rows}), content_type="application/json")


def test_it_creates_and_updates_recipients_by_external_id(crm, maria):
    response = send(
        crm,
        [
            {
                "external_id": "CRM-1",
                "language": "es",
                "preferred_channel": "push",
                "quiet_hours_start": "22:00",
                "quiet_hours_end": "07:30",
                "time_zone": "America/Denver",
                "tier": "vip",
            },
            {
                "external_id": "CRM-2",
                "name": "Ana Ruiz",
                "phone": "(773) 555-0100",
                "email": "ana@example.com",
                "time_zone": "America/Chicago",
            },
        ],
    )

    assert response.status_code == 200
    assert response.json() == {"created": 1, "updated": 1, "unchanged": 0, "errors": [], "warnings": []}
    maria.refresh_from_db()
    assert (maria.name, maria.language, maria.preferred_channel, maria.tier) == ("Maria Lopez", "es", "push", "vip")
    assert (maria.quiet_hours_start, maria.quiet_hours_end) == (dt.time(22), dt.time(7, 30))
    assert str(maria.time_zone) == "America/Denver"
    assert str(maria.phone) == "+13125550142"  # not in the row: kept
    ana = Recipient.objects.get(external_id="CRM-2")
    assert (str(ana.phone), ana.email, ana.language) == ("+17735550100", "ana@example.com", "en")
    assert (str(ana.time_zone), ana.opted_out, ana.opted_out_at, ana.quiet_hours_start) == (
        "America/Chicago",
        False,
        None,
        dt.time(21),
    )
    assert ana.created_at is not None


def test_it_changes_nothing_when_the_same_rows_come_again(crm, maria):
    rows = [{"external_id": "CRM-1", "name": "Maria Lopez", "language": "en", "phone": "312-555-0142"}]
    stamp = maria.updated_at

    response = send(crm, rows)

    assert response.json() == {"created": 0, "updated": 0, "unchanged": 1, "errors": [], "warnings": []}
    maria.refresh_from_db()
    assert maria.updated_at == stamp


def test_it_reports_bad_rows_and_applies_the_others(crm, maria):
    response = send(
        crm,
        [
            {"external_id": "CRM-2", "name": "Ana", "phone": "555-12"},
            {"external_id": "CRM-1", "language": "es"},
            {"external_id": "CRM-3", "quiet_hours_start": "25:00", "preferred_channel": "fax"},
            {"external_id": "CRM-4", "phone": "+13125550199"},
            "not a row",
            {"name": "No id"},
            {"external_id": "CRM-1", "language": "en"},
        ],
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["updated"], body["unchanged"]) == (0, 1, 0)
    assert body["errors"] == [
        {"row": 0, "external_id": "CRM-2", "fields": {"phone": ["The phone number entered is not valid."]}},
        {
            "row": 2,
            "external_id": "CRM-3",
            "fields": {
                "preferred_channel": ['"fax" is not a valid choice. Choose one of: sms, push, whatsapp.'],
                "quiet_hours_start": ["Time has wrong format. Use one of these formats instead: hh:mm[:ss]."],
            },
        },
        {
            "row": 3,
            "external_id": "CRM-4",
            "fields": {"name": ["This field is required to create a recipient."]},
        },
        {
            "row": 4,
            "external_id": None,
            "fields": {"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]},
        },
        {"row": 5, "external_id": None, "fields": {"external_id": ["This field is required."]}},
        {
            "row": 6,
            "external_id": "CRM-1",
            "fields": {"external_id": ["Also in row 1: each recipient once per import."]},
        },
    ]
    maria.refresh_from_db()
    assert maria.language == "es"
    assert not Recipient.objects.exclude(pk=maria.pk).exists()


def test_it_opts_a_recipient_out_and_records_when(crm, maria):
    before = timezone.now()

    body = send(crm, [{"external_id": "CRM-1", "opted_out": True}]).json()

    assert body["updated"] == 1
    maria.refresh_from_db()
    assert maria.opted_out is True
    assert maria.opted_out_at is not None
    assert maria.opted_out_at >= before
    stamp = maria.opted_out_at

    # Sent again: still opted out since the first time.
    assert send(crm, [{"external_id": "CRM-1", "opted_out": "yes"}]).json()["unchanged"] == 1
    maria.refresh_from_db()
    assert maria.opted_out_at == stamp


def test_it_never_opts_a_recipient_back_in(crm, maria):
    opted_out_at = timezone.now() - dt.timedelta(days=3)
    Recipient.objects.filter(pk=maria.pk).update(opted_out=True, opted_out_at=opted_out_at)

    body = send(crm, [{"external_id": "CRM-1", "opted_out": False, "language": "es"}]).json()

    assert body["updated"] == 1
    assert body["warnings"] == [{"row": 0, "external_id": "CRM-1", "fields": {"opted_out": [OPT_IN_REFUSED]}}]
    maria.refresh_from_db()
    assert (maria.opted_out, maria.opted_out_at, maria.language) == (True, opted_out_at, "es")


def test_it_creates_an_opted_out_recipient_with_the_time(crm):
    send(crm, [{"external_id": "CRM-9", "name": "Luis", "opted_out": "true"}])

    luis = Recipient.objects.get(external_id="CRM-9")
    assert luis.opted_out is True
    assert luis.opted_out_at is not None


def test_it_accepts_a_csv_export(crm, maria):
    text = (
        "\ufeffexternal_id,name,phone,language,quiet_hours_start,opted_out\n"
        "CRM-1,,,es,22:30,\n"
        "CRM-2,Ana Ruiz,773-555-0100,en,,no\n"
        'CRM-3,"Ruiz, Bo",555-12,en,,\n'
    )

    response = crm.post(URL, text.encode(), content_type="text/csv")

    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["updated"]) == (1, 1)
    assert body["errors"] == [
        {"row": 4, "external_id": "CRM-3", "fields": {"phone": ["The phone number entered is not valid."]}}
    ]
    maria.refresh_from_db()
    assert (maria.name, maria.language, maria.quiet_hours_start) == ("Maria Lopez", "es", dt.time(22, 30))


def test_it_rejects_a_csv_with_unknown_columns(crm):
    response = crm.post(URL, b"external_id,phnoe\nCRM-1,312\n", content_type="text/csv")

    assert response.status_code == 400
    assert response.json()["fields"]["non_field_errors"][0].startswith("Unknown columns: phnoe.")


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "recipients", "This field is required."),
        ({"recipients": {"external_id": "x"}}, "recipients", 'Expected a list of items but got type "dict".'),
        ([], "recipients", "This field is required."),
    ],
)
def test_it_answers_a_request_of_the_wrong_shape_with_a_400(crm, body, field, message):
    response = crm.post(URL, json.dumps(body), content_type="application/json")

    assert response.status_code == 400
    assert response.json()["fields"] == {field: [message]}


def test_an_empty_csv_is_a_400_that_asks_for_the_header_row(crm):
    response = crm.post(URL, b"", content_type="text/csv")

    assert response.status_code == 400
    assert response.json()["fields"]["non_field_errors"][0].startswith("Expected a header row with external_id")


def test_it_answers_malformed_json_and_a_non_utf8_csv_with_a_400(crm):
    assert crm.post(URL, "{", content_type="application/json").json()["code"] == "parse_error"
    response = crm.post(URL, "external_id\nCAFÉ\n".encode("cp1252"), content_type="text/csv")
    assert response.status_code == 400
    assert response.json()["detail"] == "The CSV is not UTF-8 text."


def test_it_is_for_integrations_only(maria, dave):
    assert send(APIClient(), [{"external_id": "CRM-1", "language": "es"}]).status_code == 401
    _, key = api_token_issue(user=dave.user, kind=ApiToken.Kind.DRIVER, name="Dave's phone")
    driver = APIClient()
    driver.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert send(driver, [{"external_id": "CRM-1", "language": "es"}]).status_code == 403
    maria.refresh_from_db()
    assert maria.language == "en"


def test_it_numbers_rows_by_file_line_for_a_csv(chicago):
    result = recipients_import(rows=[{"external_id": "A", "name": ""}], lines=[7], depot=chicago)

    assert result.errors == [{"row": 7, "external_id": "A", "fields": {"name": ["This field may not be blank."]}}]


def test_it_imports_many_rows_in_a_few_queries(django_assert_max_num_queries, chicago):
    rows = [{"external_id": f"CRM-{n}", "name": f"R {n}", "phone": f"+1312555{n % 10_000:04d}"} for n in range(3000)]
    with django_assert_max_num_queries(12):
        result = recipients_import(rows=rows, depot=chicago)
    assert result.created == 3000
    rows[0]["language"] = "es"
    with django_assert_max_num_queries(12):
        result = recipients_import(rows=rows, depot=chicago)
    assert (result.updated, result.unchanged) == (1, 2999)


def test_a_token_limited_to_a_depot_reads_and_writes_only_its_own_recipients(maria, chicago, milwaukee):
    OrderFactory(recipient=maria, depot=chicago)
    theirs = RecipientFactory(depot=milwaukee, external_id="CRM-2", name="Oren Milwaukee", phone="+14145550188")
    OrderFactory(recipient=theirs, depot=milwaukee)
    _, key = api_token_issue(
        user=UserFactory(username="mke-crm"), kind=ApiToken.Kind.INTEGRATION, name="MKE CRM", depot=milwaukee
    )
    mke = APIClient()
    mke.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    response = mke.post(
        "/api/v1/recipients/import",
        json.dumps(
            {
                "recipients": [
                    {"external_id": "CRM-1", "phone": "+13125550999"},  # Chicago's Maria's id: not theirs
                    {"external_id": "CRM-2", "language": "es"},
                    {"external_id": "CRM-3", "name": "New Person"},
                ]
            }
        ),
        content_type="application/json",
    )

    # CRM-1 is a name in Milwaukee's namespace like any other: without a name it cannot be created, and the
    # answer is the one an unused id gets. Chicago's Maria is neither read nor changed.
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["created"], body["updated"]) == (1, 1)
    assert body["errors"] == [
        {"row": 0, "external_id": "CRM-1", "fields": {"name": ["This field is required to create a recipient."]}}
    ]
    maria.refresh_from_db()
    assert str(maria.phone) == "+13125550142"
    theirs.refresh_from_db()
    assert theirs.language == "es"
    assert Recipient.objects.get(external_id="CRM-3").depot == milwaukee


def test_the_same_crm_id_in_two_depots_is_two_recipients(crm, maria, milwaukee):
    response = crm.post(
        "/api/v1/recipients/import?depot=mke",
        json.dumps({"recipients": [{"external_id": "CRM-1", "name": "Maria Milwaukee", "phone": "+14145550100"}]}),
        content_type="application/json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["created"] == 1
    assert sorted(Recipient.objects.filter(external_id="CRM-1").values_list("depot__code", "name")) == [
        ("chi-west", "Maria Lopez"),
        ("mke", "Maria Milwaukee"),
    ]


def test_an_unlimited_integration_names_the_depot(crm, maria, milwaukee):
    rows = json.dumps({"recipients": [{"external_id": "CRM-1", "language": "es"}]})

    missing = crm.post("/api/v1/recipients/import", rows, content_type="application/json")
    unknown = crm.post("/api/v1/recipients/import?depot=nowhere", rows, content_type="application/json")

    assert missing.status_code == unknown.status_code == 400
    assert "required" in missing.json()["fields"]["depot"][0]
    assert unknown.json()["fields"]["depot"] == ["No depot with code 'nowhere'."]
    maria.refresh_from_db()
    assert maria.language == "en"


def test_a_limited_token_cannot_name_another_depot(chicago, milwaukee, maria):
    _, key = api_token_issue(
        user=UserFactory(username="mke-crm"), kind=ApiToken.Kind.INTEGRATION, name="MKE CRM", depot=milwaukee
    )
    mke = APIClient()
    mke.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    response = send(mke, [{"external_id": "CRM-1", "language": "es"}])

    assert response.status_code == 403
    assert response.json()["code"] == "depot_not_allowed"
    maria.refresh_from_db()
    assert maria.language == "en"
