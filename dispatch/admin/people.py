"""Admin for depots and the people who work them: users with their roles and depots, drivers with their recent runs."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, TypedDict

import segno
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone

from dispatch.admin.common import EMPTY, ReadOnlyInline, _count_of, _local_range
from dispatch.admin.scoping import DepotScopedAdmin, PhonesMaskedAdmin
from dispatch.models import Depot, Driver, Order, Run, Stop, User
from dispatch.services.sign_in import SIGN_IN_CODE_LIFETIME, sign_in_code_display, sign_in_code_issue

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    from dispatch.admin.runs import _RunCounts

OPEN_ORDER_STATUSES = (
    Order.Status.PENDING,
    Order.Status.OUT_FOR_DELIVERY,
    Order.Status.ATTEMPT_FAILED,
    Order.Status.RESCHEDULED,
)
# A driver's change page shows this much history; older runs are one filter away in the run list.
RECENT_RUN_DAYS = 14


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
        ("Personal info", {"fields": ("first_name", "last_name", "email", "phone")}),
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
        (None, {"fields": ("user", "depot", "phone", "language", "vehicle_capacity", "active")}),
        ("Last position", {"fields": ("last_latitude", "last_longitude", "last_seen_at")}),
    )
    inlines = (RecentRunInline,)

    @admin.display(description="Username", ordering="user__username")
    def username(self, obj: Driver) -> str:
        return obj.user.username

    def get_urls(self) -> list[URLPattern]:
        issue = path(
            "<int:driver_id>/sign-in-code/",
            self.admin_site.admin_view(self.sign_in_code_view),
            name="dispatch_driver_sign_in_code",
        )
        return [issue, *super().get_urls()]

    def sign_in_code_view(self, request: HttpRequest, driver_id: int) -> HttpResponse:
        """A new sign-in code for the driver's phone, as text and as a QR code that opens the app signed in."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm("dispatch.add_driversignincode"):
            raise PermissionDenied
        driver = self.get_queryset(request).select_related("user", "depot").filter(pk=driver_id).first()
        if driver is None:  # another depot's driver is not found, as on its change page
            raise Http404
        if not driver.active:
            self.message_user(request, "This driver is not active: activate them before signing a phone in.", "error")
            return TemplateResponse(request, "admin/dispatch/driver/sign_in_code.html", self._context(request, driver))
        record, code = sign_in_code_issue(driver=driver, issued_by=request.user)  # type: ignore[arg-type]
        app = request.build_absolute_uri(reverse("driver-app"))
        link = f"{app}#code={code}"  # what the QR code opens: the app, signing in at once
        context = {
            **self._context(request, driver),
            "code": sign_in_code_display(code),
            "app": app,
            "qr": segno.make(link, error="m").svg_inline(scale=6, border=2, title=f"Sign-in code for {driver}"),
            "expires_at": record.expires_at.astimezone(driver.depot.time_zone),
            "minutes": int(SIGN_IN_CODE_LIFETIME.total_seconds() // 60),
        }
        return TemplateResponse(request, "admin/dispatch/driver/sign_in_code.html", context)

    def _context(self, request: HttpRequest, driver: Driver) -> dict[str, object]:
        return {
            **self.admin_site.each_context(request),
            "title": f"Sign {driver} in on the driver app",
            "opts": self.model._meta,
            "original": driver,
            "driver": driver,
        }
