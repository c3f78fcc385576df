"""Changes (planned modifications to production, with risk and a schedule)."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from firelater.models import TrackedRecord, choices_valid, human_number_field, optional_link


class ChangeStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved"
    SCHEDULED = "scheduled", "Scheduled"
    IMPLEMENTING = "implementing", "Implementing"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class ChangeRisk(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class ChangeType(models.TextChoices):
    STANDARD = "standard", "Standard"
    NORMAL = "normal", "Normal"
    EMERGENCY = "emergency", "Emergency"


class Change(TrackedRecord):
    NUMBER_PREFIX = "CHG"

    Status = ChangeStatus

    Risk = ChangeRisk

    Type = ChangeType

    number = human_number_field("changes_change_number_seq")
    status = models.CharField(
        max_length=20, choices=ChangeStatus.choices, default=ChangeStatus.DRAFT
    )
    risk = models.CharField(max_length=10, choices=ChangeRisk.choices, default=ChangeRisk.LOW)
    type = models.CharField(max_length=10, choices=ChangeType.choices, default=ChangeType.NORMAL)
    application = optional_link("applications.Application", related_name="changes")
    scheduled_start = models.DateTimeField(null=True, blank=True)
    scheduled_end = models.DateTimeField(null=True, blank=True)

    class Meta(TrackedRecord.Meta):
        # Approving, rejecting and scheduling are the change manager's (changes.approval).
        permissions = [("approve_change", "Can approve, reject and schedule changes")]
        indexes = [
            *TrackedRecord.Meta.indexes,
            models.Index(fields=["scheduled_start"], name="change_sched_start_idx"),
        ]
        constraints = [
            *choices_valid("change", status=ChangeStatus, risk=ChangeRisk, type=ChangeType),
            models.CheckConstraint(
                condition=Q(scheduled_end__isnull=True)
                | Q(scheduled_start__isnull=True)
                | Q(scheduled_end__gte=F("scheduled_start")),
                name="change_end_after_start",
            ),
        ]
