"""Model fields shared by the domain."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.expressions import Expression

from dispatch import crypto


def languages() -> list[tuple[str, str]]:
    """The languages a person can be written to in: English and each one with a catalogue (``LANGUAGES``)."""
    return list(settings.LANGUAGES)


class EncryptedTextField(models.TextField):
    """A text value stored as a Fernet token: the database never sees the plaintext.

    Tokens are randomised, so the column cannot be filtered or indexed by value;
    that is the point. Python code reads and writes plaintext.
    """

    description = "Text encrypted at rest with the FIELD_ENCRYPTION_KEYS"

    def from_db_value(self, value: str | None, expression: Expression, connection: BaseDatabaseWrapper) -> str | None:
        if value is None:
            return None
        return crypto.decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None:
            return None
        return crypto.encrypt(str(value))


def latitude_field(**kwargs: Any) -> models.FloatField:
    message = "Latitude must be between -90 and 90."
    kwargs.setdefault("validators", [MinValueValidator(-90.0, message), MaxValueValidator(90.0, message)])
    return models.FloatField(**kwargs)


def longitude_field(**kwargs: Any) -> models.FloatField:
    message = "Longitude must be between -180 and 180."
    kwargs.setdefault("validators", [MinValueValidator(-180.0, message), MaxValueValidator(180.0, message)])
    return models.FloatField(**kwargs)


def coordinate_constraints(prefix: str, lat: str = "latitude", lng: str = "longitude") -> list[models.BaseConstraint]:
    """Database checks that a latitude/longitude pair is on the globe (nulls allowed)."""
    return [
        models.CheckConstraint(
            condition=models.Q(**{f"{lat}__isnull": True}) | models.Q(**{f"{lat}__gte": -90, f"{lat}__lte": 90}),
            name=f"{prefix}_{lat}_range",
            violation_error_message="Latitude must be between -90 and 90.",
        ),
        models.CheckConstraint(
            condition=models.Q(**{f"{lng}__isnull": True}) | models.Q(**{f"{lng}__gte": -180, f"{lng}__lte": 180}),
            name=f"{prefix}_{lng}_range",
            violation_error_message="Longitude must be between -180 and 180.",
        ),
    ]


def window_constraint(prefix: str, start: str, end: str, label: str = "window") -> models.CheckConstraint:
    """A time range whose start is before its end (either may be open)."""
    return models.CheckConstraint(
        condition=models.Q(**{f"{start}__isnull": True})
        | models.Q(**{f"{end}__isnull": True})
        | models.Q(**{f"{start}__lt": models.F(end)}),
        name=f"{prefix}_{label}_start_before_end",
        violation_error_message=f"The {label.replace('_', ' ')} must start before it ends.",
    )
