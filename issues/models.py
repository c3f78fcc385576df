"""Issues (incidents and problems reported against applications)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from firelater.models import Priority, TrackedRecord, human_number_field

# How long each priority may stay unresolved before the SLA is breached.
SLA_BY_PRIORITY = {
    Priority.CRITICAL: timedelta(hours=4),
    Priority.HIGH: timedelta(hours=8),
    Priority.MEDIUM: timedelta(hours=24),
    Priority.LOW: timedelta(hours=72),
}


class IssueStatus(models.TextChoices):
    NEW = "new", "New"
    ASSIGNED = "assigned", "Assigned"
    IN_PROGRESS = "in_progress", "In progress"
    PENDING = "pending", "Pending"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


class Issue(TrackedRecord):
    NUMBER_PREFIX = "ISS"

    Status = IssueStatus

    OPEN_STATUSES = (Status.NEW, Status.ASSIGNED, Status.IN_PROGRESS, Status.PENDING)
    DONE_STATUSES = (Status.RESOLVED, Status.CLOSED)
    NOT_BEFORE_CREATED = ("resolved_at", "sla_due_at")

    number = human_number_field("issues_issue_number_seq")
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=IssueStatus.choices, default=IssueStatus.NEW)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.MEDIUM)
    application = models.ForeignKey(
        "applications.Application",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="issues",
    )
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reported_issues"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_issues",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    sla_due_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status"], name="issue_status_idx"),
            models.Index(fields=["priority"], name="issue_priority_idx"),
            models.Index(fields=["created_at"], name="issue_created_idx"),
            models.Index(fields=["resolved_at"], name="issue_resolved_idx"),
            models.Index(fields=["updated_at"], name="issue_updated_idx"),
            models.Index(fields=["sla_due_at"], name="issue_sla_due_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=IssueStatus.values), name="issue_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(priority__in=Priority.values), name="issue_priority_valid"
            ),
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True) | Q(resolved_at__gte=F("created_at")),
                name="issue_resolved_after_created",
            ),
            models.CheckConstraint(
                condition=Q(sla_due_at__isnull=True) | Q(sla_due_at__gte=F("created_at")),
                name="issue_sla_due_after_created",
            ),
        ]

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES
