"""A driver's day: runs, the orders they carry, and the stops in driving order."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from dispatch.fields import window_constraint
from dispatch.models.depots import Depot, Driver
from dispatch.models.places import Address, Recipient

order_reference_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,39}$", "Use letters, digits, dots, dashes or slashes, e.g. LM-88204."
)


class Run(models.Model):
    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    depot = models.ForeignKey(Depot, on_delete=models.PROTECT, related_name="runs")
    driver = models.ForeignKey(Driver, on_delete=models.PROTECT, related_name="runs")
    service_date = models.DateField()
    shift_start = models.DateTimeField()
    shift_end = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PLANNED)
    external_ref = models.CharField(max_length=64, blank=True, help_text="The planner's identifier for this run.")
    plan_version = models.PositiveIntegerField(default=1, help_text="Bumped by every re-route.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["service_date", "shift_start"]
        constraints = [
            window_constraint("run", "shift_start", "shift_end", "shift"),
            models.UniqueConstraint(fields=["driver", "shift_start"], name="run_one_per_driver_shift"),
            models.UniqueConstraint(
                fields=["depot", "external_ref"], condition=~Q(external_ref=""), name="run_unique_external_ref"
            ),
        ]
        indexes = [
            models.Index(fields=["depot", "service_date"], name="run_depot_date_idx"),
            models.Index(fields=["driver", "service_date"], name="run_driver_date_idx"),
        ]

    def __str__(self) -> str:
        start = self.shift_start.astimezone(self.depot.time_zone) if self.depot_id else self.shift_start
        return f"{self.driver} · {self.service_date:%Y-%m-%d} {start:%H:%M}"

    def clean(self) -> None:
        if self.driver_id and self.depot_id and self.driver.depot_id != self.depot_id:
            raise ValidationError({"driver": "This driver belongs to another depot."})


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        OUT_FOR_DELIVERY = "out_for_delivery", "Out for delivery"
        ATTEMPT_FAILED = "attempt_failed", "Attempt failed"
        RESCHEDULED = "rescheduled", "Rescheduled"
        DELIVERED = "delivered", "Delivered"
        RETURNED = "returned", "Returned to sender"
        CANCELLED = "cancelled", "Cancelled"

    reference = models.CharField(
        max_length=40,
        validators=[order_reference_validator],
        help_text="The sender's reference, unique within the depot.",
    )
    depot = models.ForeignKey(Depot, on_delete=models.PROTECT, related_name="orders")
    recipient = models.ForeignKey(Recipient, on_delete=models.PROTECT, related_name="orders")
    address = models.ForeignKey(Address, on_delete=models.PROTECT, related_name="orders")
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    declared_value = models.DecimalField(
        max_digits=10, decimal_places=2, default=Decimal("0.00"), validators=[MinValueValidator(Decimal("0"))]
    )
    parcel_count = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    signature_required = models.BooleanField(default=False)
    safe_drop_allowed = models.BooleanField(default=True)
    neighbour_allowed = models.BooleanField(default=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            window_constraint("order", "window_start", "window_end"),
            models.CheckConstraint(
                condition=Q(declared_value__gte=0),
                name="order_value_not_negative",
                violation_error_message="The declared value cannot be negative.",
            ),
            models.UniqueConstraint(
                fields=["depot", "reference"],
                name="order_unique_reference_in_depot",
                violation_error_message="This depot already has an order with this reference.",
            ),
        ]
        indexes = [models.Index(fields=["depot", "status"], name="order_depot_status_idx")]

    def __str__(self) -> str:
        return self.reference

    def clean(self) -> None:
        errors = {}
        if self.depot_id and self.recipient_id and self.recipient.depot_id != self.depot_id:
            errors["recipient"] = "This recipient belongs to another depot."
        if self.depot_id and self.address_id and self.address.depot_id != self.depot_id:
            errors["address"] = "This address belongs to another depot."
        if errors:
            raise ValidationError(errors)

    def drop_refusal(self, *, neighbour: bool) -> str:
        """Why the sender does not let this parcel be left unattended or with a neighbour ('' when it does).

        The one home of the drop policy: a case's outcome and a place given ahead of the driver both ask here.
        """
        if neighbour:
            return "" if self.neighbour_allowed else "The sender does not allow leaving this order with a neighbour."
        if not self.safe_drop_allowed:
            return "The sender does not allow a safe drop for this order."
        if self.signature_required:
            return "This order needs a signature: it cannot be left unattended."
        return ""


class Stop(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ARRIVED = "arrived", "Arrived"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed attempt"
        RESCHEDULED = "rescheduled", "Moved to another run"
        SKIPPED = "skipped", "Skipped"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE_STATUSES = (Status.PENDING, Status.ARRIVED, Status.FAILED)

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="stops")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="stops")
    sequence = models.PositiveIntegerField()
    planned_arrival = models.DateTimeField(null=True, blank=True)
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    service_minutes = models.PositiveIntegerField(default=3)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["run", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["run", "order"], name="stop_one_per_order_per_run"),
            # Deferred so a re-sequence can swap positions inside one transaction.
            models.UniqueConstraint(
                fields=["run", "sequence"],
                name="stop_sequence_unique_in_run",
                deferrable=models.Deferrable.DEFERRED,
            ),
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(status__in=["pending", "arrived", "failed"]),
                name="stop_one_active_per_order",
                violation_error_message="This order already has an active stop on another run.",
            ),
            window_constraint("stop", "window_start", "window_end"),
        ]
        indexes = [
            models.Index(fields=["run", "status"], name="stop_run_status_idx"),
        ]

    def __str__(self) -> str:
        return f"Stop {self.sequence} · {self.order_id and self.order.reference}"

    def clean(self) -> None:
        if self.run_id and self.order_id and self.order.depot_id != self.run.depot_id:
            raise ValidationError({"order": "This order belongs to another depot than the run."})
