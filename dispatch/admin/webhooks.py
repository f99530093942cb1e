"""Django admin for outbound webhooks: endpoints (with a write-only secret) and the delivery log.

The shared secret is write-only here, like the access-code vault: it is never
in a list, a form's value or a read-only view. Deliveries are a log: nobody
edits them by hand; "retry now" goes through the webhook service.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.views.decorators.debug import sensitive_post_parameters

from dispatch.admin.forms import WriteOnlySecretForm, secret_field
from dispatch.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from dispatch.services.webhooks import webhook_deliveries_retry

EMPTY = "-"


class WebhookEndpointForm(WriteOnlySecretForm):
    """The secret is typed in, never shown: required on add, blank on change keeps the current one."""

    secret = secret_field(label="Secret", min_length=16)
    help_when_adding = (
        "Shared secret for the X-Dispatch-Signature HMAC (at least 16 characters). "
        "Encrypted at rest and never shown again: give it to the receiver now."
    )
    help_when_changing = "Leave blank to keep the current secret. The current secret is never shown."
    url = forms.URLField(label="URL", max_length=500, assume_scheme="https")
    events = forms.TypedMultipleChoiceField(
        choices=WebhookEvent.choices,
        coerce=str,
        widget=forms.CheckboxSelectMultiple,
        help_text="Events this endpoint receives.",
    )

    class Meta:
        model = WebhookEndpoint
        # The secret is handled by the declared field above, never copied from the instance.
        fields = ("name", "url", "events", "depot", "active")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ("name", "url", "event_list", "depot", "active")
    list_filter = ("active", "depot")
    list_select_related = ("depot",)
    search_fields = ("name", "url")
    fieldsets = ((None, {"fields": ("name", "url", "secret", "events", "depot", "active")}),)

    @method_decorator(sensitive_post_parameters("secret"))
    def changeform_view(self, *args: Any, **kwargs: Any) -> Any:
        return super().changeform_view(*args, **kwargs)

    @admin.display(description="Events")
    def event_list(self, obj: WebhookEndpoint) -> str:
        return ", ".join(obj.events) or EMPTY


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "event",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "short_error",
        "next_attempt_at",
        "delivered_at",
    )
    list_filter = ("status", "event", "endpoint")
    list_select_related = ("endpoint",)
    search_fields = ("=event_id",)
    ordering = ("-created_at",)
    # The log grows without bound: no COUNT(*) of the whole table on every page.
    show_full_result_count = False
    actions = ("retry_now",)
    fields = (
        "endpoint",
        "event",
        "event_id",
        "status",
        "attempts",
        "next_attempt_at",
        "claimed_until",
        "last_status_code",
        "last_error",
        "created_at",
        "delivered_at",
        "payload_json",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: WebhookDelivery | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: WebhookDelivery | None = None) -> bool:
        return False

    def has_retry_permission(self, request: HttpRequest) -> bool:
        # The model admin is read-only; retrying is what the change permission grants.
        return request.user.has_perm("dispatch.change_webhookdelivery")

    @admin.display(description="Last error")
    def short_error(self, obj: WebhookDelivery) -> str:
        error = obj.last_error
        return error if len(error) <= 80 else f"{error[:77]}..."

    @admin.display(description="Body data")
    def payload_json(self, obj: WebhookDelivery) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.payload, indent=2, sort_keys=True, default=str))

    @admin.action(description="Retry now", permissions=["retry"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        selected = list(queryset.values_list("pk", flat=True))
        queued = webhook_deliveries_retry(delivery_ids=selected)
        skipped = len(selected) - queued
        self.message_user(request, f"Queued {queued} deliveries to send now.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"Skipped {skipped}: already delivered or being sent right now.", messages.WARNING
            )
