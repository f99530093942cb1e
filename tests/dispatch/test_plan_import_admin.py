"""The admin's CSV plan upload: the same rules as the API, errors by row and column, nothing saved on error.

Personas: an admin uploads Chicago's day; Alice dispatches (no right to add
runs); Dave and Erin drive for Chicago.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from dispatch.models import AccessCredential, Order, Recipient, Run, Stop
from tests.factories import local

pytestmark = pytest.mark.django_db

DAY = dt.date(2030, 3, 4)
URL = "/admin/dispatch/run/import-plan/"
HEADER = [
    "run_ref",
    "driver",
    "shift_start",
    "shift_end",
    "sequence",
    "order_reference",
    "recipient_external_id",
    "recipient_name",
    "phone",
    "language",
    "address_ref",
    "line1",
    "unit",
    "city",
    "postal_code",
    "latitude",
    "longitude",
    "window_start",
    "window_end",
    "declared_value",
    "signature_required",
    "safe_drop_allowed",
    "neighbour_allowed",
    "access_code_kind",
    "access_code",
]


def a_row(run: str, driver: str, sequence: int, reference: str, **changes: str) -> dict[str, str]:
    row = {
        "run_ref": run,
        "driver": driver,
        "shift_start": "08:00",
        "shift_end": "17:00",
        "sequence": str(sequence),
        "order_reference": reference,
        "recipient_external_id": f"C-{reference}",
        "recipient_name": f"Customer {reference}",
        "phone": "(312) 555-0142",
        "language": "es",
        "address_ref": f"A-{reference}",
        "line1": "1450 N Milwaukee Ave",
        "unit": "3B",
        "city": "Chicago",
        "postal_code": "60622",
        "latitude": "41.9081",
        "longitude": "-87.6755",
        "window_start": "09:00",
        "window_end": "12:00",
        "declared_value": "45.00",
        "signature_required": "no",
        "safe_drop_allowed": "yes",
        "neighbour_allowed": "1",
        "access_code_kind": "",
        "access_code": "",
    }
    row.update(changes)
    return row


def a_file(rows: list[dict[str, str]], header: list[str] = HEADER) -> SimpleUploadedFile:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return SimpleUploadedFile("plan.csv", out.getvalue().encode("utf-8-sig"), content_type="text/csv")


def the_day() -> list[dict[str, str]]:
    return [
        a_row("R-DAVE", "dave", 1, "LM-1", access_code_kind="gate", access_code="4821#"),
        a_row("R-DAVE", "", 2, "LM-2", shift_start="", shift_end=""),
        a_row("R-ERIN", "erin", 1, "LM-3", signature_required="true"),
    ]


@pytest.fixture
def staff(client, admin_user) -> Client:
    client.force_login(admin_user)
    return client


def upload(client: Client, rows: list[dict[str, str]], *, depot, **extra: object):
    data = {"depot": depot.pk, "service_date": DAY.isoformat(), "file": a_file(rows), **extra}
    return client.post(URL, data)


def problems(response) -> list[str]:
    return [str(problem) for problem in response.context["problems"]]


def test_it_links_the_upload_from_the_run_list(staff):
    response = staff.get(reverse("admin:dispatch_run_changelist"))

    assert response.status_code == 200
    assert URL in response.content.decode()
    assert "Import a plan (CSV)" in response.content.decode()


def test_it_shows_the_upload_form_with_the_columns(staff, chicago):
    response = staff.get(URL)

    assert response.status_code == 200
    page = response.content.decode()
    assert 'enctype="multipart/form-data"' in page
    assert "<code>recipient_external_id</code>" in page
    assert "<code>access_code</code>" in page


def test_it_imports_a_day_from_csv(staff, chicago, dave, erin):
    response = upload(staff, the_day(), depot=chicago)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:dispatch_run_changelist"))
    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    assert message.startswith("Imported the plan for chi-west on 2030-03-04. runs: 2 created; stops: 3 created;")
    run = Run.objects.get(external_ref="R-DAVE")
    assert (run.driver, run.shift_start, run.shift_end) == (dave, local(8, 0, DAY), local(17, 0, DAY))
    assert list(run.stops.order_by("sequence").values_list("order__reference", flat=True)) == ["LM-1", "LM-2"]
    order = Order.objects.select_related("recipient", "address").get(reference="LM-1")
    assert (order.window_start, order.window_end) == (local(9, 0, DAY), local(12, 0, DAY))
    assert (order.signature_required, order.safe_drop_allowed, order.neighbour_allowed) == (False, True, True)
    assert (str(order.recipient.phone), order.recipient.language, order.address.unit) == ("+13125550142", "es", "3B")
    assert Order.objects.get(reference="LM-3").signature_required is True
    assert AccessCredential.objects.get(address=order.address).secret == "4821#"
    assert Stop.objects.get(order__reference="LM-3").run.driver == erin

    # The same file again changes nothing.
    response = upload(staff, the_day(), depot=chicago)
    message = [str(m) for m in get_messages(response.wsgi_request)][-1]
    assert "runs: 2 unchanged; stops: 3 unchanged;" in message


def test_it_shows_each_bad_row_and_saves_nothing(staff, chicago, dave, erin):
    rows = [
        *the_day(),
        a_row("R-ERIN", "", 2, "LM-4", phone="555-12"),
        a_row("R-ERIN", "", 3, "LM-5", latitude="95", window_end="08:00"),
        a_row("R-ERIN", "dave", 4, "LM-6"),
    ]

    response = upload(staff, rows, depot=chicago)

    assert response.status_code == 200
    assert problems(response) == [
        "Row 5, phone: The phone number entered is not valid.",
        "Row 6, latitude: Latitude must be between -90 and 90.",
        "Row 6, window_end: The window must start before it ends.",
        "Row 7, driver: Differs from row 4 of run 'R-ERIN' (erin).",
    ]
    assert "Nothing was saved: the file has 4 problems." in response.content.decode()
    assert "Row 5, phone: The phone number entered is not valid." in response.content.decode()
    assert not Run.objects.exists()
    assert not Order.objects.exists()
    assert not Recipient.objects.exists()


def test_it_points_database_errors_at_their_row(staff, chicago, dave, erin, oscar):
    rows = the_day()
    rows[2]["driver"] = "oscar"
    rows[1]["sequence"] = "1"

    response = upload(staff, rows, depot=chicago)

    assert problems(response) == [
        "Row 3, sequence: Sequence 1 is also used by runs[0].stops[0].",
        "Row 4, driver: oscar drives for another depot (mke), not chi-west.",
    ]


def test_it_explains_a_file_with_the_wrong_columns(staff, chicago):
    response = upload_raw(staff, "run,phnoe\nR-1,x\n", depot=chicago)

    assert problems(response)[0].startswith("Row 1: Unknown columns: run, phnoe.")
    assert problems(response)[1].startswith("Row 1: Missing columns: run_ref, driver,")
    assert not Run.objects.exists()


def test_it_explains_an_empty_file(staff, chicago):
    assert upload_raw(staff, "", depot=chicago).context["form"].errors["file"] == ["The submitted file is empty."]
    assert problems(upload_raw(staff, "\n", depot=chicago)) == [
        "The file is empty: expected a header row, then one row per stop."
    ]
    assert problems(upload_raw(staff, ",".join(HEADER) + "\n", depot=chicago)) == [
        "Row 2: The file has a header but no stops."
    ]


def test_it_refuses_a_file_that_is_not_utf8(staff, chicago):
    response = staff.post(
        URL,
        {
            "depot": chicago.pk,
            "service_date": DAY.isoformat(),
            "file": SimpleUploadedFile("plan.csv", "run_ref,phone\nR-1,café\n".encode("cp1252")),
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors["file"] == ['The file is not UTF-8 text: save it as "CSV UTF-8".']


def test_it_can_only_check_a_file(staff, chicago, dave, erin):
    response = upload(staff, the_day(), depot=chicago, dry_run="on")

    assert response.status_code == 200
    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    assert message.startswith("Checked (nothing saved) the plan for chi-west on 2030-03-04.")
    assert not Run.objects.exists()


def test_it_is_only_for_staff_who_may_add_runs(client, alice, chicago):
    client.force_login(alice)  # a dispatcher: staff, but may not add runs

    assert client.get(URL).status_code == 403
    page = client.get(reverse("admin:dispatch_run_changelist")).content.decode()
    assert URL not in page


def test_it_sends_anonymous_visitors_to_the_login_page(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def upload_raw(client: Client, text: str, *, depot):
    return client.post(
        URL,
        {
            "depot": depot.pk,
            "service_date": DAY.isoformat(),
            "file": SimpleUploadedFile("plan.csv", text.encode()),
        },
    )
