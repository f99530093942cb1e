"""Plan import, malformed input: a 400 (or a 413) that names the bad value's path, never a 500; an
unreadable dry-run flag is a 400, not an import. And the documentation: the fields documented are exactly
those validated, the schema describes the endpoints, the deferred constraint is the one the import names.

Personas: the planner is Chicago's route planner (an integration token); Dave
and Erin drive for Chicago.
"""

from __future__ import annotations

import json

import pytest
from django.db.models import UniqueConstraint

from dispatch.api.plans import (
    PlanAccessCodeInput,
    PlanAddressInput,
    PlanImportView,
    PlanOrderInput,
    PlanRecipientInput,
    PlanRunInput,
    PlanStopInput,
)
from dispatch.models import Run, Stop
from dispatch.services import plans
from tests.dispatch.plans import URL, row_counts, send, the_day

pytestmark = pytest.mark.django_db


# --- Malformed input is a 400, never a 500 -----------------------------------------------------------


def test_it_answers_malformed_json_with_a_400(planner):
    response = planner.post(URL, '{"depot": "chi-west", "runs": [', content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


HEAD = {"depot": "chi-west", "service_date": "2030-03-04"}


@pytest.mark.parametrize(
    ("document", "path", "message"),
    [
        ([], "non_field_errors", "Invalid data. Expected a dictionary, but got list."),
        ("plan", "non_field_errors", "Invalid data. Expected a dictionary, but got str."),
        (HEAD, "runs", "This field is required."),
        ({**HEAD, "runs": []}, "runs", "This list may not be empty."),
        ({**HEAD, "runs": {}}, "runs", 'Expected a list of items but got type "dict".'),
        ({**HEAD, "runs": [[]]}, "runs[0]", "Invalid data. Expected a dictionary, but got list."),
        (
            {**HEAD, "service_date": "04/03/2030", "runs": [{}]},
            "service_date",
            "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.",
        ),
        ({**HEAD, "depot": None, "runs": [{}]}, "depot", "This field may not be null."),
        ({**HEAD, "depot": ["chi-west"], "runs": [{}]}, "depot", "Not a valid string."),
    ],
)
def test_it_answers_a_document_of_the_wrong_shape_with_a_400(planner, document, path, message):
    response = send(planner, document)

    assert response.status_code == 400
    assert response.json()["fields"][path] == [message]


def test_it_refuses_nan_and_an_oversized_body(planner, dave, erin, monkeypatch):
    document = json.dumps(the_day(dave, erin))
    response = planner.post(URL, document.replace("41.9081", "NaN", 1), content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"] == "JSON parse error - NaN is not valid JSON"

    monkeypatch.setattr("dispatch.api.plans.MAX_BODY_BYTES", 1000)
    response = planner.post(URL, document, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert not Run.objects.exists()


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        (lambda s: s.update(order="LM-1"), "order", "Invalid data. Expected a dictionary, but got str."),
        (lambda s: s.update(sequence=True), "sequence", "A valid integer is required."),
        (lambda s: s.update(sequence="2.5"), "sequence", "A valid integer is required."),
        (lambda s: s.update(sequence=0), "sequence", "Ensure this value is greater than or equal to 1."),
        (lambda s: s.update(planned_arrival="2030-03-04T08:00:00"), "planned_arrival",
         "Include the UTC offset, e.g. 2026-11-21T08:00:00-06:00 or 2026-11-21T14:00:00Z."),
        (lambda s: s.update(planned_arrival="tomorrow"), "planned_arrival", plans.DATETIME_FORMAT_MESSAGE),
        (lambda s: s["order"].update(reference="LM 1"), "order.reference",
         "Use letters, digits, dots, dashes or slashes, e.g. LM-88204."),
        (lambda s: s["order"].update(reference="LM-\x00"), "order.reference", "Null characters are not allowed."),
        (lambda s: s["order"].update(declared_value="12.345"), "order.declared_value",
         "Ensure that there are no more than 2 decimal places."),
        (lambda s: s["order"].update(declared_value="NaN"), "order.declared_value", "A valid number is required."),
        (lambda s: s["order"].update(declared_value=-1), "order.declared_value",
         "Ensure this value is greater than or equal to 0."),
        (lambda s: s["order"].update(signature_required="maybe"), "order.signature_required",
         "Must be a valid boolean."),
        (lambda s: s["order"].pop("window_end"), "order.window_end",
         "Give both window_start and window_end, or neither."),
        (lambda s: s["order"]["address"].update(longitude="east"), "order.address.longitude",
         "A valid number is required."),
        (lambda s: s["order"]["address"].update(country="USA"), "order.address.country",
         "Ensure this field has no more than 2 characters."),
        (lambda s: s["order"]["recipient"].update(email="not-an-email"), "order.recipient.email",
         "Enter a valid email address."),
        (lambda s: s["order"].update(access_codes={"kind": "gate"}), "order.access_codes",
         'Expected a list of items but got type "dict".'),
        (lambda s: s["order"].update(access_codes=[{"kind": "gate", "code": "1", "valid_from": "2030-03-05T00:00Z",
                                                     "valid_to": "2030-03-04T00:00Z"}]),
         "order.access_codes[0].valid_to", "The validity must start before it ends."),
    ],
)  # fmt: skip
def test_it_reports_a_bad_value_at_its_path(planner, dave, erin, change, path, message):
    document = the_day(dave, erin)
    change(document["runs"][1]["stops"][0])

    response = send(planner, document)

    assert response.status_code == 400
    assert response.json()["fields"] == {f"runs[1].stops[0].{path}": [message]}


@pytest.mark.parametrize("value", ["ture", "null", "2"])
def test_a_dry_run_flag_it_cannot_read_is_a_400_not_an_import(planner, dave, erin, value):
    response = send(planner, the_day(dave, erin), dry_run=value)

    assert response.status_code == 400
    assert response.json()["fields"]["dry_run"] == ["Must be a valid boolean."]
    assert row_counts() == {name: 0 for name in row_counts()}


# --- Documentation -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("serializer", "spec"),
    [
        (PlanRunInput, {**plans.RUN_FIELDS, "stops": plans._F(plans._text(1), required=True)}),
        (PlanStopInput, {**plans.STOP_FIELDS, "order": plans._F(plans._text(1), required=True)}),
        (
            PlanOrderInput,
            {
                **plans.ORDER_FIELDS,
                "recipient": plans._F(plans._text(1), required=True),
                "address": plans._F(plans._text(1), required=True),
                "access_codes": plans._F(plans._text(1)),
            },
        ),
        (PlanRecipientInput, plans.RECIPIENT_FIELDS),
        (PlanAddressInput, plans.ADDRESS_FIELDS),
        (PlanAccessCodeInput, plans.ACCESS_CODE_FIELDS),
        (
            PlanImportView.InputSerializer,
            {
                "depot": plans._F(plans._text(1), required=True),
                "service_date": plans._F(plans._date, required=True),
                "runs": plans._F(plans._text(1), required=True),
            },
        ),
    ],
)
def test_it_documents_exactly_the_fields_it_validates(serializer, spec):
    fields = serializer().fields
    assert set(fields) == set(spec)
    assert {name for name, field in fields.items() if field.required} == {
        name for name, field in spec.items() if field.required
    }


def test_it_describes_the_plan_endpoints_in_the_schema(admin_client):
    response = admin_client.get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    schema = json.loads(response.content)
    operation = schema["paths"]["/api/v1/plans"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PlanImportRequest"
    }
    assert set(operation["responses"]) >= {"200", "201", "400", "401", "403", "409"}
    stop = schema["components"]["schemas"]["PlanStopRequest"]
    assert "after the last attempted one" in stop["properties"]["sequence"]["description"]
    recipients = schema["paths"]["/api/v1/recipients/import"]["post"]["requestBody"]["content"]
    assert set(recipients) == {"application/json", "text/csv"}


def test_it_defers_the_constraint_it_names():
    [constraint] = [c for c in Stop._meta.constraints if c.name == plans.SEQUENCE_CONSTRAINT]
    assert isinstance(constraint, UniqueConstraint)
    assert constraint.deferrable is not None
