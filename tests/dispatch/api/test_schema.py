"""The OpenAPI contract and its docs."""

from __future__ import annotations

import json
import re

import pytest
from rest_framework.test import APIClient

from dispatch.api.errors import flatten
from dispatch.models import LocationBatch

pytestmark = pytest.mark.django_db


def test_it_serves_an_openapi_3_schema_with_every_driver_operation():
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert {
        "/api/v1/driver/run",
        "/api/v1/driver/stops/{stop_id}/scans",
        "/api/v1/driver/stops/{stop_id}/access-code/reveal",
        "/api/v1/driver/locations",
        "/api/v1/driver/instructions",
        "/api/v1/driver/instructions/{instruction_id}/ack",
        "/api/v1/plans",
        "/api/v1/recipients/import",
    } <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}


def test_it_serves_the_docs_page_without_a_cdn(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert "swagger-ui" in response.content.decode()
    assert "cdn.jsdelivr" not in response.content.decode()


def test_it_flattens_nested_errors_to_json_paths():
    errors = {"runs": [{}, {"stops": {2: {"order": {"reference": ["Required."]}}}}], "depot": ["Unknown."]}
    assert flatten(errors) == {"runs[1].stops[2].order.reference": ["Required."], "depot": ["Unknown."]}


def operation(path: str, method: str) -> dict:
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    return schema["paths"][path][method]


def test_the_feed_cursor_is_one_type_in_and_out():
    feed = operation("/api/v1/driver/instructions", "get")
    (after,) = [parameter for parameter in feed["parameters"] if parameter["name"] == "after"]
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    assert after["schema"]["type"] == "string"
    assert schema["components"]["schemas"]["InstructionFeedOutput"]["properties"]["next_cursor"]["type"] == "string"


def test_a_gps_batch_is_json_only():
    assert list(operation("/api/v1/driver/locations", "post")["requestBody"]["content"]) == ["application/json"]


def test_a_form_encoded_gps_batch_is_refused_with_a_415(dave):
    from tests.helpers import client_for

    response = client_for(dave.user).post(
        "/api/v1/driver/locations", "pings=1", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert not LocationBatch.objects.exists()
    dave.refresh_from_db()
    assert dave.last_seen_at is None


def test_the_headers_a_client_reads_are_described():
    run, scan = operation("/api/v1/driver/run", "get"), operation("/api/v1/driver/stops/{stop_id}/scans", "post")

    assert set(run["responses"]["200"]["headers"]) == {"ETag", "Cache-Control"}
    reveal = operation("/api/v1/driver/stops/{stop_id}/access-code/reveal", "post")
    assert set(reveal["responses"]["200"]["headers"]) == {"Cache-Control"}
    assert set(run["responses"]["304"]["headers"]) == {"ETag"}
    assert set(scan["responses"]["201"]["headers"]) == {"Idempotent-Replayed"}
    for path, method in (
        ("/api/v1/driver/run", "get"),
        ("/api/v1/plans", "post"),
        ("/api/v1/driver/locations", "post"),
    ):
        assert set(operation(path, method)["responses"]["429"]["headers"]) == {"Retry-After"}, path


def test_no_operation_declares_one_body_under_two_content_types():
    # A body declared under several content types with one schema makes generated clients that do not import
    # (openapi-python-client) or send None as "None": each operation has one, or truly different ones.
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    doubled = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            content = (operation.get("requestBody") or {}).get("content", {})
            bodies = [json.dumps(body.get("schema"), sort_keys=True) for body in content.values()]
            if len(bodies) != len(set(bodies)):
                doubled.append(f"{method.upper()} {path}: {sorted(content)}")

    assert doubled == []


def test_a_scan_is_declared_as_a_form_with_nothing_nullable():
    scan = operation("/api/v1/driver/stops/{stop_id}/scans", "post")
    (content_type,) = scan["requestBody"]["content"]
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    form = schema["components"]["schemas"]["ScanFormRequest"]

    assert content_type == "multipart/form-data"
    assert not [name for name, field in form["properties"].items() if field.get("nullable")]


def test_fixed_values_are_enums_with_one_name_each():
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    components = schema["components"]["schemas"]

    for name, values in (
        ("StopStatusEnum", {"pending", "failed", "delivered"}),
        ("RunStatusEnum", {"planned", "in_progress"}),
        ("ScanOutcomeEnum", {"delivered", "failed"}),
        ("AccessCodeKindEnum", {"gate", "door"}),
        ("BuildingTypeEnum", {"house", "multi_unit"}),
    ):
        assert values <= set(components[name]["enum"]), name
    # drf-spectacular names a clash with a hash ("Status905Enum"): each choice set has its own name instead.
    assert [name for name in components if re.search(r"[0-9a-f]{3}Enum$", name)] == []


def test_the_limits_are_schema_constraints():
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    pings = schema["components"]["schemas"]["LocationsInputRequest"]["properties"]["pings"]
    scan = operation("/api/v1/driver/stops/{stop_id}/scans", "post")
    (key,) = [parameter for parameter in scan["parameters"] if parameter["name"] == "Idempotency-Key"]

    assert (pings["minItems"], pings["maxItems"]) == (1, 500)
    assert (key["schema"]["minLength"], key["schema"]["maxLength"], key["required"]) == (1, 64, True)


def test_each_driver_operation_lists_the_error_codes_it_answers():
    reveal = operation("/api/v1/driver/stops/{stop_id}/access-code/reveal", "post")["responses"]
    scan = operation("/api/v1/driver/stops/{stop_id}/scans", "post")["responses"]

    assert "`stop_not_found`" in reveal["404"]["description"]
    assert "`no_code_on_file`" in reveal["404"]["description"]
    assert "`outside_radius`" in reveal["403"]["description"]
    assert "`idempotency_key_reused`" in scan["409"]["description"]
    assert "`stop_not_active`" in scan["409"]["description"]


def test_what_is_always_sent_is_required_and_bodies_and_csv_are_said_right():
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    components = schema["components"]["schemas"]
    metrics = operation("/api/v1/metrics", "get")["responses"]

    for variant in ("CaseInstruction", "SkipInstruction", "RouteUpdatedInstruction", "NoteInstruction"):
        assert {"created_at", "payload", "acked_at", "kind"} <= set(components[variant]["required"]), variant
    assert operation("/api/v1/recipients/import", "post")["requestBody"]["required"] is True
    assert metrics["200"]["content"]["text/csv"]["schema"] == {"type": "string"}
    assert "sign in" in metrics["401"]["description"]


def test_an_instruction_is_one_shape_per_kind_told_apart_by_kind():
    from dispatch.models import DriverInstruction

    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    instruction = schema["components"]["schemas"]["Instruction"]
    route = schema["components"]["schemas"]["RoutePayload"]

    assert instruction["discriminator"]["propertyName"] == "kind"
    assert set(instruction["discriminator"]["mapping"]) == set(DriverInstruction.Kind.values)
    assert {"run_id", "plan_version"} <= set(route["required"])


def test_the_integration_operations_list_their_error_codes():
    plans = operation("/api/v1/plans", "post")["responses"]

    assert "`depot_not_allowed`" in plans["403"]["description"]
    assert "`plan_conflict`" in plans["409"]["description"]
    assert "`payload_too_large`" in plans["413"]["description"]
    assert "`parse_error`" in operation("/api/v1/recipients/import", "post")["responses"]["400"]["description"]
