"""Settings rows there is one of: admins edit the row, code reads ``current()``."""

from __future__ import annotations

from typing import Self

from django.db import models


class SingletonModel(models.Model):
    """One row (primary key 1), created with the model's defaults the first time it is asked for."""

    class Meta:
        abstract = True

    @classmethod
    def current(cls) -> Self:
        row, _ = cls._default_manager.get_or_create(pk=1)
        return row
