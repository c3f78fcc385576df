"""Abstract model pieces shared by the ITSM records: timestamps and human numbers."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.db.models.expressions import RawSQL
from django.utils import timezone


def human_number_field(sequence: str) -> models.BigIntegerField:
    """A per-tenant record number drawn from a PostgreSQL sequence in the tenant's schema.

    The database assigns it (``DEFAULT nextval(...)``), so concurrent creates can never
    collide and bulk_create gets numbers without a round trip per row. The sequence is
    created by the app's initial migration, in each tenant schema.
    """
    return models.BigIntegerField(
        unique=True, editable=False, db_default=RawSQL(f"nextval('{sequence}')", ())
    )


class TrackedRecord(models.Model):
    """created_at/updated_at that bulk loads can set (no auto_now) and saves keep current."""

    NUMBER_PREFIX: ClassVar[str] = ""

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.display_number} {getattr(self, 'title', '')}".strip()

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            self.updated_at = timezone.now()
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "updated_at"}
        super().save(*args, **kwargs)

    @property
    def display_number(self) -> str:
        number = getattr(self, "number", None)
        if not isinstance(number, int):
            return ""
        return f"{self.NUMBER_PREFIX}-{number:06d}"


class Priority(models.TextChoices):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"
