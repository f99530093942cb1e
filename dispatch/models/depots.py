"""Depots and the people who work them: the users who sign in, and the drivers."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from phonenumber_field.modelfields import PhoneNumberField
from timezone_field import TimeZoneField

from dispatch.fields import coordinate_constraints, languages, latitude_field, longitude_field


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

    scan_distance_warning_m = models.PositiveIntegerField(
        default=100,
        help_text="The board warns when a failed scan was made further than this from the address, beyond the "
        "GPS fix's own accuracy.",
    )

    class Meta:
        ordering = ["name"]
        constraints = coordinate_constraints("depot")

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person who signs in: admin, dispatcher or driver (by group)."""

    phone = PhoneNumberField(
        blank=True, help_text="Your own phone: the board's Call rings it first, then connects the recipient."
    )
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
    language = models.CharField(
        max_length=8,
        choices=languages,
        blank=True,
        default="",
        help_text="What dispatch's instructions are written in; the driver app shows itself in it too, and its "
        "language button changes it. Blank: the language of the phone the driver signs in on (English until then).",
    )
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
