"""The desk's REST API: the metrics the product is judged by.

Dispatchers and admins read it with the session they signed in to the desk
with. A dispatcher sees the depots they work (``User.depots``); an admin sees
every depot; API tokens (driver app, integrations) are refused.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NoReturn, cast

from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import exceptions, serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dispatch import roles
from dispatch.api.errors import ERROR, Refused
from dispatch.models import Depot, User
from exceptions.analytics.export import MetricsCsvRenderer
from exceptions.analytics.figures import GROUP_BY
from exceptions.analytics.measures import depot_list_for_metrics, metrics_summary

MAX_DAYS = 92
# Far enough either way for any real question; the bounds keep date arithmetic in range.
EARLIEST = dt.date(2000, 1, 1)
LATEST = dt.date(2100, 12, 31)


class IsDeskUser(BasePermission):
    """A dispatcher or an admin, signed in with the desk's session."""

    message = "Metrics are for dispatchers and admins."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        return bool(user.is_superuser or user.groups.filter(name__in=[roles.ADMINS, roles.DISPATCHERS]).exists())


def _renamed(fields: dict[str, Any]) -> dict[str, Any]:
    # "from" is a Python keyword, so the fields are declared as date_from/date_to and renamed for the wire.
    for attribute, name in (("date_from", "from"), ("date_to", "to")):
        if attribute in fields:
            fields[name] = fields.pop(attribute)
            fields[name].source = attribute
    return fields


def _in_range(value: dt.date) -> None:
    if not EARLIEST <= value <= LATEST:
        raise serializers.ValidationError(f"Use a date between {EARLIEST} and {LATEST}.")


def _date_field(help_text: str) -> serializers.DateField:
    return serializers.DateField(required=False, help_text=help_text, validators=[_in_range])


# --- Output: one set of measures, for the totals and for each group -------------------------------------------------


class MetricsFirstAttemptOutput(serializers.Serializer[Any]):
    attempts = serializers.IntegerField(help_text="Orders whose first attempt (first scan) fell in the period.")
    delivered = serializers.IntegerField(help_text="Of those, the ones delivered at that first attempt.")
    success_rate = serializers.FloatField(allow_null=True, help_text="delivered / attempts (0-1); null without any.")


class MetricsResolutionOutput(serializers.Serializer[Any]):
    resolved = serializers.IntegerField(help_text="Cases resolved in the period.")
    average_seconds = serializers.FloatField(allow_null=True, help_text="Mean of resolved_at - opened_at.")
    median_seconds = serializers.FloatField(allow_null=True, help_text="Median of resolved_at - opened_at.")


class MetricsFailedAttemptCostOutput(serializers.Serializer[Any]):
    currency = serializers.CharField(help_text="ISO 4217 code of the cost model that priced these attempts.")
    failed_attempts = serializers.IntegerField(help_text="Failed scans in the period, priced in this currency.")
    total_cost = serializers.DecimalField(max_digits=14, decimal_places=2)
    cost_per_failed_attempt = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)


class MetricsEndingCountsOutput(serializers.Serializer[Any]):
    """A count for each way a failed parcel can end (see MetricsOutcomesOutput)."""

    delivered_same_day = serializers.IntegerField()
    recipient_choice = serializers.IntegerField()
    moved_unasked = serializers.IntegerField()
    returned = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    open = serializers.IntegerField()


class MetricsNoTouchOutput(serializers.Serializer[Any]):
    finished = serializers.IntegerField(help_text="Cases resolved (or, without a resolution, closed) in the period.")
    untouched = serializers.IntegerField(help_text="Of those, the ones no dispatcher touched.")
    share = serializers.FloatField(allow_null=True, help_text="untouched / finished (0-1); null without any.")
    by_ending = MetricsEndingCountsOutput(
        help_text="The untouched cases by how their parcel ended (the endings of `outcomes`): a case closed with "
        "no dispatcher counts as a win only when its parcel was delivered or settled as the recipient chose."
    )


class MetricsCaseCountsOutput(serializers.Serializer[Any]):
    opened = serializers.IntegerField()
    resolved = serializers.IntegerField()
    escalated = serializers.IntegerField()
    open_now = serializers.IntegerField(
        allow_null=True, help_text="Open right now, whatever the period; null in a day or hour group."
    )
    unanswered_requests = serializers.IntegerField(
        allow_null=True,
        help_text="Recipients' requests received in the period (a call, a refusal, a code, a time, a place, "
        "directions) that the desk only filed and nobody acted on; in the totals only, null in groups.",
    )


class MetricsPreventionOutput(serializers.Serializer[Any]):
    texts_sent = serializers.IntegerField(
        help_text="Pre-arrival texts sent to the recipients of risky stops served in the period (by service date)."
    )
    not_asked = serializers.IntegerField(help_text="Risky stops not texted: opted out, quiet hours, no phone.")
    replies = serializers.IntegerField(help_text="Texts the recipient answered.")
    reply_rate = serializers.FloatField(allow_null=True, help_text="replies / texts_sent (0-1); null without any.")
    useful_replies = serializers.IntegerField(
        help_text="Replies that gave the visit something to use: a code, a time window, someone home, "
        "a safe place or a neighbour the order allows."
    )
    exceptions_prevented = serializers.IntegerField(
        help_text="Stops with a useful reply whose order was delivered at its first attempt."
    )


class MetricsEndingSplitOutput(serializers.Serializer[Any]):
    with_dispatcher = serializers.IntegerField(help_text="Parcels any of whose cases a dispatcher touched.")
    without_dispatcher = serializers.IntegerField(help_text="Parcels no dispatcher touched.")


def _ending(help_text: str) -> MetricsEndingSplitOutput:
    return MetricsEndingSplitOutput(help_text=help_text)


class MetricsOutcomesOutput(serializers.Serializer[Any]):
    """How every failed parcel ended, as the records stand now; each parcel has exactly one ending."""

    failed_parcels = serializers.IntegerField(
        help_text="Orders whose first failed scan fell in the period (by its depot-local time)."
    )
    delivered_same_day = _ending("Delivered (a delivery scan) on the depot-local date of the first failed scan.")
    recipient_choice = _ending(
        "Not delivered that day, but settled as the recipient chose in their reply: a later time or day they asked "
        "for, or a pickup point."
    )
    moved_unasked = _ending(
        "Moved to a later slot, another day or a pickup point without the recipient asking (the playbook on "
        "silence, a dispatcher), or delivered on a later day with no choice of theirs behind it."
    )
    returned = _ending("Returned to sender.")
    cancelled = _ending("Cancelled.")
    open = _ending("None of the above yet: a case still open, or nothing settled.")


class MetricsRescuedOutput(serializers.Serializer[Any]):
    count = serializers.IntegerField(
        help_text="Failed parcels delivered the same day or settled in the recipient's choice, no dispatcher involved."
    )
    share = serializers.FloatField(allow_null=True, help_text="count / failed_parcels (0-1); null without any.")


class MetricsTimeToOutcomeOutput(serializers.Serializer[Any]):
    parcels = serializers.IntegerField(
        help_text="Failed parcels timed: returned, cancelled and open ones are left out."
    )
    median_seconds = serializers.FloatField(
        allow_null=True,
        help_text="Median from the first failed scan to the delivery scan (delivered the same day) or to the "
        "resolution of the case that settled it (the recipient's choice, or a move).",
    )
    p90_seconds = serializers.FloatField(allow_null=True, help_text="The 90th percentile of the same.")


class MetricsValueOutput(serializers.Serializer[Any]):
    currency = serializers.CharField(help_text="ISO 4217 code of the cost models that priced these figures.")
    parcels_attempted = serializers.IntegerField(help_text="Orders whose first attempt fell in the period.")
    sms_segments = serializers.IntegerField(help_text="Billed segments of the outbound texts sent in the period.")
    sms_cost = serializers.DecimalField(
        max_digits=14, decimal_places=2, help_text="sms_segments at the cost model's SMS segment cost."
    )
    failed_attempts_averted = serializers.IntegerField(
        help_text="Exceptions prevented ahead of the driver plus failed parcels rescued without a dispatcher. "
        "Assumes each rescue saves one further failed attempt."
    )
    value_averted = serializers.DecimalField(
        max_digits=14, decimal_places=2, help_text="failed_attempts_averted at the cost model's failed delivery cost."
    )
    net = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="value_averted - sms_cost.")
    net_per_1000_parcels = serializers.DecimalField(
        max_digits=14, decimal_places=2, allow_null=True, help_text="net per 1,000 parcels attempted; null without any."
    )


class MetricsMeasuresOutput(serializers.Serializer[Any]):
    first_attempt = MetricsFirstAttemptOutput()
    resolution = MetricsResolutionOutput()
    failed_attempt_cost = MetricsFailedAttemptCostOutput(
        many=True, help_text="One entry per currency of the depots' cost models; usually one."
    )
    no_touch = MetricsNoTouchOutput()
    cases = MetricsCaseCountsOutput()
    prevention = MetricsPreventionOutput(
        allow_null=True, help_text="Texts ahead of the driver and what came of them; null in reason-code groups."
    )
    outcomes = MetricsOutcomesOutput(
        help_text="Every failed parcel by how it ended, with and without a dispatcher. Groups split by the first "
        "failed scan's day, hour, depot, reason code and area."
    )
    rescued_without_dispatcher = MetricsRescuedOutput(
        help_text="Failed parcels rescued with no dispatcher: delivered the same day or settled in the recipient's "
        "own choice, over every failed parcel."
    )
    time_to_outcome = MetricsTimeToOutcomeOutput(help_text="How long failed parcels took to reach their outcome.")
    value = MetricsValueOutput(
        many=True,
        allow_null=True,
        help_text="What the desk saved against what its texts cost, one entry per currency of the depots' cost "
        "models. Each failed parcel rescued without a dispatcher is assumed to save one further failed attempt. "
        "Null in reason-code groups.",
    )


class MetricsGroupOutput(MetricsMeasuresOutput):
    key = serializers.CharField(
        allow_null=True,
        help_text=(
            "The group: a depot-local day (2026-11-21) or hour (2026-11-21T14:00), a reason code, a depot code "
            "or a postal code (area). Null in reason-code groups for first attempts that were delivered."
        ),
    )
    lat = serializers.FloatField(required=False, help_text="Area groups only: the latitude of the area's centre.")
    lng = serializers.FloatField(required=False, help_text="Area groups only: the longitude of the area's centre.")


# --- The operation --------------------------------------------------------------------------------------------------


class MetricsView(APIView):
    authentication_classes = [SessionAuthentication]
    permission_classes = [IsDeskUser]
    # JSON, or CSV with ?format=csv (or at metrics.csv) for a spreadsheet.
    renderer_classes = [JSONRenderer, MetricsCsvRenderer]

    class InputSerializer(serializers.Serializer[Any]):
        date_from = _date_field("First day, in each depot's time zone. Default: `to` if given, else today.")
        date_to = _date_field(f"Last day, inclusive; at most {MAX_DAYS} days after `from`. Default: today.")
        depot = serializers.ListField(
            child=serializers.CharField(max_length=200, allow_blank=True),
            required=False,
            default=list,
            help_text="Depot code; repeat it or separate codes with commas. Default: every depot you may see.",
        )
        group_by = serializers.ChoiceField(choices=GROUP_BY, required=False, help_text="Split the totals by this.")

        def get_fields(self) -> dict[str, Any]:
            return _renamed(super().get_fields())

        def validate_depot(self, value: list[str]) -> list[Depot]:
            # Resolved here, against the depots the user may see, because "today" is each depot's own
            # date. A depot out of reach is a 404 (or 403 for none at all), not a 400: the request is
            # well formed, the user just may not read it.
            visible = self.context["depots"]
            codes = list(dict.fromkeys(code.strip() for item in value for code in item.split(",") if code.strip()))
            if not codes:
                depots = list(visible)
                if not depots:
                    raise Refused("You work no depot yet: an admin adds depots to your account.", "no_depots")
                return depots
            depots = list(visible.filter(code__in=codes))
            missing = [code for code in codes if code not in {depot.code for depot in depots}]
            if missing:
                # The same answer for a depot that does not exist and one you do not work: codes reveal nothing.
                raise exceptions.NotFound(
                    f"No depot {', '.join(missing)} among the depots you may see.", code="depot_not_found"
                )
            return depots

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            now = timezone.now()
            # Depots on both sides of midnight: the earliest local date, so no depot's window is in its future.
            today = min(timezone.localdate(now, depot.time_zone) for depot in attrs["depot"])
            date_to = attrs.get("date_to") or today
            date_from = attrs.get("date_from") or attrs.get("date_to") or today
            if date_to < date_from:
                raise serializers.ValidationError({"to": [f"'to' ({date_to}) is before 'from' ({date_from})."]})
            days = (date_to - date_from).days + 1
            if days > MAX_DAYS:
                raise serializers.ValidationError(
                    {"to": [f"Ask for at most {MAX_DAYS} days at a time; this asks for {days}."]}
                )
            return {**attrs, "date_from": date_from, "date_to": date_to}

    @extend_schema_serializer(component_name="Metrics")
    class OutputSerializer(serializers.Serializer[Any]):
        date_from = serializers.DateField()
        date_to = serializers.DateField()
        depots = serializers.ListField(child=serializers.CharField(), help_text="The depots counted, by code.")
        group_by = serializers.ChoiceField(choices=GROUP_BY, allow_null=True)
        totals = MetricsMeasuresOutput()
        groups = MetricsGroupOutput(many=True, help_text="Empty without group_by; groups with nothing are left out.")

        def get_fields(self) -> dict[str, Any]:
            return _renamed(super().get_fields())

    @extend_schema(
        operation_id="metrics",
        summary="Delivery and exception-case metrics over a period",
        description=(
            "First-attempt delivery success, exception resolution time (mean and median), the cost of failed "
            "attempts from the admin's cost model, the share of cases finished with no dispatcher touch, case "
            "counts, and pre-arrival prevention (texts sent ahead to risky stops, reply rate, useful replies, "
            "exceptions prevented); per failed parcel, how each ended (with and without a dispatcher), the share "
            "rescued without a dispatcher and the time to its outcome; and the value of the failed attempts "
            "averted against the texts' cost (assuming each parcel rescued without a dispatcher saves one further "
            "failed attempt). For the depots asked for; totals, and groups when `group_by` is set. Dates and hours "
            "are each depot's local ones. For dispatchers and admins signed in to the desk (session cookie)."
        ),
        parameters=[InputSerializer],
        responses={200: OutputSerializer, 400: ERROR, 404: ERROR},
    )
    def get(self, request: Request, version: str) -> Response:
        user = cast(User, request.user)  # IsDeskUser lets only a signed-in user through
        params = self.InputSerializer(data=request.query_params, context={"depots": depot_list_for_metrics(user=user)})
        params.is_valid(raise_exception=True)
        values = params.validated_data
        summary = metrics_summary(
            depot_ids=[depot.pk for depot in values["depot"]],
            date_from=values["date_from"],
            date_to=values["date_to"],
            group_by=values.get("group_by"),
        )
        response = Response(self.OutputSerializer(summary).data)
        if request.accepted_renderer.format == MetricsCsvRenderer.format:
            name = f"metrics_{values['date_from']}_{values['date_to']}" + (
                f"_by_{values['group_by']}" if values.get("group_by") else ""
            )
            response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        renderer = getattr(request, "accepted_renderer", None)
        # An error is read by a person or a script, not a spreadsheet: it stays JSON.
        if response.status_code >= 400 and renderer is not None and renderer.format == MetricsCsvRenderer.format:
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)

    def permission_denied(self, request: Request, message: str | None = None, code: str | None = None) -> NoReturn:
        if not request.user.is_authenticated and request.headers.get("Authorization"):
            # Otherwise a driver app or an integration would read "credentials were not provided" about its token.
            raise exceptions.PermissionDenied(
                "Metrics are read with a desk session, not an API token: sign in as a dispatcher or an admin.",
                code="session_required",
            )
        super().permission_denied(request, message, code)


@extend_schema(exclude=True)  # the same operation as ?format=csv, at an address a spreadsheet can open
class MetricsCsvView(MetricsView):
    renderer_classes = [MetricsCsvRenderer, JSONRenderer]
