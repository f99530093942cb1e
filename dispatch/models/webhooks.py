"""Signed event notifications to integrations: the events, the endpoints, and the delivery outbox."""

from __future__ import annotations

import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone

from dispatch.fields import EncryptedTextField
from dispatch.models.depots import Depot


class WebhookEvent(models.TextChoices):
    SCAN_FAILED = "scan.failed", "Failed scan"
    CASE_OPENED = "case.opened", "Case opened"
    CASE_RESOLVED = "case.resolved", "Case resolved"
    STOP_RESCHEDULED = "stop.rescheduled", "Stop rescheduled"
    ORDER_STATUS_CHANGED = "order.status_changed", "Order status changed"


class WebhookEndpoint(models.Model):
    """An integration (CRM, warehouse system) that receives signed event notifications."""

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    secret = EncryptedTextField(help_text="Shared secret for the HMAC-SHA256 signature. Encrypted at rest.")
    events = ArrayField(models.CharField(max_length=32, choices=WebhookEvent.choices))
    depot = models.ForeignKey(
        Depot, on_delete=models.CASCADE, null=True, blank=True, help_text="Only this depot's events; blank for all."
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class WebhookDelivery(models.Model):
    """One event for one endpoint: the outbox row, written in the event's transaction."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Gave up"

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=32, choices=WebhookEvent.choices)
    event_id = models.UUIDField(default=uuid.uuid4, editable=False)
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhook_delivery_once_per_endpoint")
        ]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="webhook_delivery_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} -> {self.endpoint}"
