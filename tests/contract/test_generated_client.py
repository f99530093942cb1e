"""The API as an integrator meets it: a Python client generated from our OpenAPI schema, used as generated.

The schema is written by ``manage.py spectacular``, the client by openapi-python-client (pinned in
requirements-dev.txt), with no edits. Every module of it must import, and a driver's day and a plan
import must go through it against a live server: the run and its ETag, a failed scan with a photo and
its replay, a GPS batch, the instruction feed and an ack, a code reveal, a plan dry run and import.
A change to the API that breaks generated clients fails here.
"""

from __future__ import annotations

import datetime as dt
import importlib
import io
import json
import pkgutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from django.utils import timezone

from dispatch.models import ApiToken, ScanEvent
from dispatch.services import instruction_push
from dispatch.services.tokens import api_token_issue
from tests.contract.strict import StrictResponses
from tests.factories import AccessCredentialFactory, RunFactory, StopFactory, UserFactory
from tests.helpers import at

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "dispatch_api_client"
# The smallest valid PNG: a damaged parcel's photo.
PIXEL_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("triage_enqueued"),
]


@pytest.fixture(scope="module")
def client_package(openapi_schema, tmp_path_factory) -> Iterator[ModuleType]:
    """The client generated from the schema, imported from a scratch folder."""
    folder = tmp_path_factory.mktemp("generated")
    generator = Path(sys.executable).parent / "openapi-python-client"
    result = subprocess.run(
        [str(generator), "generate", "--path", str(openapi_schema), "--meta", "none",
         "--output-path", str(folder / PACKAGE)],
        cwd=folder, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_every_module_of_the_generated_client_imports(client_package):
    failed = []
    for info in pkgutil.walk_packages(client_package.__path__, f"{PACKAGE}."):
        try:
            importlib.import_module(info.name)
        except Exception as error:
            failed.append(f"{info.name}: {error!r}")

    assert failed == []


def test_a_drivers_day_and_a_plan_import_through_the_generated_client(
    request, client_package, openapi_schema, live_server, dave, chicago
):
    run = RunFactory(driver=dave)
    damaged, gated = StopFactory(run=run, sequence=1), StopFactory(run=run, sequence=2)
    AccessCredentialFactory(address=gated.order.address, secret="4821#")
    at(dave, gated)
    _, key = api_token_issue(user=dave.user, kind=ApiToken.Kind.DRIVER, name="generated")
    types = module("types")
    client_class = importlib.import_module(PACKAGE).AuthenticatedClient
    # Closed at the end: a kept-alive connection would keep a server thread, and its database session, open.
    strict = StrictResponses(json.loads(openapi_schema.read_text()))
    hooks = {"event_hooks": {"response": [strict]}}
    driver = client_class(base_url=live_server.url, token=key, raise_on_unexpected_status=True, httpx_args=hooks)
    request.addfinalizer(lambda: driver.get_httpx_client().close())
    api = {name: module(f"api.driver.{name}") for name in (
        "driver_run", "driver_scan_create", "driver_locations", "driver_instructions",
        "driver_instruction_ack", "driver_access_code_reveal", "driver_reason_codes",
    )}  # fmt: skip
    models = module("models")

    # The run, then nothing new: 304 against its ETag.
    first = api["driver_run"].sync_detailed(client=driver)
    assert first.status_code == 200
    assert [stop.id for stop in first.parsed.stops] == [damaged.pk, gated.pk]
    etag = first.headers["ETag"]
    assert api["driver_run"].sync_detailed(client=driver, if_none_match=etag).status_code == 304

    # The reason codes say a damaged parcel needs a photo; the scan sends one, then the app sends it again.
    codes = {code.code: code for code in api["driver_reason_codes"].sync(client=driver).reason_codes}
    assert codes["DAMAGED"].photo_required is True
    photo = types.File(payload=io.BytesIO(PIXEL_PNG), file_name="parcel.png", mime_type="image/png")
    form = models.ScanFormRequest(
        outcome=models.ScanOutcomeEnum.FAILED,
        reason_code="DAMAGED",
        device_time=timezone.now(),
        notes="Box crushed on one corner",
        photo=photo,
    )
    scanned = api["driver_scan_create"].sync_detailed(
        client=driver, stop_id=damaged.pk, idempotency_key="day-1", body=form
    )
    assert scanned.status_code == 201, scanned.content
    assert scanned.parsed.case_id is not None
    photo.payload.seek(0)
    again = api["driver_scan_create"].sync_detailed(
        client=driver, stop_id=damaged.pk, idempotency_key="day-1", body=form
    )
    assert (again.status_code, again.headers.get("Idempotent-Replayed")) == (201, "true")
    assert ScanEvent.objects.filter(stop=damaged).count() == 1

    # A GPS batch.
    ping = models.PingInputRequest(at=timezone.now(), latitude=41.9037, longitude=-87.6702)
    batch = api["driver_locations"].sync_detailed(client=driver, body=models.LocationsInputRequest(pings=[ping]))
    assert (batch.status_code, batch.parsed.accepted) == (202, 1)

    # The instruction feed from its start, an ack, and the cursor handed back as it came.
    instruction_push(driver=dave, kind="note", text="Ring twice.", stop=gated)
    feed = api["driver_instructions"].sync(client=driver, after="0")
    assert [item.text for item in feed.instructions][-1] == "Ring twice."
    acked = api["driver_instruction_ack"].sync_detailed(client=driver, instruction_id=feed.instructions[-1].id)
    assert acked.status_code == 200
    later = api["driver_instructions"].sync(client=driver, after=feed.next_cursor)
    assert (later.instructions, later.next_cursor) == ([], feed.next_cursor)

    # The gate code at the stop.
    revealed = api["driver_access_code_reveal"].sync_detailed(client=driver, stop_id=gated.pk)
    assert revealed.status_code == 200, revealed.content
    assert [code.code for code in revealed.parsed.codes] == ["4821#"]

    # The planner: tomorrow's plan, checked, then imported.
    _, planner_key = api_token_issue(
        user=UserFactory(username="planner"), kind=ApiToken.Kind.INTEGRATION, name="generated", depot=chicago
    )
    planner = client_class(
        base_url=live_server.url, token=planner_key, raise_on_unexpected_status=True, httpx_args=hooks
    )
    request.addfinalizer(lambda: planner.get_httpx_client().close())
    plan_import = module("api.plans.plan_import")
    body = models.PlanImportRequest.from_dict(a_plan(chicago.code, dave.user.username))
    checked = plan_import.sync_detailed(client=planner, body=body, dry_run=True)
    assert checked.status_code == 200, checked.content
    imported = plan_import.sync_detailed(client=planner, body=body)
    assert imported.status_code == 201, imported.content
    assert imported.parsed.stops.created == 1

    # Every answer of the day, strictly as the schema says: no field it does not name, no status it does not list.
    assert strict.checked == 12
    assert strict.mismatches == []


def a_plan(depot: str, driver: str) -> dict[str, Any]:
    tomorrow = timezone.localdate() + dt.timedelta(days=1)

    def at_hour(hour: int) -> str:
        return dt.datetime.combine(tomorrow, dt.time(hour), tzinfo=dt.UTC).isoformat()

    order = {
        "reference": "LM-GEN-1",
        "recipient": {"external_id": "GEN-1", "name": "Gen Client", "phone": "+13125550142"},
        "address": {
            "external_ref": "A-GEN-1",
            "line1": "1450 N Milwaukee Ave",
            "city": "Chicago",
            "postal_code": "60622",
            "latitude": 41.9081,
            "longitude": -87.6755,
        },
    }
    run = {
        "external_ref": "R-GEN",
        "driver": driver,
        "shift_start": at_hour(14),
        "shift_end": at_hour(23),
        "stops": [{"sequence": 1, "planned_arrival": at_hour(15), "order": order}],
    }
    return {"depot": depot, "service_date": tomorrow.isoformat(), "runs": [run]}
