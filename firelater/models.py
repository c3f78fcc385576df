"""Abstract model pieces shared by the ITSM records, and the rules they share.

Each rule lives here once: the human number format (ISS-000042), "a date may not precede
the record's creation" (database constraint, model validation and API validation all
read it from the constraint), and for tickets (issues and requests) the priority and the
done timestamp that follows the status, for single saves and bulk updates alike.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.db.models.expressions import RawSQL
from django.utils import timezone

from firelater.tracking import BulkWriteQuerySet, TracksLoadedValues

NUMBER_DIGITS = 6


def format_number(prefix: str, number: int) -> str:
    """A record's human number: ISS-000042."""
    return f"{prefix}-{number:0{NUMBER_DIGITS}d}"


def number_sql(prefix: str, column: str = "number") -> str:
    """The same format as a SQL expression, for raw aggregate queries."""
    return f"'{prefix}-' || lpad({column}::text, {NUMBER_DIGITS}, '0')"


def human_number_field(sequence: str) -> models.BigIntegerField:
    """A per-tenant record number drawn from a PostgreSQL sequence in the tenant's schema.

    The database assigns it (``DEFAULT nextval(...)``), so concurrent creates can never
    collide and bulk_create gets numbers without a round trip per row. The sequence is
    created by the app's initial migration, in each tenant schema.
    """
    return models.BigIntegerField(
        unique=True, editable=False, db_default=RawSQL(f"nextval('{sequence}')", ())
    )


def optional_link(to: str, related_name: str) -> models.ForeignKey[Any, Any]:
    """An optional foreign key, set to NULL (never cascaded) when its target is deleted."""
    return models.ForeignKey(
        to, on_delete=models.SET_NULL, null=True, blank=True, related_name=related_name
    )


def choices_valid(label: str, **choices: type[models.TextChoices]) -> list[models.CheckConstraint]:
    """One CheckConstraint per field, `<label>_<field>_valid`: the value is one of its
    choices (enforced by the database as well as by forms and serializers)."""
    return [
        models.CheckConstraint(
            condition=Q(**{f"{field}__in": options.values}), name=f"{label}_{field}_valid"
        )
        for field, options in choices.items()
    ]


class NotBeforeCreated(models.CheckConstraint):
    """`field` is empty or not before created_at: the one declaration of that rule.

    Migrations see a plain CheckConstraint (same name and condition as before); validation
    (TrackedRecord.clean, the API serializers) finds these through the model's Meta.
    """

    def __init__(self, *, field: str, label: str, name: str | None = None, **kwargs: Any) -> None:
        self.field = field
        kwargs.pop("condition", None)
        super().__init__(
            condition=Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__gte": F("created_at")}),
            name=name or f"{label}_{field.removesuffix('_at')}_after_created",
        )

    def deconstruct(self) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
        _path, args, kwargs = super().deconstruct()
        return "django.db.models.CheckConstraint", args, kwargs

    def clone(self) -> NotBeforeCreated:
        return NotBeforeCreated(field=self.field, label="", name=self.name)


def not_before_created_errors(
    model: type[models.Model], values: dict[str, Any], created_at: datetime | None
) -> dict[str, str]:
    """Field -> message for each date in `values` that precedes `created_at`."""
    if created_at is None:
        return {}
    return {
        constraint.field: f"Cannot be before the {model._meta.verbose_name} was created."
        for constraint in model._meta.constraints
        if isinstance(constraint, NotBeforeCreated)
        and (value := values.get(constraint.field)) is not None
        and value < created_at
    }


class TrackedRecord(TracksLoadedValues):
    """A numbered record with a title: created_at/updated_at that bulk loads can set (no
    auto_now) and saves keep current.

    Its manager's bulk writes (update, bulk_create, bulk_update, delete) send `bulk_write`
    (firelater.tracking), so whoever watches the model (the cache) sees them like saves.
    """

    NUMBER_PREFIX: ClassVar[str] = ""

    title = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = BulkWriteQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["-created_at"]
        # Every record has a status (its own choices); the lists filter and sort by these.
        indexes = [
            models.Index(fields=["status"], name="%(class)s_status_idx"),
            models.Index(fields=["created_at"], name="%(class)s_created_idx"),
            models.Index(fields=["updated_at"], name="%(class)s_updated_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.display_number} {self.title}".strip()

    def clean(self) -> None:
        # The constraints name created_at, which forms leave out (it is not editable), and
        # Django skips validating a constraint on a left-out field: without this, an admin
        # form with such a date would pass validation and fail on the constraint (a 500).
        values = {f.attname: getattr(self, f.attname) for f in self._meta.concrete_fields}
        errors = not_before_created_errors(type(self), values, self.created_at)
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
        return format_number(self.NUMBER_PREFIX, number)


class Priority(models.TextChoices):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


class Ticket(TrackedRecord):
    """Issues and service requests: a priority, and DONE_FIELD stamped while the status is
    one of DONE_STATUSES (cleared when it is reopened)."""

    DONE_STATUSES: ClassVar[tuple[str, ...]] = ()
    DONE_FIELD: ClassVar[str] = ""

    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.MEDIUM)

    class Meta(TrackedRecord.Meta):
        abstract = True
        indexes = [
            *TrackedRecord.Meta.indexes,
            models.Index(fields=["priority"], name="%(class)s_priority_idx"),
        ]
        constraints = choices_valid("%(class)s", priority=Priority)

    @property
    def is_done(self) -> bool:
        return self.status in self.DONE_STATUSES  # type: ignore[attr-defined]

    def sync_done_at(self, now: datetime | None = None) -> bool:
        """Stamp DONE_FIELD when the status is done, clear it when reopened; True if it
        changed. The one rule for every single-record write path (API, admin, services)."""
        stamped = getattr(self, self.DONE_FIELD)
        if self.is_done and stamped is None:
            setattr(self, self.DONE_FIELD, now or timezone.now())
            return True
        if not self.is_done and stamped is not None:
            setattr(self, self.DONE_FIELD, None)
            return True
        return False

    @classmethod
    def bulk_status_update(cls, status: str, now: datetime) -> dict[str, Any]:
        """QuerySet.update() arguments that set `status` on many rows in one statement and
        keep DONE_FIELD consistent (kept where already stamped, set now, or cleared)."""
        if status in cls.DONE_STATUSES:
            done: Any = Case(
                When(**{f"{cls.DONE_FIELD}__isnull": True}, then=Value(now)),
                default=F(cls.DONE_FIELD),
            )
        else:
            done = None
        return {"status": status, cls.DONE_FIELD: done, "updated_at": now}
