"""The driver app's API: its run, scans in, GPS pings in, instructions out, access codes on demand.

Every view is a permission check, a fetch filtered by the requesting driver,
one service call and a serializer. Another driver's stop or instruction is a
404, never a 403, so ids reveal nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dispatch import ports, selectors
from dispatch.api.authentication import ApiTokenAuthentication
from dispatch.api.errors import INVALID, Conflict, Refused, errors
from dispatch.api.parsers import JSONParser
from dispatch.api.permissions import IsDriver
from dispatch.api.throttling import WindowRateThrottle
from dispatch.models import (
    AccessCredential,
    AccessRevealAudit,
    Address,
    Driver,
    DriverInstruction,
    ReasonCode,
    Run,
    ScanEvent,
    Stop,
)
from dispatch.payloads import InstructionField, instruction_payload, instruction_schema
from dispatch.reasons import reason_codes_active
from dispatch.services import instruction_ack
from dispatch.services.locations import MAX_BATCH_SPAN, MAX_PINGS_PER_BATCH, Ping, locations_record
from dispatch.services.scans import IdempotencyConflict, ScanRejected, StopNotFound, scan_record
from dispatch.services.vault import AccessState, access_code_reveal, access_states


class DriverView(APIView):
    authentication_classes = [ApiTokenAuthentication]
    permission_classes = [IsDriver]
    throttle_classes = [WindowRateThrottle]
    throttle_scope = "driver"

    def driver(self, request: Request) -> Driver:
        driver: Driver = request.user.driver  # type: ignore[union-attr]
        return driver


# --- The run -------------------------------------------------------------------------------------


STOP_FIELDS = (
    "id",
    "sequence",
    "status",
    "planned_arrival",
    "window_start",
    "window_end",
    "service_minutes",
    "attempt_count",
)


class RunStopOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    sequence = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Stop.Status.choices)
    planned_arrival = serializers.DateTimeField(allow_null=True)
    window_start = serializers.DateTimeField(allow_null=True)
    window_end = serializers.DateTimeField(allow_null=True)
    service_minutes = serializers.IntegerField()
    attempt_count = serializers.IntegerField()
    order = inline_serializer(
        "RunStopOrder",
        {
            "reference": serializers.CharField(),
            "parcel_count": serializers.IntegerField(),
            "signature_required": serializers.BooleanField(),
            "safe_drop_allowed": serializers.BooleanField(),
            "neighbour_allowed": serializers.BooleanField(),
        },
    )
    recipient = inline_serializer("RunStopRecipient", {"first_name": serializers.CharField()})
    address = inline_serializer(
        "RunStopAddress",
        {
            "line1": serializers.CharField(),
            "line2": serializers.CharField(),
            "unit": serializers.CharField(),
            "city": serializers.CharField(),
            "postal_code": serializers.CharField(),
            "latitude": serializers.FloatField(),
            "longitude": serializers.FloatField(),
            "building_type": serializers.ChoiceField(choices=Address.BuildingType.choices),
            "building_notes": serializers.CharField(),
        },
    )
    has_access_code = serializers.BooleanField(help_text="A code is on file to reveal at the stop (`access`).")
    access = serializers.ChoiceField(
        choices=AccessState.choices,
        help_text="The access vault for the stop's address, never a code: `none`; `on_file` (not yet tried); "
        "`verified` (it worked the last time); `failing` (it failed the last time: try it, then report); "
        "`flagged` (the codes failed twice and none is offered: ask dispatch).",
    )
    can_call = serializers.BooleanField(
        help_text="The recipient can be called through the company's line now (`POST .../call`): the stop is "
        "active, a line is set up, both your number and theirs are on file. Their number is never sent."
    )
    instruction = InstructionField(allow_null=True, help_text="The newest instruction for this stop.")


class RunOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    service_date = serializers.DateField()
    shift_start = serializers.DateTimeField()
    shift_end = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=Run.Status.choices)
    plan_version = serializers.IntegerField()
    depot = inline_serializer(
        "RunDepot",
        {
            "code": serializers.CharField(),
            "name": serializers.CharField(),
            "time_zone": serializers.CharField(
                help_text="The depot's IANA time zone, e.g. `America/Chicago`: the run's times are the depot's."
            ),
        },
    )
    stops = RunStopOutput(many=True)


class DriverRunView(DriverView):
    @extend_schema(
        operation_id="driver_run",
        summary="Today's run, stops in sequence",
        parameters=[OpenApiParameter("If-None-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False)],
        responses={
            200: RunOutput,
            304: OpenApiResponse(description="Nothing changed since the ETag you sent."),
            404: errors(no_run_today="you have no run today"),
        },
    )
    def get(self, request: Request, version: str) -> Response:
        driver = self.driver(request)
        run = selectors.driver_run_current(driver=driver)
        if run is None:
            raise exceptions.NotFound("You have no run today.", code="no_run_today")
        stops = list(selectors.run_stops(run=run))
        latest = selectors.stop_latest_instructions(driver=driver, stop_ids=[stop.pk for stop in stops])
        desk = ports.desk()
        vault = access_states(address_ids=[stop.order.address_id for stop in stops])
        calls = bool(driver.phone)
        body = RunOutput(
            {
                "id": run.pk,
                "service_date": run.service_date,
                "shift_start": run.shift_start,
                "shift_end": run.shift_end,
                "status": run.status,
                "plan_version": run.plan_version,
                "depot": {"code": run.depot.code, "name": run.depot.name, "time_zone": str(run.depot.time_zone)},
                "stops": [
                    {
                        **{field: getattr(stop, field) for field in STOP_FIELDS},
                        "order": stop.order,
                        "recipient": {"first_name": stop.order.recipient.first_name},
                        "address": stop.order.address,
                        "has_access_code": vault[stop.order.address_id] in AccessState.revealable(),
                        "access": vault[stop.order.address_id],
                        "can_call": calls and stop.status in Stop.ACTIVE_STATUSES and desk.can_call(stop=stop),
                        "instruction": latest.get(stop.pk),
                    }
                    for stop in stops
                ],
            }
        ).data
        # A strong ETag over the exact body: a polling app gets 304 and no body when nothing changed.
        etag = '"' + hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:32] + '"'
        if etag in {tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")}:
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
        return Response(body, headers={"ETag": etag, "Cache-Control": "private, no-cache"})


# --- Scans ---------------------------------------------------------------------------------------


MAX_PHOTO_BYTES = 10 * 1024 * 1024
PHOTO_TYPES = {"image/jpeg", "image/png", "image/heic", "image/heif"}


# Phones queue scans and pings while offline; older than this is a broken clock, not a late upload.
DEVICE_TIME_PAST = dt.timedelta(days=7)
DEVICE_TIME_FUTURE = dt.timedelta(minutes=10)


def validate_device_time(value: dt.datetime) -> None:
    now = timezone.now()
    if value < now - DEVICE_TIME_PAST or value > now + DEVICE_TIME_FUTURE:
        raise serializers.ValidationError(
            "The device clock is off: send a time within the last 7 days, not in the future."
        )


class ScanInput(serializers.Serializer[Any]):
    outcome = serializers.ChoiceField(choices=ScanEvent.Outcome.choices)
    reason_code = serializers.CharField(required=False, allow_blank=True, max_length=40)
    device_time = serializers.DateTimeField(
        help_text="When the driver scanned, with its UTC offset: within the last 7 days, at most 10 minutes ahead.",
        validators=[validate_device_time],
    )
    latitude = serializers.FloatField(required=False, allow_null=True, min_value=-90, max_value=90)
    longitude = serializers.FloatField(required=False, allow_null=True, min_value=-180, max_value=180)
    accuracy_m = serializers.FloatField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=100_000,
        help_text="The fix's accuracy in metres, as the phone reports it (the board weighs the scan's distance by it).",
    )
    notes = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
    photo = serializers.FileField(
        required=False, allow_null=True, help_text="JPEG, PNG or HEIC, up to 10 MB. Required by some reason codes."
    )

    def validate_photo(self, value: Any) -> Any:
        if value is None:
            return None
        if value.size > MAX_PHOTO_BYTES:
            raise serializers.ValidationError("The photo is larger than 10 MB.")
        if getattr(value, "content_type", None) not in PHOTO_TYPES:
            raise serializers.ValidationError("Send the photo as JPEG, PNG or HEIC.")
        return value

    def validate_reason_code(self, value: str) -> ReasonCode | None:
        if not value:
            return None
        active = reason_codes_active()
        reason = active.get(value.upper())
        if reason is None:
            valid = ", ".join(sorted(active))
            raise serializers.ValidationError(f"Unknown reason code {value!r}. Valid codes: {valid}.")
        return reason

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if (attrs.get("latitude") is None) != (attrs.get("longitude") is None):
            raise serializers.ValidationError({"longitude": "Send both latitude and longitude, or neither."})
        if attrs["outcome"] == ScanEvent.Outcome.FAILED and not attrs.get("reason_code"):
            raise serializers.ValidationError({"reason_code": "A failed scan needs a reason code."})
        return attrs


class ScanOutput(serializers.Serializer[Any]):
    scan_id = serializers.IntegerField()
    stop_id = serializers.IntegerField()
    outcome = serializers.ChoiceField(choices=ScanEvent.Outcome.choices)
    reason_code = serializers.CharField(allow_null=True)
    attempt = serializers.IntegerField()
    stop_status = serializers.ChoiceField(choices=Stop.Status.choices)
    case_id = serializers.IntegerField(allow_null=True, help_text="The exception case a failed scan opened.")


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": 64},
    OpenApiParameter.HEADER,
    required=True,
    description="A unique value per scan (a UUID). Sending it again returns the first answer and records nothing.",
)


class ScanForm(ScanInput):
    """The scan as the schema declares it: a form (multipart/form-data), the one body that carries a photo.

    A field a client has no value for is left out, never sent empty: nothing here is nullable. The view
    also reads the same fields as JSON (a scan without a photo), for clients written by hand.
    """

    latitude = serializers.FloatField(required=False, min_value=-90, max_value=90)
    longitude = serializers.FloatField(required=False, min_value=-180, max_value=180)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=500, help_text="What the driver saw.")
    photo = serializers.FileField(
        required=False, help_text="JPEG, PNG or HEIC, up to 10 MB. Required by the reason codes that say so."
    )


class ScanCreateView(DriverView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(
        operation_id="driver_scan_create",
        summary="Report a delivered or failed scan",
        parameters=[IDEMPOTENCY_KEY],
        request={"multipart/form-data": ScanForm},
        responses={
            201: ScanOutput,
            400: INVALID,
            404: errors(stop_not_found="no such stop on your runs"),
            409: errors(
                idempotency_key_reused="this Idempotency-Key came before with another body",
                stop_not_active="the stop is delivered, cancelled or moved: it takes no more scans",
            ),
        },
    )
    def post(self, request: Request, version: str, stop_id: int) -> Response:
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key or len(key) > 64:
            raise serializers.ValidationError(
                {"Idempotency-Key": ["Send an Idempotency-Key header (1-64 characters, e.g. a UUID) with each scan."]}
            )
        data = ScanInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            result = scan_record(
                driver=self.driver(request),
                stop_id=stop_id,
                outcome=values["outcome"],
                reason=values.get("reason_code"),
                device_time=values["device_time"],
                latitude=values.get("latitude"),
                longitude=values.get("longitude"),
                accuracy_m=values.get("accuracy_m"),
                notes=values.get("notes", ""),
                photo=values.get("photo"),
                idempotency_key=key,
            )
        except StopNotFound as exc:
            raise exceptions.NotFound(str(exc), code="stop_not_found") from None
        except ScanRejected as exc:
            if exc.field:
                raise serializers.ValidationError({exc.field: [str(exc)]}) from None
            raise Conflict(str(exc), exc.code) from None
        except IdempotencyConflict as exc:
            raise Conflict(str(exc), "idempotency_key_reused") from None
        headers = {"Idempotent-Replayed": "true"} if result.replayed else {}
        return Response(ScanOutput(result.response).data, status=status.HTTP_201_CREATED, headers=headers)


# --- GPS -----------------------------------------------------------------------------------------


class PingInput(serializers.Serializer[Any]):
    at = serializers.DateTimeField(validators=[validate_device_time])
    latitude = serializers.FloatField(min_value=-90, max_value=90)
    longitude = serializers.FloatField(min_value=-180, max_value=180)
    accuracy_m = serializers.FloatField(required=False, allow_null=True, min_value=0)


class LocationsInput(serializers.Serializer[Any]):
    pings = PingInput(many=True, allow_empty=False, max_length=MAX_PINGS_PER_BATCH)  # type: ignore[call-arg]

    def validate_pings(self, pings: list[dict[str, Any]]) -> list[dict[str, Any]]:
        times = [ping["at"] for ping in pings]
        if max(times) - min(times) > MAX_BATCH_SPAN:
            raise serializers.ValidationError("A batch spans at most 24 hours; send older pings separately.")
        return pings


class LocationsView(DriverView):
    # A batch is a nested array: only JSON carries it (a form cannot), so only JSON is declared and read.
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="driver_locations",
        summary=f"Upload GPS pings (1-{MAX_PINGS_PER_BATCH} per call)",
        request=LocationsInput,
        responses={
            202: inline_serializer("LocationsAccepted", {"accepted": serializers.IntegerField()}),
            400: INVALID,
        },
    )
    def post(self, request: Request, version: str) -> Response:
        data = LocationsInput(data=request.data)
        data.is_valid(raise_exception=True)
        pings = [
            Ping(p["at"], p["latitude"], p["longitude"], p.get("accuracy_m")) for p in data.validated_data["pings"]
        ]
        locations_record(driver=self.driver(request), pings=pings)
        return Response({"accepted": len(pings)}, status=status.HTTP_202_ACCEPTED)


# --- Instructions --------------------------------------------------------------------------------

FEED_LIMIT = 200


class InstructionFeedOutput(serializers.Serializer[Any]):
    instructions = instruction_schema(many=True)
    next_cursor = serializers.RegexField(
        r"^[0-9]{1,18}$", help_text="Send as ?after= next time; unchanged when nothing is new."
    )


class FeedParams(serializers.Serializer[Any]):
    EMPTY_CURSOR = "Send the next_cursor of the last page, or 0."
    # One type with next_cursor: a client passes back what it was given, whatever language generated it.
    after = serializers.RegexField(
        r"^[0-9]{1,18}$",
        required=False,
        default="0",
        help_text="The `next_cursor` of the last page; leave it out (or send 0) to read from the start.",
        error_messages={"invalid": EMPTY_CURSOR},
    )
    limit = serializers.IntegerField(required=False, min_value=1, max_value=FEED_LIMIT, default=FEED_LIMIT)


class InstructionListView(DriverView):
    @extend_schema(
        operation_id="driver_instructions",
        summary="The instruction feed, oldest first, after a cursor",
        parameters=[FeedParams],
        responses={200: InstructionFeedOutput, 400: INVALID},
    )
    def get(self, request: Request, version: str) -> Response:
        if request.query_params.get("after") == "":
            # A form field left empty reads as left out; a cursor sent empty is a client's mistake.
            raise serializers.ValidationError({"after": [FeedParams.EMPTY_CURSOR]})
        params = FeedParams(data=request.query_params)
        params.is_valid(raise_exception=True)
        after = int(params.validated_data["after"])
        items = selectors.driver_instructions_after(
            driver=self.driver(request), after=after, limit=params.validated_data["limit"]
        )
        return Response(
            {
                "instructions": [instruction_payload(item) for item in items],
                "next_cursor": str(items[-1].seq if items else after),
            }
        )


class InstructionAckView(DriverView):
    @extend_schema(
        operation_id="driver_instruction_ack",
        summary="Acknowledge an instruction",
        request=None,
        responses={200: instruction_schema(), 404: errors(instruction_not_found="no such instruction in your feed")},
    )
    def post(self, request: Request, version: str, instruction_id: int) -> Response:
        try:
            instruction = instruction_ack(driver=self.driver(request), instruction_id=instruction_id)
        except DriverInstruction.DoesNotExist:
            raise exceptions.NotFound("No such instruction in your feed.", code="instruction_not_found") from None
        return Response(instruction_payload(instruction))


# --- Reason codes --------------------------------------------------------------------------------


class ReasonCodeOutput(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="What a failed scan sends as `reason_code`.")
    label = serializers.CharField(help_text="How to show it to the driver.")  # type: ignore[assignment]
    category = serializers.ChoiceField(choices=ReasonCode.Category.choices)
    photo_required = serializers.BooleanField(
        help_text="A failed scan with this code must attach a `photo` (send the scan as multipart/form-data)."
    )
    description = serializers.CharField(help_text="When to use it; may be empty.")


class ReasonCodesOutput(serializers.Serializer[Any]):
    reason_codes = ReasonCodeOutput(many=True)


class ReasonCodesView(DriverView):
    @extend_schema(
        operation_id="driver_reason_codes",
        summary="The reason codes a failed scan may give",
        description="The depot's active codes, in code order, and which of them need a photo. They change rarely: "
        "read them when the app starts.",
        responses={200: ReasonCodesOutput},
    )
    def get(self, request: Request, version: str) -> Response:
        codes = sorted(reason_codes_active().values(), key=lambda reason: reason.code)
        return Response(ReasonCodesOutput({"reason_codes": codes}).data)


# --- Access codes --------------------------------------------------------------------------------


class RevealOutput(serializers.Serializer[Any]):
    codes = inline_serializer(
        "RevealedCode",
        {
            "kind": serializers.ChoiceField(choices=AccessCredential.Kind.choices),
            "code": serializers.CharField(),
            "verified": serializers.BooleanField(),
            "last_worked_at": serializers.DateTimeField(allow_null=True),
        },
        many=True,
    )


REFUSALS = {
    AccessRevealAudit.Result.STOP_NOT_ACTIVE: "This stop is not active, so its code is not available.",
    AccessRevealAudit.Result.OUTSIDE_RADIUS: "You are too far from the stop; reveal the code when you are there.",
    AccessRevealAudit.Result.NO_POSITION: "Your location is unknown or out of date; turn on location and try again.",
}


class AccessCodeRevealView(DriverView):
    @extend_schema(
        operation_id="driver_access_code_reveal",
        summary="Reveal the access code for one of your active stops (audited)",
        request=None,
        responses={
            200: RevealOutput,
            403: errors(
                stop_not_active="the stop is not active, so its code is not available",
                outside_radius="you are too far from the stop",
                no_position="your location is unknown or out of date",
            ),
            404: errors(stop_not_found="no such stop on your runs", no_code_on_file="no access code is on file"),
        },
    )
    def post(self, request: Request, version: str, stop_id: int) -> Response:
        try:
            reveal = access_code_reveal(user=request.user, stop_id=stop_id)  # type: ignore[arg-type]
        except Stop.DoesNotExist:
            raise exceptions.NotFound("No such stop on your runs.", code="stop_not_found") from None
        if reveal.result == AccessRevealAudit.Result.NOT_ASSIGNED:
            raise exceptions.NotFound("No such stop on your runs.", code="stop_not_found")
        if reveal.result == AccessRevealAudit.Result.NO_CODE:
            raise exceptions.NotFound("There is no access code on file for this stop.", code="no_code_on_file")
        if not reveal.granted:
            raise Refused(REFUSALS[AccessRevealAudit.Result(reveal.result)], reveal.result)
        codes = [
            {
                "kind": credential.kind,
                "code": credential.secret,
                "verified": credential.is_verified,
                "last_worked_at": credential.last_worked_at,
            }
            for credential in reveal.credentials
        ]
        return Response(RevealOutput({"codes": codes}).data, headers={"Cache-Control": "no-store"})


# --- Calling the recipient ------------------------------------------------------------------------------------------


# Ids beyond a bigint are no stop at all (and would fail in the database, not as a 404).
MAX_ID = 2**63 - 1


class CallOutput(serializers.Serializer[Any]):
    calling = serializers.BooleanField(help_text="Your phone rings first; answer it to be connected.")
    ringing = serializers.CharField(help_text="The last two digits of the phone that rings: yours.")


class RecipientCallView(DriverView):
    @extend_schema(
        operation_id="driver_recipient_call",
        summary="Call the recipient of one of your active stops through the company's line",
        description=(
            "Your phone rings first, from the company's number; answer and you are connected to the recipient, "
            "who sees the company's number too. Neither number is shown to the other."
        ),
        request=None,
        responses={
            202: CallOutput,
            403: errors(
                stop_not_active="the stop is not active: its recipient is not yours to call now",
                no_phone="your phone number is not on file",
                not_placed="the call could not be placed; `detail` says why",
            ),
            404: errors(stop_not_found="no such stop on your runs"),
        },
    )
    def post(self, request: Request, version: str, stop_id: int) -> Response:
        driver = self.driver(request)
        stop = (
            Stop.objects.select_related("order__recipient", "run").filter(pk=stop_id, run__driver=driver).first()
            if stop_id <= MAX_ID
            else None
        )
        if stop is None:
            raise exceptions.NotFound("No such stop on your runs.", code="stop_not_found")
        if stop.status not in Stop.ACTIVE_STATUSES:
            raise Refused("The stop is not active: its recipient is not yours to call now.", "stop_not_active")
        phone = str(driver.phone or "")
        if not phone:
            raise Refused("Your phone number is not on file: ask a dispatcher to add it.", "no_phone")
        why = ports.desk().call_recipient(stop=stop, caller_phone=phone, user_id=driver.user_id)
        if why:
            raise Refused(why, "not_placed")
        return Response(CallOutput({"calling": True, "ringing": phone[-2:]}).data, status=status.HTTP_202_ACCEPTED)
