"""Admin for outreach: templates are edited here; conversations and messages are records, read only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from dispatch.admin.api import ReadOnlyAdmin
from dispatch.admin.domain import ReadOnlyInline
from dispatch.admin.scoping import DepotScopedAdmin
from dispatch.models import languages
from outreach import wording
from outreach.models import Conversation, Message, MessageTemplate, RecipientLink


class MessageTemplateForm(forms.ModelForm):
    class Meta:
        model = MessageTemplate
        fields = ("key", "language", "body")

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        key, body = cleaned.get("key"), cleaned.get("body")
        if not key or body is None:
            return cleaned
        try:
            names = wording.placeholders(body)
        except ValueError:
            self.add_error("body", "A brace is not closed: write {first_name}, or {{ for a literal brace.")
            return cleaned
        allowed = wording.PLACEHOLDERS[key]
        unknown = names - allowed
        if unknown:
            self.add_error(
                "body",
                f"Unknown placeholder {', '.join(sorted('{' + n + '}' for n in unknown))}. This text takes "
                + (", ".join(sorted("{" + n + "}" for n in allowed)) or "no placeholders")
                + ".",
            )
        return cleaned


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    """An admin's own wording, per purpose and language; without a row, texts use the default wording, shown
    below for each purpose in each language."""

    form = MessageTemplateForm
    list_display = ("key", "language", "body", "updated_at")
    list_filter = ("key", "language")

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        defaults = [
            (label, code, _default(key, code))
            for key, label in MessageTemplate.Key.choices
            for code, _name in languages()
        ]
        return super().changelist_view(request, {**(extra_context or {}), "defaults": defaults})


def _default(key: str, language: str) -> str:
    with translation.override(language):
        return str(wording.DEFAULTS[key])


class MessageInline(ReadOnlyInline):
    model = Message
    fields = ("created_at", "direction", "channel", "status", "body", "error_code", "provider_sid")
    ordering = ("created_at", "id")


@admin.register(Conversation)
class ConversationAdmin(DepotScopedAdmin, ReadOnlyAdmin):
    depot_path = "case__depot"
    list_display = ("id", "case", "recipient", "created_at")
    list_select_related = ("case__order", "recipient")
    search_fields = ("case__order__reference",)
    inlines = [MessageInline]


@admin.register(Message)
class MessageAdmin(DepotScopedAdmin, ReadOnlyAdmin):
    depot_path = "conversation__case__depot"
    list_display = ("id", "conversation", "direction", "status", "template_key", "attempts", "created_at")
    list_filter = ("direction", "status", "channel", "template_key")
    list_select_related = ("conversation",)


@admin.register(RecipientLink)
class RecipientLinkAdmin(DepotScopedAdmin, ReadOnlyAdmin):
    """The links to recipients' self-service pages: when each was opened, and revoking one closes it at once."""

    depot_path = "stop__run__depot"
    list_display = ("stop", "recipient", "created_at", "expires_at", "opened", "opened_at", "revoked_at")
    list_select_related = ("stop", "recipient")
    search_fields = ("stop__order__reference",)
    actions = ["revoke"]

    @admin.action(description="Revoke: the page stops opening at once")
    def revoke(self, request: HttpRequest, queryset: QuerySet[RecipientLink]) -> None:
        closed = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"{closed} link(s) revoked.")
