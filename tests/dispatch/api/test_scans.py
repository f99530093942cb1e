"""POST /api/v1/driver/stops/{id}/scans: failed scans open cases; replays change nothing."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from dispatch.models import Driver, Order, Run, ScanEvent, Stop
from exceptions.models import CaseEvent, ExceptionCase

pytestmark = pytest.mark.django_db


def scan_url(stop) -> str:
    return f"/api/v1/driver/stops/{stop.pk}/scans"


def failed(reason="ACCESS_DENIED", **extra):
    return {"outcome": "failed", "reason_code": reason, "device_time": timezone.now().isoformat(), **extra}


def post_scan(client, stop, body, key="scan-1", fmt="json"):
    return client.post(scan_url(stop), body, format=fmt, HTTP_IDEMPOTENCY_KEY=key)


def test_it_records_a_failed_scan_and_opens_a_case(dave_api, dave_run):
    stop = dave_run.stops.get(sequence=1)
    response = post_scan(dave_api, stop, failed(latitude=41.9, longitude=-87.67))
    assert response.status_code == 201, response.json()
    body = response.json()
    case = ExceptionCase.objects.get()
    assert body == {
        "scan_id": ScanEvent.objects.get().pk,
        "stop_id": stop.pk,
        "outcome": "failed",
        "reason_code": "ACCESS_DENIED",
        "attempt": 1,
        "stop_status": "failed",
        "case_id": case.pk,
    }
    stop.refresh_from_db()
    assert (stop.status, stop.attempt_count) == (Stop.Status.FAILED, 1)
    assert stop.order.status == Order.Status.ATTEMPT_FAILED
    assert (case.stop, case.reason_code.code, case.state) == (stop, "ACCESS_DENIED", "opened")
    assert CaseEvent.objects.filter(case=case, kind="scan").count() == 1


def test_the_runs_first_scan_puts_it_on_the_road(dave_api, dave_run):
    Run.objects.filter(pk=dave_run.pk).update(status=Run.Status.PLANNED)
    first, second = dave_run.stops.order_by("sequence")[:2]
    delivered = {"outcome": "delivered", "device_time": timezone.now().isoformat()}

    assert post_scan(dave_api, first, delivered).status_code == 201
    dave_run.refresh_from_db()
    assert dave_run.status == Run.Status.IN_PROGRESS
    Run.objects.filter(pk=dave_run.pk).update(status=Run.Status.COMPLETED)
    assert post_scan(dave_api, second, failed(), key="scan-2").status_code == 201
    dave_run.refresh_from_db()
    assert dave_run.status == Run.Status.COMPLETED  # only a planned run is started


def test_it_records_a_delivery_without_a_case(dave_api, dave_run):
    stop = dave_run.stops.get(sequence=1)
    response = post_scan(dave_api, stop, {"outcome": "delivered", "device_time": timezone.now().isoformat()})
    assert response.status_code == 201
    assert response.json()["case_id"] is None
    stop.refresh_from_db()
    assert stop.status == "delivered"
    assert stop.order.status == "delivered"
    assert not ExceptionCase.objects.exists()


def test_it_answers_a_replay_with_the_first_response_and_creates_nothing(dave_api, dave_run):
    stop = dave_run.stops.get(sequence=1)
    body = failed()
    first = post_scan(dave_api, stop, body, key="same")
    replay = post_scan(dave_api, stop, body, key="same")
    assert replay.status_code == first.status_code == 201
    assert replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true"
    assert ScanEvent.objects.count() == 1
    assert ExceptionCase.objects.count() == 1
    stop.refresh_from_db()
    assert stop.attempt_count == 1


def test_it_replays_even_after_the_stop_moved_on(dave_api, dave_run):
    stop = dave_run.stops.get(sequence=1)
    delivered = {"outcome": "delivered", "device_time": timezone.now().isoformat()}
    first = post_scan(dave_api, stop, delivered, key="d1")
    assert post_scan(dave_api, stop, delivered, key="d1").json() == first.json()


def test_it_refuses_a_reused_key_with_a_different_scan(dave_api, dave_run):
    stop = dave_run.stops.get(sequence=1)
    post_scan(dave_api, stop, failed("ACCESS_DENIED"), key="k")
    response = post_scan(dave_api, stop, failed("RECIPIENT_ABSENT"), key="k")
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_reused"
    assert ScanEvent.objects.count() == 1


def test_it_requires_an_idempotency_key(dave_api, dave_run):
    response = dave_api.post(scan_url(dave_run.stops.first()), failed(), format="json")
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["fields"]


def test_it_lists_the_valid_codes_for_an_unknown_reason(dave_api, dave_run):
    response = post_scan(dave_api, dave_run.stops.first(), failed("DOG_IN_YARD"))
    assert response.status_code == 400
    message = response.json()["fields"]["reason_code"][0]
    assert message.startswith("Unknown reason code 'DOG_IN_YARD'. Valid codes: ")
    assert "ACCESS_DENIED" in message
    assert "WRONG_ACCESS_CODE" in message
    assert not ScanEvent.objects.exists()


def test_it_requires_a_reason_for_a_failed_scan(dave_api, dave_run):
    response = post_scan(dave_api, dave_run.stops.first(), failed(reason=""))
    assert response.status_code == 400
    assert response.json()["fields"] == {"reason_code": ["A failed scan needs a reason code."]}


def test_it_requires_a_photo_where_the_reason_demands_one(dave_api, dave_run):
    response = post_scan(dave_api, dave_run.stops.first(), failed("GATE_CLOSED"))
    assert response.status_code == 400
    assert response.json()["fields"] == {"photo": ["GATE_CLOSED needs a photo of the problem."]}
    assert not ScanEvent.objects.exists()


def test_it_accepts_a_photo_as_multipart(dave_api, dave_run, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    photo = SimpleUploadedFile("gate.jpg", b"\xff\xd8\xff\xe0fake-jpeg", content_type="image/jpeg")
    response = post_scan(dave_api, dave_run.stops.first(), failed("GATE_CLOSED", photo=photo), fmt="multipart")
    assert response.status_code == 201, response.json()
    scan = ScanEvent.objects.get()
    assert scan.photo.name.startswith(f"scans/{scan.driver_id}/")
    assert (tmp_path / scan.photo.name).exists()


def test_it_refuses_a_photo_that_is_not_an_image(dave_api, dave_run):
    doc = SimpleUploadedFile("gate.pdf", b"%PDF-1.4", content_type="application/pdf")
    response = post_scan(dave_api, dave_run.stops.first(), failed("GATE_CLOSED", photo=doc), fmt="multipart")
    assert response.status_code == 400
    assert response.json()["fields"]["photo"] == ["Send the photo as JPEG, PNG or HEIC."]


def test_it_refuses_a_position_with_only_a_latitude(dave_api, dave_run):
    response = post_scan(dave_api, dave_run.stops.first(), failed(latitude=41.9))
    assert response.status_code == 400
    assert "longitude" in response.json()["fields"]


def test_it_refuses_a_latitude_off_the_globe(dave_api, dave_run):
    response = post_scan(dave_api, dave_run.stops.first(), failed(latitude=200, longitude=10))
    assert response.status_code == 400
    assert "latitude" in response.json()["fields"]


def test_it_answers_malformed_json_with_a_400(dave_api, dave_run):
    response = dave_api.post(
        scan_url(dave_run.stops.first()), "{not json", content_type="application/json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_it_hides_another_drivers_stop(erin_api, dave_run):
    stop = dave_run.stops.first()
    response = post_scan(erin_api, stop, failed())
    assert response.status_code == 404
    assert not ScanEvent.objects.exists()
    stop.refresh_from_db()
    assert stop.attempt_count == 0


def test_it_refuses_a_scan_on_a_stop_already_delivered(dave_api, dave_run):
    stop = dave_run.stops.first()
    post_scan(dave_api, stop, {"outcome": "delivered", "device_time": timezone.now().isoformat()}, key="a")
    response = post_scan(dave_api, stop, failed(), key="b")
    assert response.status_code == 409
    assert response.json()["code"] == "stop_not_active"
    assert "already delivered" in response.json()["detail"]


def test_it_adds_a_second_failure_to_the_open_case(dave_api, dave_run):
    stop = dave_run.stops.first()
    first = post_scan(dave_api, stop, failed(), key="a").json()
    second = post_scan(dave_api, stop, failed("WRONG_ACCESS_CODE"), key="b").json()
    assert second["case_id"] == first["case_id"]
    assert second["attempt"] == 2
    assert ExceptionCase.objects.count() == 1
    assert CaseEvent.objects.filter(case_id=first["case_id"], kind="scan").count() == 2


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_records_one_scan_when_the_same_key_arrives_twice_at_once(dave, dave_run):
    from tests.helpers import client_for

    stop = dave_run.stops.first()
    body = failed()
    barrier = threading.Barrier(2)
    responses = []

    def send() -> None:
        client = client_for(dave.user)
        barrier.wait()
        responses.append(post_scan(client, stop, body, key="twin"))
        connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(r.status_code for r in responses) == [201, 201]
    assert responses[0].json() == responses[1].json()
    assert ScanEvent.objects.filter(stop=stop).count() == 1
    assert ExceptionCase.objects.filter(stop=stop).count() == 1


def test_it_queues_the_integration_events_of_a_failed_scan(dave_api, dave_run, django_capture_on_commit_callbacks):
    from dispatch.models import WebhookDelivery, WebhookEndpoint

    WebhookEndpoint.objects.create(
        name="CRM",
        url="https://crm.example.com/hooks",
        secret="s" * 16,
        events=["scan.failed", "case.opened", "order.status_changed", "case.resolved"],
    )
    stop = dave_run.stops.first()
    with django_capture_on_commit_callbacks() as callbacks:
        response = post_scan(dave_api, stop, failed())
    assert response.status_code == 201
    events = sorted(WebhookDelivery.objects.values_list("event", flat=True))
    assert events == ["case.opened", "order.status_changed", "scan.failed"]
    scan_failed = WebhookDelivery.objects.get(event="scan.failed")
    assert scan_failed.payload["order"] == stop.order.reference
    assert scan_failed.payload["case_id"] == response.json()["case_id"]
    assert callbacks, "delivery is enqueued after commit"


def test_it_queues_nothing_for_a_replay(dave_api, dave_run):
    from dispatch.models import WebhookDelivery, WebhookEndpoint

    WebhookEndpoint.objects.create(name="CRM", url="https://crm.example.com/h", secret="s" * 16, events=["scan.failed"])
    stop = dave_run.stops.first()
    post_scan(dave_api, stop, failed(), key="r")
    post_scan(dave_api, stop, failed(), key="r")
    assert WebhookDelivery.objects.count() == 1


def test_a_failed_scan_is_recorded_in_a_fixed_number_of_queries(dave, dave_run, django_assert_num_queries):
    # The scan, the stop and order with their statuses, the case and its first event, the board row and the
    # integrations' events (looked up once for the three), the run put on the road: the hot path of intake.
    from dispatch.models import ReasonCode, WebhookEndpoint
    from dispatch.services import scans

    WebhookEndpoint.objects.create(
        name="CRM",
        url="https://crm.example.com/hooks",
        secret="s" * 16,
        events=["scan.failed", "case.opened", "order.status_changed"],
    )
    stop = dave_run.stops.first()
    reason = ReasonCode.objects.get(code="ACCESS_DENIED")
    with django_assert_num_queries(13):
        scans.scan_record(
            driver=dave,
            stop_id=stop.pk,
            outcome=ScanEvent.Outcome.FAILED,
            reason=reason,
            device_time=timezone.now(),
            latitude=None,
            longitude=None,
            notes="",
            photo=None,
            idempotency_key="fixed-queries",
        )


def test_a_scan_made_at_the_door_is_the_drivers_freshest_position(dave_api, dave, dave_run):
    stop = dave_run.stops.first()
    earlier = timezone.now() - dt.timedelta(minutes=5)
    Driver.objects.filter(pk=dave.pk).update(last_latitude=41.99, last_longitude=-87.70, last_seen_at=earlier)
    body = failed("RECIPIENT_ABSENT", latitude=41.9045, longitude=-87.6299)

    assert post_scan(dave_api, stop, body).status_code == 201

    dave.refresh_from_db()
    assert (dave.last_latitude, dave.last_longitude) == (pytest.approx(41.9045), pytest.approx(-87.6299))
    # A scan replayed from a basement, older than the newest ping, does not move the driver back.
    newer = timezone.now()
    Driver.objects.filter(pk=dave.pk).update(last_latitude=41.88, last_longitude=-87.63, last_seen_at=newer)
    late = failed("RECIPIENT_ABSENT", latitude=41.95, longitude=-87.65, device_time=earlier.isoformat())
    assert post_scan(dave_api, dave_run.stops.last(), late, key="scan-late").status_code == 201
    dave.refresh_from_db()
    assert (dave.last_latitude, dave.last_seen_at) == (pytest.approx(41.88), newer)
