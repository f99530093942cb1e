"""The delivery domain: depots, drivers, runs, stops, orders, recipients, addresses, the access vault, scans."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from phonenumber_field.modelfields import PhoneNumberField
from timezone_field import TimeZoneField

from dispatch.fields import (
    EncryptedTextField,
    coordinate_constraints,
    latitude_field,
    longitude_field,
    window_constraint,
)

reason_code_validator = RegexValidator(
    r"^[A-Z][A-Z0-9_]{1,39}$", "Use capital letters, digits and underscores, e.g. ACCESS_DENIED."
)
order_reference_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,39}$", "Use letters, digits, dots, dashes or slashes, e.g. LM-88204."
)


class Depot(models.Model):
    code = models.SlugField(max_length=32, unique=True, help_text="Short code used by integrations, e.g. chi-west.")
    name = models.CharField(max_length=120)
    time_zone = TimeZoneField(help_text="IANA time zone; every time on the board is shown in it.")
    address = models.CharField(max_length=200, blank=True)
    latitude = latitude_field()
    longitude = longitude_field()
    access_reveal_radius_m = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="If set, a driver can reveal an access code only within this many metres of the stop.",
    )

    class Meta:
        ordering = ["name"]
        constraints = coordinate_constraints("depot")

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person who signs in: admin, dispatcher or driver (by group)."""

    depots = models.ManyToManyField(
        Depot, blank=True, related_name="dispatchers", help_text="Depots whose exceptions this dispatcher works."
    )

    def __str__(self) -> str:
        return self.get_full_name() or self.username


class Driver(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="driver")
    depot = models.ForeignKey(Depot, on_delete=models.PROTECT, related_name="drivers")
    phone = PhoneNumberField(blank=True)
    vehicle_capacity = models.PositiveIntegerField(default=120, help_text="Parcels the vehicle carries.")
    active = models.BooleanField(default=True)
    last_latitude = latitude_field(null=True, blank=True)
    last_longitude = longitude_field(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True, help_text="Device time of the last GPS ping.")
    instruction_seq = models.PositiveBigIntegerField(default=0, editable=False, help_text="Last instruction number.")

    class Meta:
        ordering = ["user__username"]
        constraints = [
            *coordinate_constraints("driver", "last_latitude", "last_longitude"),
            models.CheckConstraint(
                condition=Q(last_latitude__isnull=True, last_longitude__isnull=True)
                | Q(last_latitude__isnull=False, last_longitude__isnull=False),
                name="driver_position_complete",
                violation_error_message="A position needs both latitude and longitude.",
            ),
        ]

    def __str__(self) -> str:
        return str(self.user)


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


class Recipient(models.Model):
    class Language(models.TextChoices):
        ENGLISH = "en", "English"
        SPANISH = "es", "Spanish"

    class Channel(models.TextChoices):
        SMS = "sms", "SMS"
        PUSH = "push", "App push"

    class Tier(models.TextChoices):
        STANDARD = "standard", "Standard"
        PRIORITY = "priority", "Priority"
        VIP = "vip", "VIP"

    depot = models.ForeignKey(
        Depot,
        on_delete=models.PROTECT,
        related_name="recipients",
        help_text="The depot whose orders this record serves: a CRM id names a recipient within one depot.",
    )
    name = models.CharField(max_length=120)
    phone = PhoneNumberField(blank=True, help_text="Main mobile number, stored in E.164.")
    alt_phone = PhoneNumberField(blank=True, help_text="Second number, stored in E.164.")
    email = models.EmailField(blank=True)
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.ENGLISH)
    preferred_channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.SMS)
    tier = models.CharField(max_length=16, choices=Tier.choices, default=Tier.STANDARD)
    opted_out = models.BooleanField(default=False, help_text="Replied STOP: never texted until they opt back in.")
    opted_out_at = models.DateTimeField(null=True, blank=True)
    quiet_hours_start = models.TimeField(default=dt.time(21, 0))
    quiet_hours_end = models.TimeField(default=dt.time(8, 0))
    time_zone = TimeZoneField(null=True, blank=True, help_text="Leave blank to use the depot's time zone.")
    # NULL, not "", is "no id": the per-depot uniqueness below skips rows without one.
    external_id = models.CharField(  # noqa: DJ001
        max_length=64, null=True, blank=True, help_text="CRM identifier, unique within the depot."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["phone"], name="recipient_phone_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["depot", "external_id"],
                condition=Q(external_id__isnull=False),
                name="recipient_unique_external_id_in_depot",
                violation_error_message="This depot already has a recipient with this CRM identifier.",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def first_name(self) -> str:
        return self.name.split(" ", 1)[0]


class Address(models.Model):
    class BuildingType(models.TextChoices):
        HOUSE = "house", "House"
        MULTI_UNIT = "multi_unit", "Apartment / multi-unit"
        GATED = "gated", "Gated community"
        BUSINESS = "business", "Business"

    depot = models.ForeignKey(
        Depot,
        on_delete=models.PROTECT,
        related_name="addresses",
        help_text="The depot whose orders go here: an address reference names a place within one depot.",
    )
    line1 = models.CharField(max_length=200)
    line2 = models.CharField(max_length=200, blank=True)
    unit = models.CharField(max_length=32, blank=True)
    city = models.CharField(max_length=100)
    region = models.CharField(max_length=64, blank=True, help_text="State or province.")
    postal_code = models.CharField(max_length=16)
    country = models.CharField(max_length=2, default="US")
    latitude = latitude_field()
    longitude = longitude_field()
    building_type = models.CharField(max_length=16, choices=BuildingType.choices, default=BuildingType.HOUSE)
    building_notes = models.TextField(blank=True, help_text="Visible to drivers: entrances, parking, dogs.")
    # NULL, not "", is "no reference": the per-depot uniqueness below skips rows without one.
    external_ref = models.CharField(  # noqa: DJ001
        max_length=64, null=True, blank=True, help_text="The order system's identifier, unique within the depot."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "addresses"
        ordering = ["line1", "unit"]
        constraints = [
            *coordinate_constraints("address"),
            models.UniqueConstraint(
                fields=["depot", "external_ref"],
                condition=Q(external_ref__isnull=False),
                name="address_unique_external_ref_in_depot",
                violation_error_message="This depot already has an address with this reference.",
            ),
        ]
        indexes = [models.Index(fields=["postal_code", "line1"], name="address_building_idx")]

    def __str__(self) -> str:
        unit = f" #{self.unit}" if self.unit else ""
        return f"{self.line1}{unit}, {self.city}"


class AccessCredential(models.Model):
    """A code or instruction that opens the way to an address. The secret is encrypted at rest."""

    class Kind(models.TextChoices):
        GATE = "gate", "Gate code"
        DOOR = "door", "Door code"
        LOCKBOX = "lockbox", "Lockbox"
        CONCIERGE = "concierge", "Concierge"

    class Source(models.TextChoices):
        RECIPIENT = "recipient", "Recipient"
        DRIVER = "driver", "Driver"
        DISPATCHER = "dispatcher", "Dispatcher"
        PLAN_IMPORT = "plan_import", "Plan import"
        ADMIN = "admin", "Admin"

    FLAG_AFTER_FAILURES = 2

    address = models.ForeignKey(Address, on_delete=models.CASCADE, related_name="access_credentials")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.GATE)
    secret = EncryptedTextField(help_text="The code itself. Encrypted at rest; never shown in lists or logs.")
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_to = models.DateTimeField(null=True, blank=True)
    last_worked_at = models.DateTimeField(null=True, blank=True)
    last_failed_at = models.DateTimeField(null=True, blank=True)
    failure_count = models.PositiveIntegerField(default=0, help_text="Failures since it last worked.")
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.ADMIN)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [window_constraint("access_credential", "valid_from", "valid_to", "validity")]
        indexes = [models.Index(fields=["address", "kind"], name="access_address_kind_idx")]

    def __str__(self) -> str:
        # Never the secret.
        return f"{self.get_kind_display()} for {self.address}"

    @property
    def is_flagged(self) -> bool:
        return self.failure_count >= self.FLAG_AFTER_FAILURES

    @property
    def is_verified(self) -> bool:
        return self.last_worked_at is not None and not self.is_flagged

    def is_valid_at(self, moment: dt.datetime) -> bool:
        return (self.valid_from is None or self.valid_from <= moment) and (
            self.valid_to is None or moment < self.valid_to
        )


class ReasonCode(models.Model):
    class Category(models.TextChoices):
        ACCESS = "access", "Access"
        AVAILABILITY = "availability", "Availability"
        ADDRESS = "address", "Address"
        DAMAGE = "damage", "Damage"
        BUSINESS = "business", "Business"

    code = models.CharField(max_length=40, unique=True, validators=[reason_code_validator])
    label = models.CharField(max_length=120)
    category = models.CharField(max_length=16, choices=Category.choices)
    photo_required = models.BooleanField(default=False, help_text="The driver must attach a photo to this scan.")
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} ({self.label})"


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


class ScanEvent(models.Model):
    class Outcome(models.TextChoices):
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    stop = models.ForeignKey(Stop, on_delete=models.CASCADE, related_name="scans")
    driver = models.ForeignKey(Driver, on_delete=models.PROTECT, related_name="scans")
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    reason_code = models.ForeignKey(ReasonCode, on_delete=models.PROTECT, null=True, blank=True, related_name="scans")
    latitude = latitude_field(null=True, blank=True)
    longitude = longitude_field(null=True, blank=True)
    photo = models.FileField(upload_to="scans/%Y/%m/%d/", blank=True)
    notes = models.CharField(max_length=500, blank=True)
    device_time = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    idempotency_key = models.CharField(max_length=64)
    request_fingerprint = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the scan as first sent.")
    response_body = models.JSONField(null=True, blank=True, help_text="The API's first answer, for replays.")

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["driver", "idempotency_key"], name="scan_idempotency_per_driver"),
            models.CheckConstraint(
                condition=Q(outcome="delivered") | Q(reason_code__isnull=False),
                name="scan_failed_has_reason",
                violation_error_message="A failed scan needs a reason code.",
            ),
            *coordinate_constraints("scan"),
        ]
        indexes = [
            models.Index(fields=["stop", "received_at"], name="scan_stop_received_idx"),
            models.Index(fields=["received_at"], name="scan_received_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} scan of stop {self.stop_id}"


class ApiToken(models.Model):
    """A bearer token for the REST API. Only its SHA-256 is stored; the key is shown once."""

    class Kind(models.TextChoices):
        DRIVER = "driver", "Driver app"
        INTEGRATION = "integration", "Integration"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=100, help_text="Where it is used, e.g. 'Dave's phone' or 'Route planner'.")
    prefix = models.CharField(max_length=8, help_text="The first characters of the key, to recognise it.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    depot = models.ForeignKey(
        Depot, on_delete=models.CASCADE, null=True, blank=True, help_text="An integration limited to one depot."
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class DriverInstruction(models.Model):
    """Something the driver must know or do, delivered in order through a per-driver feed."""

    class Kind(models.TextChoices):
        ACCESS_CODE = "access_code", "New access code available"
        RETRY_NOW = "retry_now", "Retry now"
        WAIT = "wait", "Wait"
        SAFE_DROP = "safe_drop", "Safe drop"
        NEIGHBOUR = "neighbour", "Leave with a neighbour"
        SKIP = "skip", "Skip: moved to a later run"
        ROUTE_UPDATED = "route_updated", "Route re-sequenced"
        NOTE = "note", "Note from dispatch"

    driver = models.ForeignKey(Driver, on_delete=models.CASCADE, related_name="instructions")
    seq = models.PositiveBigIntegerField(help_text="Position in this driver's feed; the cursor.")
    stop = models.ForeignKey(Stop, on_delete=models.CASCADE, null=True, blank=True, related_name="instructions")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    text = models.CharField(max_length=300, help_text="What the driver reads. Never an access code.")
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    acked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["driver", "seq"]
        constraints = [models.UniqueConstraint(fields=["driver", "seq"], name="instruction_seq_per_driver")]
        indexes = [models.Index(fields=["stop", "-seq"], name="instruction_stop_latest_idx")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.get_kind_display()}"


class LocationBatch(models.Model):
    """One upload of GPS pings, stored as parallel arrays: one row per batch, not per point."""

    driver = models.ForeignKey(Driver, on_delete=models.CASCADE, related_name="location_batches")
    received_at = models.DateTimeField(default=timezone.now)
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()
    offsets_ms = ArrayField(models.IntegerField(), help_text="Milliseconds after first_at, per point.")
    latitudes = ArrayField(models.FloatField())
    longitudes = ArrayField(models.FloatField())
    accuracies_m = ArrayField(models.FloatField(null=True))

    class Meta:
        verbose_name_plural = "location batches"
        ordering = ["-first_at"]
        indexes = [models.Index(fields=["driver", "first_at"], name="location_driver_time_idx")]

    def __str__(self) -> str:
        return f"{len(self.offsets_ms)} pings from {self.driver}"

    @property
    def point_count(self) -> int:
        return len(self.offsets_ms)


class AccessRevealAudit(models.Model):
    """Who asked to see a stop's access code, when, and whether they got it. Never the code."""

    class Result(models.TextChoices):
        GRANTED = "granted", "Granted"
        NOT_ASSIGNED = "not_assigned", "Refused: not the assigned driver"
        STOP_NOT_ACTIVE = "stop_not_active", "Refused: stop not active"
        OUTSIDE_RADIUS = "outside_radius", "Refused: too far from the stop"
        NO_POSITION = "no_position", "Refused: no recent position"
        NO_CODE = "no_code", "No code on file"

    at = models.DateTimeField(default=timezone.now)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    stop = models.ForeignKey(Stop, on_delete=models.CASCADE, related_name="access_reveals")
    result = models.CharField(max_length=16, choices=Result.choices)
    distance_m = models.FloatField(null=True, blank=True)
    credential_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["stop", "at"], name="reveal_stop_at_idx")]

    def __str__(self) -> str:
        return f"{self.get_result_display()} · stop {self.stop_id}"

    @property
    def granted(self) -> bool:
        return self.result == self.Result.GRANTED


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
