"""Service requests (something a user asks IT for: access, hardware, software)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from firelater.models import NotBeforeCreated, Ticket, choices_valid, human_number_field
from firelater.tracking import BulkWriteQuerySet, TracksLoadedValues


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


class CatalogItem(TracksLoadedValues):
    """Something the service catalog offers (a laptop, VPN access), with the time IT
    promises to fulfil a request for it in."""

    name = models.CharField(max_length=200, unique=True)
    category = models.CharField(max_length=100, help_text="Hardware, Access, Software, ...")
    active = models.BooleanField(default=True, help_text="Offered for new requests.")
    fulfilment_target_hours = models.PositiveIntegerField(
        default=24, help_text="Hours from request to fulfilment that meet the target."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = BulkWriteQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["category"], name="catalog_category_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(fulfilment_target_hours__gte=1, fulfilment_target_hours__lte=8760),
                name="catalog_target_1_hour_to_1_year",
            ),
        ]

    def __str__(self) -> str:
        return self.name


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
    catalog_item = models.ForeignKey(
        CatalogItem,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="requests",
        help_text="What the catalog offers that this request asks for (optional).",
    )

    class Meta(Ticket.Meta):
        indexes = [
            *Ticket.Meta.indexes,
            models.Index(fields=["due_at"], name="request_due_idx"),
            # Requests by catalog item over a recent window: an index-only range scan of
            # the requests that name an item.
            models.Index(
                fields=["created_at"],
                include=["catalog_item", "fulfilled_at"],
                condition=Q(catalog_item__isnull=False),
                name="request_item_created_idx",
            ),
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
