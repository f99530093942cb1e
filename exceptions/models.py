"""Exception cases: one per broken stop, worked to an outcome, with an append-only timeline."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from dispatch.models import Depot, Order, ReasonCode, ScanEvent, Stop


class ExceptionCase(models.Model):
    class State(models.TextChoices):
        OPENED = "opened", "Opened"
        TRIAGING = "triaging", "Triaging"
        AWAITING_RECIPIENT = "awaiting_recipient", "Awaiting recipient"
        RESOLVING = "resolving", "Resolving"
        ESCALATED = "escalated", "Escalated"
        RESOLVED = "resolved", "Resolved"
        CLOSED = "closed", "Closed"

    class Outcome(models.TextChoices):
        RETRY_NOW = "retry_now", "Retry now"
        ACCESS_CODE_PROVIDED = "access_code_provided", "Access code provided"
        SAFE_DROP = "safe_drop", "Safe drop"
        NEIGHBOUR = "neighbour", "Left with a neighbour"
        RESCHEDULED_SAME_DAY = "rescheduled_same_day", "Rescheduled the same day"
        RESCHEDULED_LATER = "rescheduled_later", "Rescheduled to a later day"
        PICKUP_POINT = "pickup_point", "Pickup point"
        RETURNED_TO_SENDER = "returned_to_sender", "Returned to sender"
        DELIVERED_ON_RETRY = "delivered_on_retry", "Delivered on retry"
        CANCELLED = "cancelled", "Cancelled"

    OPEN_STATES = (State.OPENED, State.TRIAGING, State.AWAITING_RECIPIENT, State.RESOLVING, State.ESCALATED)

    depot = models.ForeignKey(Depot, on_delete=models.PROTECT, related_name="cases")
    stop = models.ForeignKey(Stop, on_delete=models.PROTECT, related_name="cases")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="cases")
    scan = models.OneToOneField(ScanEvent, on_delete=models.PROTECT, related_name="case")
    reason_code = models.ForeignKey(ReasonCode, on_delete=models.PROTECT, related_name="cases")
    state = models.CharField(max_length=24, choices=State.choices, default=State.OPENED)
    outcome = models.CharField(max_length=24, choices=Outcome.choices, blank=True)
    priority = models.PositiveSmallIntegerField(default=3, help_text="1 is the most urgent.")
    sla_due_at = models.DateTimeField(null=True, blank=True)
    next_action_due_at = models.DateTimeField(null=True, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="assigned_cases"
    )
    touched_by_dispatcher = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=1, help_text="Bumped by every transition; stale actions conflict.")
    opened_at = models.DateTimeField(default=timezone.now)
    triaged_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["stop"],
                condition=Q(state__in=["opened", "triaging", "awaiting_recipient", "resolving", "escalated"]),
                name="case_one_open_per_stop",
            ),
        ]
        indexes = [
            models.Index(fields=["depot", "state", "priority"], name="case_board_idx"),
            models.Index(
                fields=["next_action_due_at"],
                condition=Q(next_action_due_at__isnull=False),
                name="case_next_action_due_idx",
            ),
            models.Index(fields=["sla_due_at"], condition=Q(sla_due_at__isnull=False), name="case_sla_due_idx"),
        ]

    def __str__(self) -> str:
        return f"Case {self.pk} · {self.order_id and self.order.reference} · {self.get_state_display()}"

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES


class CaseEvent(models.Model):
    """One line of a case's timeline. Written only by exceptions.workflow; never updated."""

    class Kind(models.TextChoices):
        SCAN = "scan", "Failed scan"
        STATE = "state", "State change"
        MESSAGE_OUT = "message_out", "Message sent"
        REPLY_IN = "reply_in", "Reply received"
        UNDERSTANDING = "understanding", "Reply understood"
        DECISION = "decision", "Decision"
        INSTRUCTION = "instruction", "Driver instruction"
        ROUTE_CHANGE = "route_change", "Route change"
        ESCALATION = "escalation", "Escalation"
        DISPATCHER_ACTION = "dispatcher_action", "Dispatcher action"
        NOTE = "note", "Note"

    class Actor(models.TextChoices):
        AUTOMATION = "automation", "Automation"
        DRIVER = "driver", "Driver"
        RECIPIENT = "recipient", "Recipient"
        DISPATCHER = "dispatcher", "Dispatcher"
        SYSTEM = "system", "System"

    case = models.ForeignKey(ExceptionCase, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    actor = models.CharField(max_length=16, choices=Actor.choices)
    actor_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    from_state = models.CharField(max_length=24, blank=True)
    to_state = models.CharField(max_length=24, blank=True)
    summary = models.CharField(max_length=300)
    payload = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["case", "at", "id"]
        indexes = [models.Index(fields=["case", "at"], name="caseevent_case_at_idx")]

    def __str__(self) -> str:
        return f"{self.at:%H:%M:%S} {self.get_kind_display()}: {self.summary}"
