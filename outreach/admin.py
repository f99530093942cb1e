"""Admin for outreach: templates are edited here; conversations and messages are records, read only."""

from __future__ import annotations

import string

from django import forms
from django.contrib import admin

from dispatch.admin.api import ReadOnlyAdmin
from dispatch.admin.domain import ReadOnlyInline
from dispatch.admin.scoping import DepotScopedAdmin
from outreach.models import Conversation, Message, MessageTemplate

PLACEHOLDERS = {"first_name", "order", "problem", "outcome"}


class MessageTemplateForm(forms.ModelForm):
    class Meta:
        model = MessageTemplate
        fields = ("key", "language", "body")

    def clean_body(self) -> str:
        body: str = self.cleaned_data["body"]
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(body) if name is not None}
        except ValueError:
            raise forms.ValidationError(
                "A brace is not closed: write {first_name}, or {{ for a literal brace."
            ) from None
        unknown = names - PLACEHOLDERS
        if unknown:
            raise forms.ValidationError(
                f"Unknown placeholder {', '.join(sorted('{' + n + '}' for n in unknown))}. "
                f"Use {', '.join(sorted('{' + n + '}' for n in PLACEHOLDERS))}."
            )
        return body


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    form = MessageTemplateForm
    list_display = ("key", "language", "body", "updated_at")
    list_filter = ("key", "language")


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
