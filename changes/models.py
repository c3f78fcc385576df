"""Changes (planned modifications to production, with risk and a schedule)."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from firelater.models import (
    NotBeforeCreated,
    TrackedRecord,
    choices_valid,
    human_number_field,
    optional_link,
)


class ChangeStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    REVIEW = "review", "In review"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    SCHEDULED = "scheduled", "Scheduled"
    IMPLEMENTING = "implementing", "Implementing"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    ROLLED_BACK = "rolled_back", "Rolled back"
    CANCELLED = "cancelled", "Cancelled"
    CLOSED = "closed", "Closed"


class ChangeOutcome(models.TextChoices):
    SUCCESSFUL = "successful", "Successful"
    FAILED = "failed", "Failed"
    ROLLED_BACK = "rolled_back", "Rolled back"


# The statuses that record an outcome (closed keeps the one it had, if any).
ENDED_STATUSES = (ChangeStatus.COMPLETED, ChangeStatus.FAILED, ChangeStatus.ROLLED_BACK)


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

    Outcome = ChangeOutcome

    # Not planned work: never "upcoming", never "scheduled this week".
    INACTIVE_STATUSES = (
        ChangeStatus.REJECTED,
        ChangeStatus.CANCELLED,
        ChangeStatus.CLOSED,
    )

    number = human_number_field("changes_change_number_seq")
    status = models.CharField(
        max_length=20, choices=ChangeStatus.choices, default=ChangeStatus.DRAFT
    )
    risk = models.CharField(max_length=10, choices=ChangeRisk.choices, default=ChangeRisk.LOW)
    type = models.CharField(max_length=10, choices=ChangeType.choices, default=ChangeType.NORMAL)
    application = optional_link("applications.Application", related_name="changes")
    scheduled_start = models.DateTimeField(null=True, blank=True)
    scheduled_end = models.DateTimeField(null=True, blank=True)
    # How it ended, set exactly while it is completed, failed or rolled back (and kept when
    # closed); completed_at is when that outcome was recorded (changes/workflow.py).
    outcome = models.CharField(max_length=20, choices=ChangeOutcome.choices, blank=True, null=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta(TrackedRecord.Meta):
        # Approving, rejecting and scheduling are the change manager's (changes.approval).
        permissions = [("approve_change", "Can approve, reject and schedule changes")]
        indexes = [
            *TrackedRecord.Meta.indexes,
            models.Index(fields=["scheduled_start"], name="change_sched_start_idx"),
            # The list's completedAfter/completedBefore filters and ordering (the
            # dashboard's success rate reads changes_ended_quarterly, migration 0004).
            models.Index(
                fields=["completed_at"],
                include=["outcome"],
                condition=Q(completed_at__isnull=False),
                name="change_completed_idx",
            ),
        ]
        constraints = [
            *choices_valid("change", status=ChangeStatus, risk=ChangeRisk, type=ChangeType),
            models.CheckConstraint(
                condition=Q(outcome__isnull=True) | Q(outcome__in=ChangeOutcome.values),
                name="change_outcome_valid",
            ),
            # An outcome exactly when the change has ended (closed keeps what it had), and
            # one that fits how it ended.
            models.CheckConstraint(
                condition=Q(status=ChangeStatus.COMPLETED, outcome__isnull=False)
                | Q(
                    status=ChangeStatus.FAILED,
                    outcome__in=[ChangeOutcome.FAILED, ChangeOutcome.ROLLED_BACK],
                )
                | Q(status=ChangeStatus.ROLLED_BACK, outcome=ChangeOutcome.ROLLED_BACK)
                | Q(status=ChangeStatus.CLOSED)
                | (~Q(status__in=[*ENDED_STATUSES, ChangeStatus.CLOSED]) & Q(outcome__isnull=True)),
                name="change_outcome_matches_status",
            ),
            models.CheckConstraint(
                condition=Q(outcome__isnull=True, completed_at__isnull=True)
                | Q(outcome__isnull=False, completed_at__isnull=False),
                name="change_completed_at_with_outcome",
            ),
            NotBeforeCreated(field="completed_at", label="change"),
            models.CheckConstraint(
                condition=Q(scheduled_end__isnull=True)
                | Q(scheduled_start__isnull=True)
                | Q(scheduled_end__gte=F("scheduled_start")),
                name="change_end_after_start",
            ),
        ]
