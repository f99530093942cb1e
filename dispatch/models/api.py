"""The driver API's records: tokens, the instruction feed, GPS batches, the access-code reveal audit."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from dispatch.models.depots import Depot, Driver
from dispatch.models.runs import Stop


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


class DriverSignInCode(models.Model):
    """A short code a dispatcher gives a driver to sign the driver app in on a phone (typed, or read from a QR code).

    Used once, expires soon; only its SHA-256 is stored. Using it issues the phone its own driver token, which admin
    can revoke like any other."""

    driver = models.ForeignKey(Driver, on_delete=models.CASCADE, related_name="sign_in_codes")
    code_hash = models.CharField(max_length=64, unique=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    token = models.OneToOneField(
        ApiToken, on_delete=models.SET_NULL, null=True, blank=True, related_name="sign_in_code",
        help_text="The token the code became on the driver's phone.",
    )  # fmt: skip

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "driver sign-in code"

    def __str__(self) -> str:
        return f"Sign-in code for {self.driver} ({'used' if self.used_at else 'unused'})"


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
