"""Who receives an order and where: recipients, addresses, and the access codes that open the way to them."""

from __future__ import annotations

import datetime as dt

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from phonenumber_field.modelfields import PhoneNumberField
from timezone_field import TimeZoneField

from dispatch.fields import (
    EncryptedTextField,
    coordinate_constraints,
    languages,
    latitude_field,
    longitude_field,
    window_constraint,
)
from dispatch.models.depots import Depot


class Recipient(models.Model):
    ENGLISH = "en"

    class Channel(models.TextChoices):
        SMS = "sms", "SMS"
        PUSH = "push", "App push"
        WHATSAPP = "whatsapp", "WhatsApp"

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
    language = models.CharField(max_length=8, choices=languages, default=ENGLISH)
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


class PickupPoint(models.Model):
    """A place near a depot where a recipient can collect a parcel (a shop, a locker): where a parcel goes when
    its recipient chooses to collect it, named with its address and hours in what they read."""

    depot = models.ForeignKey(Depot, on_delete=models.CASCADE, related_name="pickup_points")
    name = models.CharField(max_length=120, help_text="As the recipient knows it, e.g. Walgreens or Parcel locker 12.")
    address = models.CharField(max_length=200, help_text="Street and number, e.g. 1550 N Ashland Ave.")
    latitude = latitude_field(null=True, blank=True)
    longitude = longitude_field(null=True, blank=True)
    opens = models.TimeField(default=dt.time(9, 0))
    closes = models.TimeField(default=dt.time(21, 0))
    open_days = models.CharField(
        max_length=7,
        default="0123456",
        help_text="The days it is open, Monday 0 to Sunday 6: 012345 is Monday to Saturday.",
        validators=[RegexValidator(r"^[0-6]{1,7}$", "Write the open days as digits 0 (Monday) to 6 (Sunday).")],
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["depot", "name"]
        constraints = [
            models.UniqueConstraint(fields=["depot", "name"], name="pickup_point_unique_name_in_depot"),
            models.CheckConstraint(condition=Q(opens__lt=F("closes")), name="pickup_point_opens_before_closing"),
        ]

    def __str__(self) -> str:
        return f"{self.name}, {self.address}"
