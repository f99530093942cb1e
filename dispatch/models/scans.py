"""What the driver app reports at a stop: scans, and the reason codes a failed one gives."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from dispatch.fields import coordinate_constraints, latitude_field, longitude_field
from dispatch.models.depots import Driver
from dispatch.models.places import languages
from dispatch.models.runs import Stop

reason_code_validator = RegexValidator(
    r"^[A-Z][A-Z0-9_]{1,39}$", "Use capital letters, digits and underscores, e.g. ACCESS_DENIED."
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


class ReasonCodeWording(models.Model):
    """Why a stop failed, in a recipient's language, for a code an admin added (the standard codes' wording is in
    the catalogues): it completes "we tried to deliver your parcel but ..."."""

    reason_code = models.ForeignKey(ReasonCode, on_delete=models.CASCADE, related_name="wordings")
    language = models.CharField(max_length=8, choices=languages)
    problem = models.CharField(
        max_length=200,
        help_text='Completes "we tried to deliver your parcel but ...", e.g. "the lift was out of order".',
    )

    class Meta:
        ordering = ["reason_code", "language"]
        constraints = [
            models.UniqueConstraint(fields=["reason_code", "language"], name="reason_wording_one_per_language")
        ]

    def __str__(self) -> str:
        return f"{self.reason_code.code} ({self.language})"


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
    accuracy_m = models.PositiveIntegerField(
        null=True, blank=True, help_text="How sure the phone was of the fix, in metres (its GPS accuracy)."
    )
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
