"""Django admin for the delivery domain.

Three things shape every class here:

* Changelists never run a query per row: foreign keys shown in a column are in
  ``list_select_related``, counts are annotated, and many-to-many columns are
  prefetched.
* A foreign key to a big table (orders, recipients, addresses, runs, stops,
  drivers, users) is an autocomplete or a read-only link, never a ``<select>``
  of every row. Depots and reason codes are few, so they stay plain selects.
* The access-code vault never renders a secret: not in a list, an inline, a
  read-only view or a form's initial value. Admins can only replace a code.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, TypedDict

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.views.decorators.debug import sensitive_post_parameters

from dispatch import ports
from dispatch.admin.forms import WriteOnlySecretForm, secret_field
from dispatch.admin.scoping import DepotScopedAdmin, PhonesMaskedAdmin
from dispatch.models import (
    AccessCredential,
    Address,
    Depot,
    Driver,
    Order,
    ReasonCode,
    Recipient,
    Run,
    ScanEvent,
    Stop,
    User,
)

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

OPEN_ORDER_STATUSES = (
    Order.Status.PENDING,
    Order.Status.OUT_FOR_DELIVERY,
    Order.Status.ATTEMPT_FAILED,
    Order.Status.RESCHEDULED,
)
# A driver's change page shows this much history; older runs are one filter away in the run list.
RECENT_RUN_DAYS = 14
EMPTY = "-"


def _count_of(queryset: QuerySet[Any], *, fk: str) -> Coalesce:
    """A correlated COUNT of the rows of ``queryset`` that point at the outer row.

    A subquery rather than Count() over a join: several counts never multiply
    each other's rows, and the outer query has no GROUP BY, which would drop
    the model's default ordering (autocomplete paginates on it).
    """
    # order_by() drops the counted model's default ordering, which would otherwise join and group by it.
    counted = queryset.filter(**{fk: OuterRef("pk")}).order_by().values(fk).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _local(moment: dt.datetime | None, zone: dt.tzinfo | None, fmt: str = "%H:%M") -> str:
    """A stored UTC time as the depot sees it."""
    if moment is None:
        return EMPTY
    return timezone.localtime(moment, zone).strftime(fmt)


def _local_range(start: dt.datetime | None, end: dt.datetime | None, zone: dt.tzinfo | None) -> str:
    known = start or end
    if known is None:
        return EMPTY
    return f"{_local(start, zone)}-{_local(end, zone)} {timezone.localtime(known, zone):%Z}"


# --- Depots and people -----------------------------------------------------------------------------------------------


class _DepotCounts(TypedDict):
    active_driver_count: int
    dispatcher_count: int
    open_order_count: int


@admin.register(Depot)
class DepotAdmin(DepotScopedAdmin):
    depot_path = "pk"
    list_display = (
        "name",
        "code",
        "time_zone",
        "active_driver_count",
        "dispatcher_count",
        "open_order_count",
        "access_reveal_radius_m",
    )
    search_fields = ("name", "code", "address")
    fieldsets = (
        (None, {"fields": ("name", "code", "time_zone")}),
        ("Location", {"fields": ("address", "latitude", "longitude")}),
        ("Access vault", {"fields": ("access_reveal_radius_m",)}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Depot]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                active_driver_count=_count_of(Driver.objects.filter(active=True), fk="depot"),
                dispatcher_count=_count_of(User.depots.through.objects.all(), fk="depot"),
                open_order_count=_count_of(Order.objects.filter(status__in=OPEN_ORDER_STATUSES), fk="depot"),
            )
        )

    @admin.display(description="Active drivers", ordering="active_driver_count")
    def active_driver_count(self, obj: WithAnnotations[Depot, _DepotCounts]) -> int:
        return obj.active_driver_count

    @admin.display(description="Dispatchers", ordering="dispatcher_count")
    def dispatcher_count(self, obj: WithAnnotations[Depot, _DepotCounts]) -> int:
        return obj.dispatcher_count

    @admin.display(description="Open orders", ordering="open_order_count")
    def open_order_count(self, obj: WithAnnotations[Depot, _DepotCounts]) -> int:
        return obj.open_order_count


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email")}),
        ("Depots", {"fields": ("depots",)}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    list_display = ("username", "full_name", "email", "roles", "depot_codes", "is_staff", "is_active", "last_login")
    list_filter = ("is_active", "is_staff", "is_superuser", "groups", "depots")
    filter_horizontal = ("groups", "user_permissions", "depots")

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).prefetch_related("groups", "depots")

    @admin.display(description="Name", ordering="last_name")
    def full_name(self, obj: User) -> str:
        return obj.get_full_name() or EMPTY

    @admin.display(description="Roles")
    def roles(self, obj: User) -> str:
        # .all() reads the prefetch; a .values_list() here would query once per row.
        return ", ".join(sorted(group.name for group in obj.groups.all())) or EMPTY

    @admin.display(description="Depots")
    def depot_codes(self, obj: User) -> str:
        return ", ".join(sorted(depot.code for depot in obj.depots.all())) or EMPTY


class _RunCounts(TypedDict):
    stop_count: int
    failed_stop_count: int


class ReadOnlyInline(admin.TabularInline):
    """A list of related rows shown for reference: nothing is added or edited from it."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RecentRunInline(ReadOnlyInline):
    """A driver's recent and upcoming runs, as links: runs are edited on their own page."""

    model = Run
    show_change_link = True
    verbose_name_plural = f"Runs (last {RECENT_RUN_DAYS} days and upcoming)"
    fields = ("service_date", "depot", "shift_local", "status", "stop_count", "plan_version")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Run]:
        since = timezone.now().date() - dt.timedelta(days=RECENT_RUN_DAYS)
        return (
            super()
            .get_queryset(request)
            .filter(service_date__gte=since)
            .select_related("depot", "driver__user")
            .annotate(stop_count=_count_of(Stop.objects.all(), fk="run"))
        )

    @admin.display(description="Shift (depot time)")
    def shift_local(self, obj: Run) -> str:
        return _local_range(obj.shift_start, obj.shift_end, obj.depot.time_zone)

    @admin.display(description="Stops")
    def stop_count(self, obj: WithAnnotations[Run, _RunCounts]) -> int:
        return obj.stop_count


@admin.register(Driver)
class DriverAdmin(PhonesMaskedAdmin, DepotScopedAdmin):
    depot_path = "depot"
    phone_fields = ("phone",)
    list_display = ("__str__", "username", "depot", "phone", "active", "vehicle_capacity", "last_seen_at")
    list_filter = ("active", "depot")
    list_select_related = ("user", "depot")
    search_fields = ("user__username", "user__first_name", "user__last_name", "phone")
    autocomplete_fields = ("user",)
    fieldsets = (
        (None, {"fields": ("user", "depot", "phone", "vehicle_capacity", "active")}),
        ("Last position", {"fields": ("last_latitude", "last_longitude", "last_seen_at")}),
    )
    inlines = (RecentRunInline,)

    @admin.display(description="Username", ordering="user__username")
    def username(self, obj: Driver) -> str:
        return obj.user.username


# --- Runs and stops --------------------------------------------------------------------------------------------------


class RunStopInline(admin.TabularInline):
    """The run's stops in driving order.

    The order is a read-only link rather than an autocomplete: an autocomplete
    widget looks its selected row up once per stop, and runs have a hundred
    stops. New stops are added from the stop page (see the link on the run).
    Stops are not deleted here: their scans are the delivery record.
    """

    model = Stop
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ("sequence",)
    fields = (
        "sequence",
        "order",
        "address",
        "status",
        "planned_arrival",
        "window_start",
        "window_end",
        "service_minutes",
        "attempt_count",
    )
    readonly_fields = ("order", "address", "attempt_count")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Stop]:
        return super().get_queryset(request).select_related("order__address")

    def has_add_permission(self, request: HttpRequest, obj: Run | None) -> bool:  # type: ignore[override]
        return False

    @admin.display(description="Address")
    def address(self, obj: Stop) -> str:
        return str(obj.order.address)


@admin.register(Run)
class RunAdmin(DepotScopedAdmin):
    depot_path = "depot"
    list_display = (
        "service_date",
        "driver",
        "depot",
        "shift_local",
        "status",
        "stop_count",
        "failed_stop_count",
        "plan_version",
        "external_ref",
    )
    list_filter = ("status", "depot", "service_date")
    list_select_related = ("depot", "driver__user")
    search_fields = ("external_ref", "driver__user__username", "driver__user__first_name", "driver__user__last_name")
    date_hierarchy = "service_date"
    autocomplete_fields = ("driver",)
    readonly_fields = ("shift_local", "plan_version", "created_at", "add_stop_link")
    fieldsets = (
        (None, {"fields": ("depot", "driver", "service_date", "status", "external_ref")}),
        ("Shift", {"fields": ("shift_start", "shift_end", "shift_local")}),
        ("Plan", {"fields": ("plan_version", "created_at", "add_stop_link")}),
    )
    inlines = (RunStopInline,)
    actions = ("resequence",)

    @admin.action(description="Re-sequence the remaining stops of the selected runs")
    def resequence(self, request: HttpRequest, queryset: QuerySet[Run]) -> None:
        runs = list(
            queryset.exclude(status__in=(Run.Status.COMPLETED, Run.Status.CANCELLED)).values_list("pk", flat=True)
        )
        requested_by = f"Admin {request.user.get_username()}"
        if not ports.routing().runs_resequence(run_ids=runs, requested_by=requested_by, user_id=request.user.pk):
            self.message_user(request, "Automatic re-sequencing is not set up.", level=messages.WARNING)
            return
        self.message_user(
            request,
            f"{len(runs)} run(s) queued for re-sequencing; drivers get the new order if it is better. "
            "Completed and cancelled runs are left as they are.",
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Run]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                stop_count=_count_of(Stop.objects.all(), fk="run"),
                failed_stop_count=_count_of(Stop.objects.filter(status=Stop.Status.FAILED), fk="run"),
            )
        )

    @admin.display(description="Shift (depot time)", ordering="shift_start")
    def shift_local(self, obj: Run) -> str:
        if obj.pk is None:
            return EMPTY
        return _local_range(obj.shift_start, obj.shift_end, obj.depot.time_zone)

    @admin.display(description="Stops", ordering="stop_count")
    def stop_count(self, obj: WithAnnotations[Run, _RunCounts]) -> int:
        return obj.stop_count

    @admin.display(description="Failed", ordering="failed_stop_count")
    def failed_stop_count(self, obj: WithAnnotations[Run, _RunCounts]) -> int:
        return obj.failed_stop_count

    @admin.display(description="New stop")
    def add_stop_link(self, obj: Run) -> str:
        if obj.pk is None:
            return EMPTY
        return format_html('<a href="{}?run={}">Add a stop to this run</a>', reverse("admin:dispatch_stop_add"), obj.pk)


class StopScanInline(ReadOnlyInline):
    """Scans are the driver app's record of what happened: shown, never edited here."""

    model = ScanEvent
    ordering = ("received_at",)
    fields = ("received_at", "device_time", "driver", "outcome", "reason_code", "notes", "photo", "idempotency_key")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[ScanEvent]:
        return super().get_queryset(request).select_related("driver__user", "reason_code")


@admin.register(Stop)
class StopAdmin(DepotScopedAdmin):
    depot_path = "run__depot"
    list_display = (
        "__str__",
        "run",
        "order",
        "sequence",
        "status",
        "planned_arrival_local",
        "window_local",
        "attempt_count",
        "updated_at",
    )
    list_filter = ("status", "run__depot", "run__service_date")
    list_select_related = ("order", "run__depot", "run__driver__user")
    search_fields = ("order__reference", "run__external_ref", "run__driver__user__username")
    date_hierarchy = "run__service_date"
    autocomplete_fields = ("run", "order")
    readonly_fields = ("attempt_count", "updated_at")
    fieldsets = (
        (None, {"fields": ("run", "order", "sequence", "status")}),
        ("Timing", {"fields": ("planned_arrival", "window_start", "window_end", "service_minutes")}),
        ("Record", {"fields": ("attempt_count", "updated_at")}),
    )
    inlines = (StopScanInline,)
    show_full_result_count = False

    @admin.display(description="Planned arrival", ordering="planned_arrival")
    def planned_arrival_local(self, obj: Stop) -> str:
        return _local(obj.planned_arrival, obj.run.depot.time_zone, "%H:%M %Z")

    @admin.display(description="Window (depot time)", ordering="window_start")
    def window_local(self, obj: Stop) -> str:
        return _local_range(obj.window_start, obj.window_end, obj.run.depot.time_zone)


# --- Orders, recipients, addresses -----------------------------------------------------------------------------------


class OrderStopInline(ReadOnlyInline):
    """Every run this order has been on, so an admin sees its attempts at a glance."""

    model = Stop
    show_change_link = True
    verbose_name_plural = "Stops (one per run the order was on)"
    ordering = ("run__service_date", "run__shift_start")
    fields = ("run", "sequence", "status", "planned_arrival", "attempt_count", "updated_at")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Stop]:
        # "order" for each row's title, str(stop), which names the order.
        return super().get_queryset(request).select_related("order", "run__driver__user", "run__depot")


@admin.register(Order)
class OrderAdmin(DepotScopedAdmin):
    depot_path = "depot"
    list_display = (
        "reference",
        "status",
        "depot",
        "recipient",
        "address",
        "window_local",
        "parcel_count",
        "declared_value",
        "signature_required",
        "created_at",
    )
    list_filter = ("status", "depot", "signature_required", "safe_drop_allowed", "created_at")
    list_select_related = ("depot", "recipient", "address")
    search_fields = ("reference", "recipient__name", "recipient__phone", "address__line1", "address__postal_code")
    date_hierarchy = "created_at"
    autocomplete_fields = ("recipient", "address")
    readonly_fields = ("created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("reference", "depot", "status")}),
        ("Delivery", {"fields": ("recipient", "address", "window_start", "window_end")}),
        (
            "Parcel",
            {
                "fields": (
                    "parcel_count",
                    "declared_value",
                    "signature_required",
                    "safe_drop_allowed",
                    "neighbour_allowed",
                )
            },
        ),
        ("Record", {"fields": ("created_at", "updated_at")}),
    )
    inlines = (OrderStopInline,)
    show_full_result_count = False

    @admin.display(description="Window (depot time)", ordering="window_start")
    def window_local(self, obj: Order) -> str:
        return _local_range(obj.window_start, obj.window_end, obj.depot.time_zone)


@admin.register(Recipient)
class RecipientAdmin(PhonesMaskedAdmin, DepotScopedAdmin):
    depot_path = "depot"
    phone_fields = ("phone", "alt_phone")
    list_display = (
        "name",
        "depot",
        "phone",
        "email",
        "language",
        "preferred_channel",
        "tier",
        "opted_out",
        "created_at",
    )
    list_filter = ("depot", "tier", "language", "preferred_channel", "opted_out")
    list_select_related = ("depot",)
    search_fields = ("name", "phone", "alt_phone", "email", "external_id")
    readonly_fields = ("created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("depot", "name", "tier", "external_id")}),
        ("Contact", {"fields": ("phone", "alt_phone", "email", "language", "preferred_channel", "time_zone")}),
        ("Messaging", {"fields": ("opted_out", "opted_out_at", "quiet_hours_start", "quiet_hours_end")}),
        ("Record", {"fields": ("created_at", "updated_at")}),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Recipient | None = None) -> Any:
        # The orders of a recipient are their depot's: moving the recipient would leave the orders behind.
        return (*super().get_readonly_fields(request, obj), *(("depot",) if obj is not None else ()))


# --- The access vault ------------------------------------------------------------------------------------------------


class AccessCredentialForm(WriteOnlySecretForm):
    """Takes a new code, never shows the current one."""

    secret = secret_field(label="Code")
    help_when_adding = "The code or instruction itself. Encrypted at rest and never shown again."
    help_when_changing = "Leave blank to keep the current code. The current code is never shown."

    class Meta:
        model = AccessCredential
        # The secret is handled by the declared field above, not copied from the instance.
        fields = ("address", "kind", "source", "valid_from", "valid_to")


class _CredentialDisplay:
    """Columns shared by the vault's admin and its inline; none of them reads the secret's value."""

    @admin.display(description="Code on file")
    def secret_status(self, obj: AccessCredential) -> str:
        # Presence only: the digits never leave the model.
        return "set" if obj.pk and obj.secret else "not set"

    @admin.display(description="Flagged", boolean=True, ordering="failure_count")
    def flagged(self, obj: AccessCredential) -> bool:
        return obj.is_flagged

    @admin.display(description="Verified", boolean=True, ordering="last_worked_at")
    def verified(self, obj: AccessCredential) -> bool:
        return obj.is_verified


CREDENTIAL_COUNTERS = ("last_worked_at", "last_failed_at", "failure_count")


class AccessCredentialInline(_CredentialDisplay, admin.TabularInline):
    model = AccessCredential
    form = AccessCredentialForm
    extra = 0
    show_change_link = True
    readonly_fields = ("secret_status", *CREDENTIAL_COUNTERS, "flagged", "verified")

    def get_queryset(self, request: HttpRequest) -> QuerySet[AccessCredential]:
        # Each row's title is str(credential), which names the address.
        return super().get_queryset(request).select_related("address")

    def get_fields(self, request: HttpRequest, obj: Address | None = None) -> tuple[str, ...]:
        # A read-only inline renders every listed field from the model, and the model hands out plaintext.
        code = ("secret_status", "secret") if self.has_change_permission(request, obj) else ("secret_status",)
        return ("kind", *code, "source", "valid_from", "valid_to", *CREDENTIAL_COUNTERS, "flagged", "verified")

    def has_add_permission(self, request: HttpRequest, obj: Address | None) -> bool:  # type: ignore[override]
        # The add rows share the fields of the change rows, so adding needs the right to change.
        return super().has_add_permission(request, obj) and self.has_change_permission(request, obj)


class _AddressCounts(TypedDict):
    credential_count: int
    flagged_credential_count: int


@admin.register(Address)
class AddressAdmin(DepotScopedAdmin):
    depot_path = "depot"
    list_display = (
        "__str__",
        "depot",
        "city",
        "postal_code",
        "building_type",
        "credential_count",
        "flagged_credential_count",
        "created_at",
    )
    list_filter = ("depot", "building_type", "country", "region")
    list_select_related = ("depot",)
    search_fields = ("line1", "line2", "unit", "city", "postal_code", "external_ref")
    readonly_fields = ("created_at",)
    fieldsets = (
        (None, {"fields": ("depot", "line1", "line2", "unit", "city", "region", "postal_code", "country")}),
        ("Location", {"fields": ("latitude", "longitude")}),
        ("Building", {"fields": ("building_type", "building_notes")}),
        ("Record", {"fields": ("external_ref", "created_at")}),
    )
    inlines = (AccessCredentialInline,)

    def get_readonly_fields(self, request: HttpRequest, obj: Address | None = None) -> Any:
        # The orders to an address are their depot's: moving the address would leave the orders behind.
        return (*super().get_readonly_fields(request, obj), *(("depot",) if obj is not None else ()))

    def get_queryset(self, request: HttpRequest) -> QuerySet[Address]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                credential_count=_count_of(AccessCredential.objects.all(), fk="address"),
                flagged_credential_count=_count_of(
                    AccessCredential.objects.filter(failure_count__gte=AccessCredential.FLAG_AFTER_FAILURES),
                    fk="address",
                ),
            )
        )

    @method_decorator(sensitive_post_parameters())
    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # The inline posts codes under names like access_credentials-0-secret: keep every field out of error reports.
        return super().changeform_view(request, object_id, form_url, extra_context)

    @admin.display(description="Access codes", ordering="credential_count")
    def credential_count(self, obj: WithAnnotations[Address, _AddressCounts]) -> int:
        return obj.credential_count

    @admin.display(description="Flagged codes", ordering="flagged_credential_count")
    def flagged_credential_count(self, obj: WithAnnotations[Address, _AddressCounts]) -> int:
        return obj.flagged_credential_count


class CredentialHealthFilter(admin.SimpleListFilter):
    title = "health"
    parameter_name = "health"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [
            ("flagged", f"Flagged ({AccessCredential.FLAG_AFTER_FAILURES}+ failures)"),
            ("verified", "Verified"),
            ("untested", "Never confirmed"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[AccessCredential]) -> QuerySet[AccessCredential]:
        flagged = Q(failure_count__gte=AccessCredential.FLAG_AFTER_FAILURES)
        if self.value() == "flagged":
            return queryset.filter(flagged)
        if self.value() == "verified":
            return queryset.filter(last_worked_at__isnull=False).exclude(flagged)
        if self.value() == "untested":
            return queryset.filter(last_worked_at__isnull=True).exclude(flagged)
        return queryset


@admin.register(AccessCredential)
class AccessCredentialAdmin(_CredentialDisplay, admin.ModelAdmin):
    form = AccessCredentialForm
    list_display = (
        "__str__",
        "address",
        "kind",
        "source",
        "flagged",
        "verified",
        "failure_count",
        "last_worked_at",
        "last_failed_at",
        "valid_from",
        "valid_to",
        "updated_at",
    )
    list_filter = (CredentialHealthFilter, "kind", "source")
    list_select_related = ("address",)
    # Never the secret: it is encrypted, and searching it would be an oracle for guessing codes.
    search_fields = ("address__line1", "address__unit", "address__postal_code", "address__city")
    autocomplete_fields = ("address",)
    readonly_fields = ("secret_status", *CREDENTIAL_COUNTERS, "flagged", "verified", "created_at", "updated_at")

    def get_fieldsets(self, request: HttpRequest, obj: AccessCredential | None = None) -> Any:
        code = ["secret"] if obj is None else ["secret_status", "secret"]
        if obj is not None and not self.has_change_permission(request, obj):
            # View-only pages render every listed field from the model, which would print the plaintext.
            code.remove("secret")
        fieldsets: list[tuple[str | None, dict[str, Any]]] = [
            (None, {"fields": ["address", "kind", "source"]}),
            ("Code", {"fields": code}),
            ("Validity", {"fields": ["valid_from", "valid_to"]}),
        ]
        if obj is not None:
            fieldsets.append(("Field record", {"fields": [*CREDENTIAL_COUNTERS, "flagged", "verified"]}))
            fieldsets.append(("Record", {"fields": ["created_at", "updated_at"]}))
        return fieldsets

    @method_decorator(sensitive_post_parameters("secret"))
    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        return super().changeform_view(request, object_id, form_url, extra_context)


# --- Reference data and the scan log ---------------------------------------------------------------------------------


@admin.register(ReasonCode)
class ReasonCodeAdmin(admin.ModelAdmin):
    list_display = ("code", "label", "category", "photo_required", "active")
    list_filter = ("category", "active", "photo_required")
    search_fields = ("code", "label")

    def get_readonly_fields(self, request: HttpRequest, obj: ReasonCode | None = None) -> tuple[str, ...]:
        # The driver app and integrations send the code itself; renaming one would orphan them.
        return ("code",) if obj is not None else ()


@admin.register(ScanEvent)
class ScanEventAdmin(DepotScopedAdmin):
    """The driver app's log. Nothing here writes: a corrected outcome is a new scan, not an edit."""

    depot_path = "stop__run__depot"

    list_display = (
        "received_at",
        "outcome",
        "reason_code",
        "order_reference",
        "driver",
        "device_time",
        "has_photo",
        "idempotency_key",
    )
    list_filter = ("outcome", "reason_code", "driver__depot", "received_at")
    list_select_related = ("stop__order", "driver__user", "reason_code")
    search_fields = ("idempotency_key", "stop__order__reference", "driver__user__username")
    date_hierarchy = "received_at"
    fieldsets = (
        (None, {"fields": ("stop", "driver", "outcome", "reason_code", "notes", "photo")}),
        ("Where and when", {"fields": ("latitude", "longitude", "device_time", "received_at")}),
        ("Delivery", {"fields": ("idempotency_key",)}),
    )
    readonly_fields = ("received_at", "idempotency_key")
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ScanEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ScanEvent | None = None) -> bool:
        return False

    @admin.display(description="Order", ordering="stop__order__reference")
    def order_reference(self, obj: ScanEvent) -> str:
        return obj.stop.order.reference

    @admin.display(description="Photo", boolean=True)
    def has_photo(self, obj: ScanEvent) -> bool:
        return bool(obj.photo)
