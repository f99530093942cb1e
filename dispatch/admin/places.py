"""Admin for recipients, addresses and the access-code vault: a code is replaced here, never shown."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters

from dispatch.admin.common import _count_of
from dispatch.admin.forms import WriteOnlySecretForm, secret_field
from dispatch.admin.scoping import DepotScopedAdmin, PhonesMaskedAdmin
from dispatch.models import AccessCredential, Address, PickupPoint, Recipient

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


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


@admin.register(PickupPoint)
class PickupPointAdmin(DepotScopedAdmin):
    """Where recipients can collect a parcel: named, with address and hours, in the texts they get."""

    depot_path = "depot"
    list_display = ("name", "address", "depot", "opens", "closes", "open_days", "active")
    list_select_related = ("depot",)
    list_filter = ("depot", "active")
    search_fields = ("name", "address")
