"""Service requests (something a user asks IT for: access, hardware, software)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from firelater.models import NotBeforeCreated, Ticket, choices_valid, human_number_field


class RequestStatus(models.TextChoices):
    SUBMITTED = "submitted", "Submitted"
    PENDING_APPROVAL = "pending_approval", "Pending approval"
    APPROVED = "approved", "Approved"
    IN_PROGRESS = "in_progress", "In progress"
    FULFILLED = "fulfilled", "Fulfilled"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"


# Statuses of an open request (also the predicate of the partial index over open requests).
OPEN_REQUEST_STATUSES = (
    RequestStatus.SUBMITTED,
    RequestStatus.PENDING_APPROVAL,
    RequestStatus.APPROVED,
    RequestStatus.IN_PROGRESS,
)


class Request(Ticket):
    NUMBER_PREFIX = "REQ"

    Status = RequestStatus

    OPEN_STATUSES = OPEN_REQUEST_STATUSES
    DONE_STATUSES = (RequestStatus.FULFILLED,)
    DONE_FIELD = "fulfilled_at"

    number = human_number_field("requests_app_request_number_seq")
    status = models.CharField(
        max_length=20, choices=RequestStatus.choices, default=RequestStatus.SUBMITTED
    )
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="service_requests"
    )
    due_at = models.DateTimeField(null=True, blank=True)
    fulfilled_at = models.DateTimeField(null=True, blank=True)

    class Meta(Ticket.Meta):
        indexes = [
            *Ticket.Meta.indexes,
            models.Index(fields=["due_at"], name="request_due_idx"),
            # Open requests by due time (as issue_open_sla_idx for issues).
            models.Index(
                fields=["due_at"],
                condition=models.Q(status__in=OPEN_REQUEST_STATUSES),
                name="request_open_due_idx",
            ),
        ]
        constraints = [
            *choices_valid("request", status=RequestStatus),
            *Ticket.Meta.constraints,
            NotBeforeCreated(field="due_at", label="request"),
            NotBeforeCreated(field="fulfilled_at", label="request"),
        ]

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES
