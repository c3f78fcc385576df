"""Issues (incidents and problems reported against applications)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q

from firelater.models import (
    NotBeforeCreated,
    Priority,
    Ticket,
    choices_valid,
    human_number_field,
    optional_link,
)

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


# Statuses of an open issue (also the predicate of the partial index over open issues).
OPEN_ISSUE_STATUSES = (
    IssueStatus.NEW,
    IssueStatus.ASSIGNED,
    IssueStatus.IN_PROGRESS,
    IssueStatus.PENDING,
)


class Issue(Ticket):
    NUMBER_PREFIX = "ISS"

    Status = IssueStatus

    OPEN_STATUSES = OPEN_ISSUE_STATUSES
    DONE_STATUSES = (Status.RESOLVED, Status.CLOSED)
    DONE_FIELD = "resolved_at"

    number = human_number_field("issues_issue_number_seq")
    status = models.CharField(max_length=20, choices=IssueStatus.choices, default=IssueStatus.NEW)
    application = optional_link("applications.Application", related_name="issues")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reported_issues"
    )
    assignee = optional_link(settings.AUTH_USER_MODEL, related_name="assigned_issues")
    resolved_at = models.DateTimeField(null=True, blank=True)
    sla_due_at = models.DateTimeField(null=True, blank=True)

    class Meta(Ticket.Meta):
        indexes = [
            *Ticket.Meta.indexes,
            models.Index(fields=["resolved_at"], name="issue_resolved_idx"),
            models.Index(fields=["sla_due_at"], name="issue_sla_due_idx"),
            # SLA compliance: the unresolved issues whose SLA is still ahead (the only
            # part of it the clock changes; the rest is issues_sla_hourly, migration 0003).
            models.Index(
                fields=["sla_due_at"],
                include=["created_at", "priority"],
                condition=Q(resolved_at__isnull=True),
                name="issue_unresolved_sla_idx",
            ),
            # Open issues by SLA: the next to fall due, and those due within the current
            # quarter hour (the summaries count whole quarter hours).
            models.Index(
                fields=["sla_due_at"],
                condition=models.Q(status__in=OPEN_ISSUE_STATUSES),
                name="issue_open_sla_idx",
            ),
        ]
        constraints = [
            *choices_valid("issue", status=IssueStatus),
            *Ticket.Meta.constraints,
            NotBeforeCreated(field="resolved_at", label="issue"),
            NotBeforeCreated(field="sla_due_at", label="issue"),
        ]

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @staticmethod
    def sla_due(priority: str, start: datetime) -> datetime:
        """When an issue of `priority` opened at `start` breaches its SLA (the default). An
        unknown priority gets medium's, so validation can report the priority itself."""
        return start + SLA_BY_PRIORITY.get(priority, SLA_BY_PRIORITY[Priority.MEDIUM])
