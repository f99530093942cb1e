"""Admin for exception cases, escalation rules and playbooks.

Cases are read-mostly: they change state only through the workflow. Rules and
playbooks are the admins' to edit; their forms turn away a rule or a playbook
that cannot work and say what to fix. Dispatchers may look but not change.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import F, Max, Prefetch, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from dispatch.admin.scoping import DepotScopedAdmin
from dispatch.models import Depot, ReasonCode, Recipient
from exceptions.models import (
    CaseEvent,
    EscalationRule,
    ExceptionCase,
    NoticeSettings,
    Playbook,
    PlaybookStep,
    PreArrivalContact,
    PreventionSettings,
    ReplyIntent,
    StopNotice,
    StopRisk,
)
from exceptions.rules import rule_dry_run, rules_active


class CaseEventInline(admin.TabularInline):
    model = CaseEvent
    extra = 0
    can_delete = False
    fields = ("at", "kind", "actor", "actor_user", "from_state", "to_state", "summary")
    readonly_fields = fields
    ordering = ("at", "id")

    def has_add_permission(self, request: HttpRequest, obj: ExceptionCase | None = None) -> bool:
        return False


def _short_time(moment: dt.datetime | None) -> str:
    """ "Dec 7, 08:37" in the zone admin shows (the depots'), or a dash."""
    if moment is None:
        return "-"
    local = timezone.localtime(moment)
    return f"{local:%b} {local.day}, {local:%H:%M}"


@admin.register(ExceptionCase)
class ExceptionCaseAdmin(DepotScopedAdmin):
    depot_path = "depot"
    # Short columns, so the list fits a laptop's screen: the reason's label, times as the board writes them.
    list_display = ("id", "order", "reason", "state", "outcome", "priority", "depot", "opened", "sla_due")
    list_filter = ("state", "outcome", "outcome_source", "reason_code", "depot", "touched_by_dispatcher")
    list_select_related = ("order", "reason_code", "depot")
    search_fields = ("order__reference",)
    date_hierarchy = "opened_at"
    inlines = [CaseEventInline]

    @admin.display(description="Reason", ordering="reason_code__label")
    def reason(self, obj: ExceptionCase) -> str:
        return obj.reason_code.label

    @admin.display(description="Opened", ordering="opened_at")
    def opened(self, obj: ExceptionCase) -> str:
        return _short_time(obj.opened_at)

    @admin.display(description="SLA due", ordering="sla_due_at")
    def sla_due(self, obj: ExceptionCase) -> str:
        return _short_time(obj.sla_due_at)

    def has_change_permission(self, request: HttpRequest, obj: ExceptionCase | None = None) -> bool:
        # Every change goes through exceptions.workflow, which keeps the timeline whole.
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Cases open from failed scans, never by hand.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ExceptionCase | None = None) -> bool:
        return False


# --- Escalation rules -----------------------------------------------------------------------------------------------

DRY_RUN_SHOWN = 5
CONDITION_FIELDS = (
    "reason_codes",
    "depots",
    "min_attempts",
    "order_value_above",
    "recipient_tiers",
    "no_reply_minutes",
    "reply_intents",
    "local_time_from",
    "local_time_to",
)


class EscalationRuleForm(forms.ModelForm):
    """Turns away a rule that cannot do what its author meant, and says why in the author's terms."""

    # Ticked boxes instead of the array field's comma-separated text, which invites typos.
    recipient_tiers = forms.TypedMultipleChoiceField(
        choices=Recipient.Tier.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked to match any tier.",
    )
    reply_intents = forms.TypedMultipleChoiceField(
        choices=ReplyIntent.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Matches when the recipient's last reply meant one of these. Leave all unticked to match any.",
    )

    class Meta:
        model = EscalationRule
        fields = ("name", "position", "active", "description", *CONDITION_FIELDS, "action", "priority", "notify_group")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        action = data.get("action")
        priority = data.get("priority")
        if action == EscalationRule.Action.ESCALATE and priority is None and "priority" not in self.errors:
            self.add_error("priority", "An escalation needs a priority: 1 is the most urgent, 5 the least.")
        if action and action != EscalationRule.Action.ESCALATE and priority is not None:
            label = EscalationRule.Action(action).label
            self.add_error("priority", f"Only an escalation has a priority. Leave it empty for “{label}”.")

        if action == EscalationRule.Action.RETURN_TO_SENDER and data.get("notify_group") is not None:
            # The workflow alerts a group only when a case reaches dispatchers; a returned parcel does not.
            self.add_error(
                "notify_group", "Return to sender alerts no one, so this group would never hear of it. Leave it empty."
            )

        min_attempts = data.get("min_attempts")
        if min_attempts == 0:
            self.add_error(
                "min_attempts",
                "Every case has at least one failed attempt, so 0 matches them all. "
                "Enter 1 or more, or leave it empty.",
            )
        elif (
            action == EscalationRule.Action.RETURN_TO_SENDER
            and min_attempts is None
            and "min_attempts" not in self.errors
        ):
            self.add_error(
                "min_attempts",
                "Return to sender needs a number of failed attempts, "
                "so no parcel is sent back before it was tried that often.",
            )

        start, end = data.get("local_time_from"), data.get("local_time_to")
        if (start is None) != (end is None) and not {"local_time_from", "local_time_to"} & set(self.errors):
            missing = "local_time_to" if end is None else "local_time_from"
            self.add_error(
                missing, "Give both ends of the time range (for example 22:00 to 06:00), or leave both empty."
            )
        elif start is not None and start == end:
            self.add_error(
                "local_time_to",
                "The range starts and ends at the same time, so it covers no time at all. "
                "Leave both empty for all day.",
            )

        if data.get("no_reply_minutes") is not None and data.get("reply_intents"):
            self.add_error(
                "reply_intents",
                "“No reply minutes” needs a recipient who has not replied, and reply intents need a reply, "
                "so together they never match. Keep one of the two.",
            )

        # A field that failed its own validation is missing here; it is not "no condition".
        if not set(CONDITION_FIELDS) & set(self.errors) and not any(
            _is_set(data.get(name)) for name in CONDITION_FIELDS
        ):
            self.add_error(
                None,
                "This rule sets no condition, so it would match every case. "
                "Set at least one, for example reason codes, depots or attempts.",
            )
        return data


def _is_set(value: object) -> bool:
    if isinstance(value, QuerySet):
        return value.exists()
    return value not in (None, "", [])


def _conditions(rule: EscalationRule) -> str:
    """A one-line summary of what a rule matches, from its prefetched relations."""
    parts: list[str] = []
    if codes := [reason.code for reason in rule.reason_codes.all()]:
        parts.append(" or ".join(codes))
    if depots := [depot.code for depot in rule.depots.all()]:
        parts.append("at " + " or ".join(depots))
    if rule.min_attempts is not None:
        parts.append(f"{rule.min_attempts}+ attempts")
    if rule.order_value_above is not None:
        parts.append(f"value over {rule.order_value_above}")
    if rule.recipient_tiers:
        parts.append("tier " + " or ".join(rule.recipient_tiers))
    if rule.no_reply_minutes is not None:
        parts.append(f"no reply for {rule.no_reply_minutes}+ min")
    if rule.reply_intents:
        parts.append("replied " + " or ".join(rule.reply_intents))
    start, end = rule.local_time_from, rule.local_time_to
    if start is not None and end is not None:
        parts.append(f"{start:%H:%M}-{end:%H:%M} depot time")
    elif start is not None:
        parts.append(f"from {start:%H:%M} depot time")
    elif end is not None:
        parts.append(f"until {end:%H:%M} depot time")
    return " · ".join(parts) or "every case"


def _case_links(cases: list[ExceptionCase]) -> SafeString:
    return format_html_join(
        ", ",
        '<a href="{}">#{} ({})</a>',
        (
            (reverse("admin:exceptions_exceptioncase_change", args=[case.pk]), case.pk, case.order.reference)
            for case in cases
        ),
    )


def _dry_run_message(rule: EscalationRule, cases: list[ExceptionCase], earlier: dict[int, EscalationRule]) -> str:
    """What the rule matches now, each case a link, and which of them an earlier active rule takes first."""
    inactive = "" if rule.active else " The rule is inactive: it applies to no case until it is switched on."
    if not cases:
        return f"“{rule}” matches no open case now.{inactive} Dry run: nothing was changed."
    more = f" and {len(cases) - DRY_RUN_SHOWN} more" if len(cases) > DRY_RUN_SHOWN else ""
    noun = "case" if len(cases) == 1 else "cases"
    taken: dict[EscalationRule, list[ExceptionCase]] = {}
    for case in cases:
        if case.pk in earlier:
            taken.setdefault(earlier[case.pk], []).append(case)
    if taken:
        firsts = format_html_join(
            "; ", "“{}” takes {}", ((winner.name, _case_links(won)) for winner, won in taken.items())
        )
        wins = format_html(" An earlier rule comes first for {} of them: {}.", sum(map(len, taken.values())), firsts)
    else:
        wins = format_html(" No earlier active rule takes any of them: this one decides.")
    return format_html(
        "“{}” matches {} open {} now: {}{}.{}{} Dry run: nothing was changed.",
        rule,
        len(cases),
        noun,
        _case_links(cases[:DRY_RUN_SHOWN]),
        more,
        inactive,
        wins,
    )


@admin.register(EscalationRule)
class EscalationRuleAdmin(admin.ModelAdmin):
    form = EscalationRuleForm
    list_display = ("position", "name", "active", "action", "priority", "conditions")
    list_display_links = ("name",)
    list_editable = ("position", "active")
    list_filter = ("action", "active")
    search_fields = ("name", "description")
    ordering = ("position", "id")
    filter_horizontal = ("reason_codes", "depots")
    actions = ["dry_run"]
    fieldsets = (
        (None, {"fields": ("name", "position", "active", "description")}),
        (
            "When: every condition set must hold; one left empty matches anything",
            {
                "fields": (
                    "reason_codes",
                    "depots",
                    "min_attempts",
                    "order_value_above",
                    "recipient_tiers",
                    "no_reply_minutes",
                    "reply_intents",
                    ("local_time_from", "local_time_to"),
                )
            },
        ),
        ("Then", {"fields": ("action", "priority", "notify_group")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[EscalationRule]:
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch("reason_codes", queryset=ReasonCode.objects.only("id", "code")),
                Prefetch("depots", queryset=Depot.objects.only("id", "code")),
            )
        )

    @admin.display(description="Conditions")
    def conditions(self, obj: EscalationRule) -> str:
        return _conditions(obj)

    # Reads only, so whoever may see the rules may try them.
    @admin.action(description="Dry run: show open cases this rule matches now", permissions=["view"])
    def dry_run(self, request: HttpRequest, queryset: QuerySet[EscalationRule]) -> None:
        now = timezone.now()
        active = rules_active()
        for rule in queryset.order_by("position", "id"):
            cases = rule_dry_run(rule=rule, now=now)
            # The rules tried before this one, first match wins: which of its cases each takes.
            earlier: dict[int, EscalationRule] = {}
            for before in [r for r in active if (r.position, r.pk) < (rule.position, rule.pk)]:
                if len(earlier) == len(cases):
                    break
                for case in rule_dry_run(rule=before, now=now):
                    earlier.setdefault(case.pk, before)
            earlier = {pk: winner for pk, winner in earlier.items() if pk in {case.pk for case in cases}}
            self.message_user(request, _dry_run_message(rule, cases, earlier), messages.INFO)


# --- Playbooks -------------------------------------------------------------------------------------------------------


class PlaybookStepForm(forms.ModelForm):
    class Meta:
        model = PlaybookStep
        fields = ("position", "action", "wait_minutes", "priority")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        action, priority = data.get("action"), data.get("priority")
        if action == PlaybookStep.Action.ESCALATE and priority is None and "priority" not in self.errors:
            self.add_error("priority", "An escalation step needs a priority: 1 is the most urgent, 5 the least.")
        elif action and action != PlaybookStep.Action.ESCALATE and priority is not None:
            label = PlaybookStep.Action(action).label
            self.add_error("priority", f"Only an escalation step has a priority. Leave it empty for “{label}”.")
        return data


class PlaybookStepFormSet(BaseInlineFormSet):
    """Checks the steps as a sequence: the order the workflow will run them in."""

    def clean(self) -> None:
        if any(self.errors):
            # Each row's own mistakes first; the sequence is judged once every row reads clearly.
            return
        steps = sorted(
            (form.cleaned_data["position"], form.cleaned_data["action"])
            for form in self.forms
            if form.cleaned_data and not self._deleting(form)
        )
        if not steps:
            raise ValidationError(
                "A playbook needs at least one step. Add one, for example “Escalate to a dispatcher”."
            )
        problems: list[str] = []

        positions = [position for position, _ in steps]
        for position in sorted({p for p in positions if positions.count(p) > 1}):
            problems.append(
                f"{positions.count(position)} steps are at position {position}. Give each step its own position."
            )

        reprompts = [position for position, action in steps if action == PlaybookStep.Action.REPROMPT]
        if len(reprompts) > 1:
            problems.append(
                f"A recipient is re-prompted at most once, but {_steps(reprompts)} each re-prompt. Keep one."
            )
        for index, (position, action) in enumerate(steps):
            if action == PlaybookStep.Action.REPROMPT and not any(
                earlier in PlaybookStep.ASK_ACTIONS for _, earlier in steps[:index]
            ):
                problems.append(
                    f"Step {position} re-prompts, but nothing was asked before it. "
                    "Put an ask step (access code, time window or alternatives) before it."
                )

        final = next((index for index, (_, action) in enumerate(steps) if action in PlaybookStep.FINAL_ACTIONS), None)
        if final is not None and final < len(steps) - 1:
            position, action = steps[final]
            later = [p for p, _ in steps[final + 1 :]]
            them = "it" if len(later) == 1 else "them"
            problems.append(
                f"Step {position} ({PlaybookStep.Action(action).label}) ends the playbook, so {_steps(later)} "
                f"would never run. Remove {them} or move {them} before step {position}."
            )
        if problems:
            raise ValidationError(problems)
        super().clean()

    def _deleting(self, form: forms.BaseForm) -> bool:
        return bool(self.can_delete and form.cleaned_data.get("DELETE"))

    def save_existing_objects(self, commit: bool = True) -> list[PlaybookStep]:
        if commit:
            self._free_positions()
        return super().save_existing_objects(commit)

    def _free_positions(self) -> None:
        # Steps are saved one at a time and (playbook, position) is unique at once, not at commit:
        # swapping two steps, or reusing a deleted step's position, would collide halfway through.
        # Lift every moving or deleted step above all positions in use first.
        moving = [
            form.instance.pk
            for form in self.initial_forms
            if form.instance.pk is not None and (self._deleting(form) or "position" in form.changed_data)
        ]
        if not moving:
            return
        steps = PlaybookStep.objects.filter(playbook=self.instance)
        stored = steps.aggregate(top=Max("position"))["top"] or 0
        wanted = max((form.cleaned_data.get("position") or 0 for form in self.forms if form.cleaned_data), default=0)
        steps.filter(pk__in=moving).update(position=F("position") + max(stored, wanted) + 1)


def _steps(positions: list[int]) -> str:
    """'step 4', 'steps 4 and 5', 'steps 3, 4 and 5'."""
    if len(positions) == 1:
        return f"step {positions[0]}"
    return "steps " + ", ".join(str(p) for p in positions[:-1]) + f" and {positions[-1]}"


class PlaybookStepInline(admin.TabularInline):
    model = PlaybookStep
    form = PlaybookStepForm
    formset = PlaybookStepFormSet
    ordering = ("position",)
    extra = 1


@admin.register(Playbook)
class PlaybookAdmin(admin.ModelAdmin):
    list_display = ("reason_code", "sla_minutes", "urgent_outreach", "steps", "updated_at")
    list_select_related = ("reason_code",)
    fields = ("reason_code", "sla_minutes", "urgent_outreach", "description")
    inlines = [PlaybookStepInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Playbook]:
        return super().get_queryset(request).prefetch_related("steps")

    def get_readonly_fields(self, request: HttpRequest, obj: Playbook | None = None) -> tuple[str, ...]:
        # A playbook belongs to its reason code; another code gets its own playbook.
        return ("reason_code",) if obj is not None else ()

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "reason_code":
            kwargs["queryset"] = ReasonCode.objects.filter(playbook__isnull=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="Steps")
    def steps(self, obj: Playbook) -> str:
        return " → ".join(
            step.action.replace("_", " ") + (f" (priority {step.priority})" if step.priority else "")
            for step in obj.steps.all()
        )


# --- Stop risk --------------------------------------------------------------------------------------------------------


@admin.register(StopRisk)
class StopRiskAdmin(DepotScopedAdmin):
    """Read-only: scores are written by exceptions.prevention.risk, in bulk, and rewritten when the plan moves."""

    depot_path = "stop__run__depot"

    list_display = ("stop", "score", "first_reason", "computed_at")
    list_filter = ("stop__run__service_date",)
    list_select_related = ("stop__order",)
    search_fields = ("stop__order__reference",)
    fields = ("stop", "score", "reasons", "missing", "computed_at")
    readonly_fields = fields

    @admin.display(description="First reason")
    def first_reason(self, obj: StopRisk) -> str:
        return obj.first_reason

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: StopRisk | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: StopRisk | None = None) -> bool:
        return False


@admin.register(PreventionSettings)
class PreventionSettingsAdmin(admin.ModelAdmin):
    list_display = (
        "__str__", "enabled", "risk_threshold", "daily_share", "lead", "lead_minutes", "lead_stops", "morning_at"
    )  # fmt: skip

    def has_add_permission(self, request: HttpRequest) -> bool:
        # One row, created with the defaults on first use.
        return not PreventionSettings.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: PreventionSettings | None = None) -> bool:
        return False


@admin.register(PreArrivalContact)
class PreArrivalContactAdmin(DepotScopedAdmin):
    """Read-only: written by the pre-arrival sweep and the recipient's reply."""

    depot_path = "stop__run__depot"
    list_display = ("stop", "status", "score", "asked", "learned", "created_at", "answered_at")
    list_filter = ("status", "stop__run__service_date")
    list_select_related = ("stop__order",)
    search_fields = ("stop__order__reference",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: PreArrivalContact | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: PreArrivalContact | None = None) -> bool:
        return False


@admin.register(NoticeSettings)
class NoticeSettingsAdmin(DepotScopedAdmin):
    """Per depot: which notices every recipient gets before the driver comes (a depot with no row: the defaults)."""

    list_display = ("depot", "out_for_delivery", "out_for_delivery_lead", "arriving_stops", "delayed_minutes")
    list_select_related = ("depot",)


@admin.register(StopNotice)
class StopNoticeAdmin(DepotScopedAdmin):
    """Read-only: the notices each stop had, sent or not and why."""

    depot_path = "stop__run__depot"
    list_display = ("stop", "kind", "sent", "why_not", "asked", "created_at")
    list_filter = ("kind", "sent")
    list_select_related = ("stop",)
    search_fields = ("stop__order__reference",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: StopNotice | None = None) -> bool:
        return False
