"""Integrations: a depot's day plan in, recipient preferences in.

The serializers here document the request shape for /api/docs/; the
validation itself is done by ``dispatch.services.plans``, because the admin's
CSV upload goes through the same rules, and because nested serializers take
~3 s over a 10,000-stop plan on a quiet 2-core machine, 3x the service's own
validation, which also checks phone numbers (bench/RESULTS.md). A test keeps
the two field lists identical.
"""

from __future__ import annotations

import codecs
import json
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dispatch.api.authentication import ApiTokenAuthentication
from dispatch.api.errors import Conflict, Refused, errors
from dispatch.api.parsers import NESTED_TOO_DEEPLY
from dispatch.api.permissions import IsIntegration
from dispatch.api.throttling import WindowRateThrottle
from dispatch.models import AccessCredential, Address, ApiToken, Depot, Recipient, languages
from dispatch.services.plans import (
    MAX_RECIPIENT_ROWS,
    MAX_STOPS,
    PlanConflict,
    PlanInvalid,
    PlanRefused,
    RecipientImportInvalid,
    plan_import,
    recipient_rows_from_csv,
    recipients_import,
)

MAX_BODY_BYTES = 64 * 1024 * 1024
KEEP = "Leave it out to keep the stored value (the model default for a new row)."


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = f"The request body is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB; split the import."
    default_code = "payload_too_large"


def _read_capped(stream: Any) -> bytes:
    body: bytes = stream.read(MAX_BODY_BYTES + 1) if stream is not None else b""
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge()
    return body


class LargeJSONParser(BaseParser):
    """JSON up to MAX_BODY_BYTES, where DRF's JSONParser stops at DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB).

    A 10,000-stop plan is ~7 MB. DRF reads a JSONParser's body through
    ``request.body`` and so Django's global limit; a parser of its own class
    reads the stream, with this endpoint's own limit.
    """

    media_type = "application/json"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            # Strict like DRF's parser: NaN and Infinity are not JSON.
            return json.loads(_read_capped(stream), parse_constant=_no_constants)
        except ValueError as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None
        except RecursionError:
            raise exceptions.ParseError(NESTED_TOO_DEEPLY) from None


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class CSVTextParser(BaseParser):
    """A ``text/csv`` body as ``{"csv": text}`` (UTF-8; a leading BOM is ignored)."""

    media_type = "text/csv"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> dict[str, str]:
        try:
            return {"csv": codecs.decode(_read_capped(stream), "utf-8-sig")}
        except UnicodeDecodeError:
            raise exceptions.ParseError("The CSV is not UTF-8 text.") from None


class IntegrationView(APIView):
    parser_classes = [LargeJSONParser]
    authentication_classes = [ApiTokenAuthentication]
    permission_classes = [IsIntegration]
    throttle_classes = [WindowRateThrottle]
    throttle_scope = "integration"

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # Refuse an oversized body before reading any of it (the parsers check again as they read).
        try:
            length = int(request.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY_BYTES:
            raise PayloadTooLarge()


# --- The plan document, for the schema ----------------------------------------------------------


@extend_schema_serializer(component_name="PlanAccessCode")
class PlanAccessCodeInput(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=AccessCredential.Kind.choices)
    code = serializers.CharField(
        max_length=200,
        help_text="The code or instruction itself. Stored encrypted; added only if this address has no identical "
        "code of the same kind yet, so re-sending it never duplicates it.",
    )
    valid_from = serializers.DateTimeField(required=False, allow_null=True, help_text="ISO 8601 with UTC offset.")
    valid_to = serializers.DateTimeField(required=False, allow_null=True, help_text="After valid_from.")


@extend_schema_serializer(component_name="PlanRecipient")
class PlanRecipientInput(serializers.Serializer[Any]):
    external_id = serializers.CharField(
        max_length=64, help_text="Your identifier for the recipient: matched across plans and the CRM import."
    )
    name = serializers.CharField(max_length=120)
    phone = serializers.CharField(
        max_length=32, help_text="Mobile number; stored in E.164. Without a + it is read as a US number."
    )
    alt_phone = serializers.CharField(max_length=32, required=False, allow_blank=True, help_text=KEEP)
    email = serializers.EmailField(required=False, allow_blank=True, help_text=KEEP)
    language = serializers.ChoiceField(choices=languages(), required=False, help_text=KEEP)
    preferred_channel = serializers.ChoiceField(choices=Recipient.Channel.choices, required=False, help_text=KEEP)
    tier = serializers.ChoiceField(choices=Recipient.Tier.choices, required=False, help_text=KEEP)


@extend_schema_serializer(component_name="PlanAddress")
class PlanAddressInput(serializers.Serializer[Any]):
    external_ref = serializers.CharField(
        max_length=64, help_text="Your identifier for the address; matched across plans."
    )
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True, help_text=KEEP)
    unit = serializers.CharField(max_length=32, required=False, allow_blank=True, help_text=KEEP)
    city = serializers.CharField(max_length=100)
    region = serializers.CharField(max_length=64, required=False, allow_blank=True, help_text="State or province.")
    postal_code = serializers.CharField(max_length=16)
    country = serializers.CharField(max_length=2, required=False, help_text="ISO 3166 alpha-2, e.g. US. " + KEEP)
    latitude = serializers.FloatField(min_value=-90, max_value=90, help_text="WGS84.")
    longitude = serializers.FloatField(min_value=-180, max_value=180, help_text="WGS84.")
    building_type = serializers.ChoiceField(choices=Address.BuildingType.choices, required=False, help_text=KEEP)
    building_notes = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, help_text="Shown to drivers. " + KEEP
    )


@extend_schema_serializer(component_name="PlanOrder")
class PlanOrderInput(serializers.Serializer[Any]):
    reference = serializers.CharField(
        max_length=40,
        help_text="The order's unique reference (letters, digits, . _ / -), e.g. LM-88204. At most once per plan.",
    )
    window_start = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="Promised delivery window, ISO 8601 with UTC offset. Give both ends or neither; null clears.",
    )
    window_end = serializers.DateTimeField(required=False, allow_null=True, help_text="After window_start.")
    declared_value = serializers.DecimalField(
        max_digits=10, decimal_places=2, min_value=0, required=False, help_text=KEEP
    )
    parcel_count = serializers.IntegerField(min_value=1, required=False, help_text=KEEP)
    signature_required = serializers.BooleanField(required=False, help_text=KEEP)
    safe_drop_allowed = serializers.BooleanField(required=False, help_text=KEEP)
    neighbour_allowed = serializers.BooleanField(required=False, help_text=KEEP)
    recipient = PlanRecipientInput(
        help_text="Upserted by external_id. If it appears under several orders, fields given twice must agree."
    )
    address = PlanAddressInput(
        help_text="Upserted by external_ref. If it appears under several orders, fields given twice must agree."
    )
    access_codes = PlanAccessCodeInput(many=True, required=False, help_text="Known codes for this address.")


@extend_schema_serializer(component_name="PlanStop")
class PlanStopInput(serializers.Serializer[Any]):
    sequence = serializers.IntegerField(
        min_value=1,
        help_text="Position in the run, unique within it. Stops already attempted keep their own sequence; if the "
        "plan's numbers collide with theirs, this run's planned stops are numbered after the last attempted one, "
        "in the plan's order.",
    )
    planned_arrival = serializers.DateTimeField(
        required=False, allow_null=True, help_text="ISO 8601 with UTC offset. Leaving it out clears it."
    )
    service_minutes = serializers.IntegerField(
        min_value=0, max_value=600, required=False, help_text="Minutes at the door; 3 if left out."
    )
    order = PlanOrderInput()


@extend_schema_serializer(component_name="PlanRun")
class PlanRunInput(serializers.Serializer[Any]):
    external_ref = serializers.CharField(
        max_length=64, help_text="Your identifier for the run, unique in the depot: the same ref updates the run."
    )
    driver = serializers.CharField(max_length=150, help_text="The driver's username; must drive for this depot.")
    shift_start = serializers.DateTimeField(
        help_text="ISO 8601 with UTC offset; on the service date in the depot's time zone."
    )
    shift_end = serializers.DateTimeField(help_text="After shift_start.")
    stops = PlanStopInput(
        many=True,
        help_text="Every stop of the run. An unattempted stop the plan no longer lists is cancelled; an order "
        "listed under another run moves there.",
    )


PLAN_EXAMPLE = {
    "depot": "chi-west",
    "service_date": "2026-11-21",
    "runs": [
        {
            "external_ref": "R-2026-11-21-07",
            "driver": "dave",
            "shift_start": "2026-11-21T08:00:00-06:00",
            "shift_end": "2026-11-21T17:00:00-06:00",
            "stops": [
                {
                    "sequence": 1,
                    "planned_arrival": "2026-11-21T08:40:00-06:00",
                    "order": {
                        "reference": "LM-88204",
                        "window_start": "2026-11-21T08:00:00-06:00",
                        "window_end": "2026-11-21T12:00:00-06:00",
                        "declared_value": "45.00",
                        "signature_required": False,
                        "recipient": {
                            "external_id": "CRM-10042",
                            "name": "Maria Lopez",
                            "phone": "+13125550142",
                            "language": "es",
                        },
                        "address": {
                            "external_ref": "ADDR-5531",
                            "line1": "1450 N Milwaukee Ave",
                            "unit": "3B",
                            "city": "Chicago",
                            "region": "IL",
                            "postal_code": "60622",
                            "latitude": 41.9081,
                            "longitude": -87.6755,
                            "building_type": "multi_unit",
                        },
                        "access_codes": [{"kind": "gate", "code": "4821#"}],
                    },
                }
            ],
        }
    ],
}


def _counts(name: str, *fields: str) -> type[serializers.Serializer[Any]]:
    return type(
        name,
        (serializers.Serializer,),
        {field: serializers.IntegerField() for field in fields},
    )


class PlanImportParams(serializers.Serializer[Any]):
    # Strict: a misspelt ?dry_run=ture must not import the plan for real.
    dry_run = serializers.BooleanField(
        required=False,
        default=False,
        help_text="true: validate and return the summary of what would change, then write nothing.",
    )


class PlanImportView(IntegrationView):
    @extend_schema_serializer(
        component_name="PlanImport", examples=[OpenApiExample("One run, one stop", value=PLAN_EXAMPLE)]
    )
    class InputSerializer(serializers.Serializer[Any]):
        depot = serializers.SlugField(max_length=32, help_text="The depot's code, e.g. chi-west.")
        service_date = serializers.DateField(help_text="The day this plan replaces, YYYY-MM-DD (depot local).")
        runs = PlanRunInput(
            many=True,
            allow_empty=False,
            help_text=f"The whole day: runs of the day missing here are cancelled if nothing on them was attempted. "
            f"At most {MAX_STOPS:,} stops in all.",
        )

    @extend_schema_serializer(component_name="PlanImportSummary")
    class OutputSerializer(serializers.Serializer[Any]):
        depot = serializers.CharField()
        service_date = serializers.DateField()
        dry_run = serializers.BooleanField()
        runs = _counts("PlanRunCounts", "created", "updated", "unchanged", "cancelled")()
        stops = _counts("PlanStopCounts", "created", "updated", "unchanged", "cancelled", "kept")(
            help_text="kept: stops already attempted (or whose order was), which an import never changes."
        )
        orders = _counts("PlanOrderCounts", "created", "updated", "unchanged", "kept")()
        recipients = _counts("PlanRecipientCounts", "created", "updated", "unchanged")()
        addresses = _counts("PlanAddressCounts", "created", "updated", "unchanged")()
        access_codes = _counts("PlanAccessCodeCounts", "created", "unchanged")()

    @extend_schema(
        operation_id="plan_import",
        summary="Create or replace one depot's service day",
        description=(
            "All or nothing: the whole document is validated first and every problem is reported in `fields`, "
            "keyed by its JSON path (`runs[3].stops[12].order.recipient.phone`); nothing is written unless the "
            "whole plan is valid. Idempotent: rows are matched by their references, so re-sending a plan changes "
            "nothing, and an updated plan updates rows in place. Stops already attempted are never changed. "
            "Recipient, address and order fields left out keep their stored values. "
            "201 when the day had no runs before, else 200. A token limited to a depot may only send that depot's "
            "plans (403)."
        ),
        request=InputSerializer,
        parameters=[PlanImportParams],
        responses={
            200: OutputSerializer,
            201: OutputSerializer,
            400: errors(
                invalid="the plan is wrong; `fields` says where, by JSON path", parse_error="the body is not JSON"
            ),
            403: errors(
                depot_not_allowed="this token is limited to another depot",
                permission_denied="the token is not an integration's",
            ),
            409: errors(plan_conflict="a concurrent change got there first; nothing was written: send it again"),
            413: errors(payload_too_large="the body is over 64 MB: split the plan"),
        },
    )
    def post(self, request: Request, version: str) -> Response:
        token = request.auth
        only_depot = token.depot if isinstance(token, ApiToken) else None
        params = PlanImportParams(data=request.query_params)
        params.is_valid(raise_exception=True)
        dry_run = params.validated_data["dry_run"]
        try:
            result = plan_import(document=request.data, only_depot=only_depot, dry_run=dry_run)
        except PlanInvalid as exc:
            raise serializers.ValidationError(exc.errors) from None
        except PlanRefused as exc:
            raise Refused(str(exc), "depot_not_allowed") from None
        except PlanConflict as exc:
            raise Conflict(str(exc), "plan_conflict") from None
        code = status.HTTP_201_CREATED if result.created_day and not result.dry_run else status.HTTP_200_OK
        return Response(self.OutputSerializer(result.summary).data, status=code)


# --- Recipient preferences ----------------------------------------------------------------------


@extend_schema_serializer(component_name="RecipientImportRow")
class RecipientImportRowInput(serializers.Serializer[Any]):
    external_id = serializers.CharField(max_length=64, help_text="The CRM identifier: the row's key.")
    name = serializers.CharField(max_length=120, required=False, help_text="Required to create a recipient.")
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, help_text="Stored in E.164.")
    alt_phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    language = serializers.ChoiceField(choices=languages(), required=False)
    preferred_channel = serializers.ChoiceField(choices=Recipient.Channel.choices, required=False)
    tier = serializers.ChoiceField(choices=Recipient.Tier.choices, required=False)
    quiet_hours_start = serializers.TimeField(required=False, help_text="hh:mm in the recipient's time zone.")
    quiet_hours_end = serializers.TimeField(required=False, help_text="hh:mm; may be before the start (overnight).")
    time_zone = serializers.CharField(
        required=False, allow_null=True, help_text="IANA name, e.g. America/Chicago; null uses the depot's."
    )
    opted_out = serializers.BooleanField(
        required=False,
        help_text="true opts the recipient out of texts and records when. false never opts a recipient back in: "
        "only the recipient can (by replying START); such a row is applied without it, with a warning.",
    )


@extend_schema_serializer(component_name="RecipientImportRowReport")
class RecipientRowReport(serializers.Serializer[Any]):
    row = serializers.IntegerField(
        help_text="The row's index in `recipients` (from 0), or its line in a CSV body (the header is line 1)."
    )
    external_id = serializers.CharField(allow_null=True)
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))  # type: ignore[assignment]


class RecipientImportView(IntegrationView):
    parser_classes = [LargeJSONParser, CSVTextParser]

    @extend_schema_serializer(component_name="RecipientImport")
    class InputSerializer(serializers.Serializer[Any]):
        recipients = RecipientImportRowInput(
            many=True,
            help_text=f"At most {MAX_RECIPIENT_ROWS:,} rows. Fields left out keep their stored values.",
        )

    @extend_schema_serializer(component_name="RecipientImportReport")
    class OutputSerializer(serializers.Serializer[Any]):
        created = serializers.IntegerField()
        updated = serializers.IntegerField()
        unchanged = serializers.IntegerField()
        errors = RecipientRowReport(  # type: ignore[assignment]
            many=True, help_text="Rows not applied, with the reason per field."
        )
        warnings = RecipientRowReport(many=True, help_text="Rows applied except for the fields named.")

    @extend_schema(
        operation_id="recipient_import",
        summary="Import recipient preferences from a CRM export",
        description=(
            "Upserts one depot's recipients by `external_id` (an id names a recipient within a depot). Each row "
            "stands alone: a row with an error is skipped and reported in `errors`, the others are applied. Send "
            "JSON, or `text/csv` with a header row of the same field names (an empty cell leaves the field as it is)."
        ),
        parameters=[
            OpenApiParameter(
                "depot",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                required=False,
                description="The depot's code. Required unless the token is limited to a depot (then it is that one).",
            )
        ],
        request={
            "application/json": InputSerializer,
            "text/csv": OpenApiTypes.STR,
        },
        responses={
            200: OutputSerializer,
            400: errors(
                invalid="the import as a whole is wrong, or names no depot (a row's own errors are in the report)",
                parse_error="the body is not JSON, or the CSV not UTF-8",
            ),
            403: errors(
                depot_not_allowed="this token is limited to another depot",
                permission_denied="the token is not an integration's",
            ),
            413: errors(payload_too_large="the body is over 64 MB: split the import"),
        },
    )
    def post(self, request: Request, version: str) -> Response:
        request.data  # noqa: B018 - a body that cannot be read is the first thing to say
        depot = self._depot(request)
        try:
            if isinstance(request.data, dict) and (request.content_type or "").startswith(CSVTextParser.media_type):
                # An empty body reaches no parser: DRF gives empty data, read here as an empty file.
                rows, lines = recipient_rows_from_csv(text=request.data.get("csv", ""))
                result = recipients_import(rows=rows, lines=lines, depot=depot)
            elif isinstance(request.data, dict) and "recipients" in request.data:
                result = recipients_import(rows=request.data["recipients"], depot=depot)
            else:
                raise serializers.ValidationError({"recipients": ["This field is required."]})
        except RecipientImportInvalid as exc:
            raise serializers.ValidationError(exc.errors) from None
        body = {
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "errors": result.errors,
            "warnings": result.warnings,
        }
        return Response(self.OutputSerializer(body).data)

    @staticmethod
    def _depot(request: Request) -> Depot:
        """The depot named by ``?depot=``, or the one the token is limited to."""
        token = request.auth
        only_depot = token.depot if isinstance(token, ApiToken) else None
        code = request.query_params.get("depot", "").strip()
        if only_depot is not None:
            if code and code != only_depot.code:
                raise Refused(
                    f"This token is limited to depot {only_depot.code!r}; it cannot import recipients for {code!r}.",
                    "depot_not_allowed",
                )
            return only_depot
        if not code:
            raise serializers.ValidationError(
                {"depot": ["This field is required: the code of the depot whose recipients these are (?depot=...)."]}
            )
        depot = Depot.objects.filter(code=code).first()
        if depot is None:
            raise serializers.ValidationError({"depot": [f"No depot with code {code!r}."]})
        return depot
