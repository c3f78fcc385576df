"""Abstract model pieces shared by the ITSM records: timestamps and human numbers."""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.expressions import RawSQL
from django.utils import timezone

from firelater.tracking import BulkWriteQuerySet, TracksLoadedValues


def human_number_field(sequence: str) -> models.BigIntegerField:
    """A per-tenant record number drawn from a PostgreSQL sequence in the tenant's schema.

    The database assigns it (``DEFAULT nextval(...)``), so concurrent creates can never
    collide and bulk_create gets numbers without a round trip per row. The sequence is
    created by the app's initial migration, in each tenant schema.
    """
    return models.BigIntegerField(
        unique=True, editable=False, db_default=RawSQL(f"nextval('{sequence}')", ())
    )


class TrackedRecord(TracksLoadedValues):
    """created_at/updated_at that bulk loads can set (no auto_now) and saves keep current.

    Its manager's bulk writes (update, bulk_create, bulk_update, delete) send `bulk_write`
    (firelater.tracking), so whoever watches the model (the cache) sees them like saves.
    """

    NUMBER_PREFIX: ClassVar[str] = ""
    # Datetime fields that may not precede created_at (each has a CheckConstraint too).
    NOT_BEFORE_CREATED: ClassVar[tuple[str, ...]] = ()

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = BulkWriteQuerySet.as_manager()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.display_number} {getattr(self, 'title', '')}".strip()

    def clean(self) -> None:
        # The constraints name created_at, which forms leave out (it is not editable), and
        # Django skips validating a constraint on a left-out field: without this, an admin
        # form with such a date would pass validation and fail on the constraint (a 500).
        errors = {
            field: f"Cannot be before the {self._meta.verbose_name} was created."
            for field in self.NOT_BEFORE_CREATED
            if (value := getattr(self, field)) is not None
            and self.created_at is not None
            and value < self.created_at
        }
        if errors:
            raise ValidationError(errors)

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
